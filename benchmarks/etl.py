"""ETL throughput on one minute of a 12,000-aircraft simulated fleet (the aircraft heard that
minute: 7,306 state vectors), against orjson parsing of the same bytes.

Prints one ``name value`` line per figure. Ratios compare figures measured in this run.
The ETL puts the second core to work (half of the C reader's rows, the Parquet encode), so
``etl_seconds`` is wall time on this machine; ``etl_cpu_seconds`` adds up every thread's
time, which is what a single vCPU (a Lambda under 1,769 MB) would take.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from flightdata.etl import stages
from flightdata.etl.transform import transform
from flightdata.lake import SnapshotContext

FLEET = 12_000
REPEATS = 51
SNAPSHOT_TIME = 1_767_225_600


def snapshot_bytes() -> bytes:
    from opensky_sim import Fleet, TrafficShape

    fleet = Fleet(seed=11, shape=TrafficShape(aircraft=FLEET))
    return orjson.dumps({"time": SNAPSHOT_TIME, "states": fleet.states_at(SNAPSHOT_TIME)})


def run_etl(body: bytes) -> tuple[bytes, bytes]:
    return transform(body, SnapshotContext(datetime.fromtimestamp(SNAPSHOT_TIME, UTC))).parquet()


def median_seconds(*calls: Callable[[], object]) -> list[tuple[float, float]]:
    """Median (wall, CPU) time of each call, measured in turns so that a slow spell of the
    machine weighs on every figure alike."""
    samples: list[list[tuple[float, float]]] = [[] for _ in calls]
    for repeat in range(REPEATS + 1):
        for call, times in zip(calls, samples, strict=True):
            wall, cpu = time.perf_counter(), time.process_time()
            call()
            if repeat:  # the first turn warms up
                times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return [(statistics.median(w for w, _ in times), statistics.median(c for _, c in times)) for times in samples]


def peak_rss_mb(body: bytes) -> float:
    """Peak RSS of a fresh process that imports the ETL and runs it once, as a cold Lambda would."""
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        handle.write(body)
        handle.flush()
        out = subprocess.run(
            [sys.executable, __file__, "--rss", handle.name], check=True, capture_output=True, text=True
        )
    return float(out.stdout.strip())


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--rss":
        run_etl(Path(sys.argv[2]).read_bytes())
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return
    body = snapshot_bytes()
    compact = orjson.dumps(orjson.loads(body))
    records = len(orjson.loads(body)["states"])
    (parse_s, parse_cpu_s), (etl_s, etl_cpu_s) = median_seconds(lambda: orjson.loads(body), lambda: run_etl(body))
    processed, _ = run_etl(body)
    with stages.recording() as spent:
        for _ in range(REPEATS):
            run_etl(body)
    figures = {
        "etl_records": records,
        "etl_records_per_s": round(records / etl_s),
        "parse_seconds": round(parse_s, 5),
        "etl_seconds": round(etl_s, 5),
        "etl_over_parse_ratio": round(etl_s / parse_s, 2),
        "etl_cpu_seconds": round(etl_cpu_s, 5),
        "etl_cpu_over_parse_ratio": round(etl_cpu_s / parse_cpu_s, 2),
        "parquet_over_json_ratio": round(len(processed) / len(compact), 3),
        "etl_peak_rss_mb": round(peak_rss_mb(body), 1),
        # each stage's mean time on whichever thread ran it, over the ETL's parse floor
        **{f"etl_stage_{name}_over_parse_ratio": round(spent[name] / REPEATS / parse_s, 2) for name in stages.STAGES},
    }
    for name, value in figures.items():
        print(f"{name} {value}")


if __name__ == "__main__":
    main()

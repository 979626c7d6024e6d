"""Cold import of each Lambda handler, as a new execution environment pays it, against the
import list the ingestion handler had before the package split (it reached pyarrow and numpy
through flightdata.etl for a key and a dataclass), measured in this run.

Each figure is the median of fresh interpreters, so nothing is imported already. They start
without site processing (``-S``), with include/ and site-packages on the path: as in the Lambda
zip, flightdata is a plain package, not the editable install's import hook.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 9
# What the ingestion handler imported before: itself, plus the ETL modules it took
# raw_object and SnapshotContext from.
BASELINE = ("flightdata.lambdas.ingestion", "flightdata.etl.snapshot", "flightdata.etl.transform")
HANDLERS = {"ingestion": ("flightdata.lambdas.ingestion",), "transform": ("flightdata.lambdas.transform",)}

TIME_IMPORT = """
import importlib, sys, time
preloaded, wanted = sys.argv[1].split(","), sys.argv[2:]
for name in filter(None, preloaded):  # imported before the clock starts
    importlib.import_module(name)
started = time.perf_counter()
for name in wanted:
    importlib.import_module(name)
print(time.perf_counter() - started)
"""
# The Lambda runtime ships boto3, and every list here imports it (about 0.1 s of botocore):
# the figures "beyond boto3" load it before the clock starts, to show the handlers' own part.
PRELOAD_BOTO3 = ("boto3",)


def cold_import_s(modules: tuple[str, ...], preload: tuple[str, ...] = ()) -> float:
    path = os.pathsep.join([str(ROOT / "include"), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    out = subprocess.run(
        [sys.executable, "-S", "-c", TIME_IMPORT, ",".join(preload), *modules],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    return float(out.stdout)


def main() -> None:
    runs: dict[str, list[float]] = {
        name: [] for name in ("baseline", "ingestion", "transform", "baseline_beyond_boto3", "ingestion_beyond_boto3")
    }
    for _ in range(REPEATS):  # interleaved, so a busy moment touches every figure alike
        runs["baseline"].append(cold_import_s(BASELINE))
        for name, modules in HANDLERS.items():
            runs[name].append(cold_import_s(modules))
        runs["baseline_beyond_boto3"].append(cold_import_s(BASELINE, PRELOAD_BOTO3))
        runs["ingestion_beyond_boto3"].append(cold_import_s(HANDLERS["ingestion"], PRELOAD_BOTO3))
    median = {name: statistics.median(values) for name, values in runs.items()}
    print(f"ingestion_cold_import_seconds {median['ingestion']:.3f}")
    print(f"etl_cold_import_seconds {median['transform']:.3f}")  # the transform Lambda
    print(f"ingestion_cold_import_baseline_seconds {median['baseline']:.3f}")
    print(f"ingestion_cold_import_speedup {median['baseline'] / median['ingestion']:.2f}")
    beyond, baseline_beyond = median["ingestion_beyond_boto3"], median["baseline_beyond_boto3"]
    print(f"ingestion_cold_import_beyond_boto3_seconds {beyond:.3f}")
    print(f"ingestion_cold_import_beyond_boto3_baseline_seconds {baseline_beyond:.3f}")
    print(f"ingestion_cold_import_beyond_boto3_speedup {baseline_beyond / beyond:.2f}")


if __name__ == "__main__":
    main()

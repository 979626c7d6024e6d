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
started = time.perf_counter()
for name in sys.argv[1:]:
    importlib.import_module(name)
print(time.perf_counter() - started)
"""


def cold_import_s(modules: tuple[str, ...]) -> float:
    path = os.pathsep.join([str(ROOT / "include"), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    out = subprocess.run(
        [sys.executable, "-S", "-c", TIME_IMPORT, *modules],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    return float(out.stdout)


def main() -> None:
    runs: dict[str, list[float]] = {"baseline": [], **{name: [] for name in HANDLERS}}
    for _ in range(REPEATS):  # interleaved, so a busy moment touches every figure alike
        runs["baseline"].append(cold_import_s(BASELINE))
        for name, modules in HANDLERS.items():
            runs[name].append(cold_import_s(modules))
    median = {name: statistics.median(values) for name, values in runs.items()}
    print(f"ingestion_cold_import_seconds {median['ingestion']:.3f}")
    print(f"etl_cold_import_seconds {median['transform']:.3f}")  # the transform Lambda
    print(f"ingestion_cold_import_baseline_seconds {median['baseline']:.3f}")
    print(f"ingestion_cold_import_speedup {median['baseline'] / median['ingestion']:.2f}")


if __name__ == "__main__":
    main()

"""Cold import of each Lambda handler, as a new execution environment pays it, against what
the ingestion handler paid before the package split, measured in this run.

Lambda unpacks the zip into /var/task: read-only, first on the path, ahead of the runtime's
own boto3 (which comes compiled). So this bench builds the Lambda package for this machine's
platform, the way ``make package`` builds it for arm64, and times fresh interpreters with
that copy first on the path and the venv's site-packages (boto3) after it, without site
processing and with bytecode writes off. Each figure is the median of several interpreters.

The baseline is the ingestion handler's import list before the split (it reached pyarrow and
numpy through flightdata.etl for a key and a dataclass), from the package as it was then:
sources only, so every cold start compiled them. Two changes make the difference, and the
breakdown figures show each: the shorter import list (both lists with bytecode), and the
bytecode the package now carries (the same list with and without it).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from flightdata_cdk import native, package

REPEATS = 9
# What the ingestion handler imported before: itself, plus the ETL modules it took
# raw_object and SnapshotContext from.
BASELINE = ("flightdata.lambdas.ingestion", "flightdata.etl.snapshot", "flightdata.etl.transform")
INGESTION = ("flightdata.lambdas.ingestion",)
TRANSFORM = ("flightdata.lambdas.transformation",)

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


def cold_import_s(site: Path, modules: tuple[str, ...], preload: tuple[str, ...] = ()) -> float:
    paths = sysconfig.get_paths()
    out = subprocess.run(
        [sys.executable, "-S", "-c", TIME_IMPORT, ",".join(preload), *modules],
        check=True,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(site), paths["purelib"], paths["platlib"]]),
            "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only
        },
    )
    return float(out.stdout)


def lambda_copies(workdir: Path) -> tuple[Path, Path]:
    """The Lambda package for this machine, as it was (sources only) and as it is now."""
    sources, compiled = workdir / "sources", workdir / "compiled"
    package.populate(sources, native.host_platform(), bytecode=False)
    shutil.copytree(sources, compiled, copy_function=os.link)  # bytecode goes into new files
    package.compile_bytecode(compiled)
    return sources, compiled


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lambda-imports-") as workdir:
        sources, compiled = lambda_copies(Path(workdir))
        cases = {
            "ingestion": (compiled, INGESTION, ()),
            "baseline": (sources, BASELINE, ()),
            "baseline_with_bytecode": (compiled, BASELINE, ()),
            "transform": (compiled, TRANSFORM, ()),
            "transform_without_bytecode": (sources, TRANSFORM, ()),
            "ingestion_beyond_boto3": (compiled, INGESTION, PRELOAD_BOTO3),
            "baseline_beyond_boto3": (sources, BASELINE, PRELOAD_BOTO3),
        }
        runs: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(REPEATS):  # interleaved, so a busy moment touches every figure alike
            for name, case in cases.items():
                runs[name].append(cold_import_s(*case))
    median = {name: statistics.median(values) for name, values in runs.items()}
    print(f"ingestion_cold_import_seconds {median['ingestion']:.3f}")
    print(f"ingestion_cold_import_baseline_seconds {median['baseline']:.3f}")
    print(f"ingestion_cold_import_speedup {median['baseline'] / median['ingestion']:.2f}")
    # The breakdown: the shorter import list alone, both with bytecode.
    print(f"ingestion_cold_import_baseline_with_bytecode_seconds {median['baseline_with_bytecode']:.3f}")
    print(f"ingestion_import_list_speedup {median['baseline_with_bytecode'] / median['ingestion']:.2f}")
    beyond, baseline_beyond = median["ingestion_beyond_boto3"], median["baseline_beyond_boto3"]
    print(f"ingestion_cold_import_beyond_boto3_seconds {beyond:.3f}")
    print(f"ingestion_cold_import_beyond_boto3_baseline_seconds {baseline_beyond:.3f}")
    print(f"ingestion_cold_import_beyond_boto3_speedup {baseline_beyond / beyond:.2f}")
    print(f"etl_cold_import_seconds {median['transform']:.3f}")  # the transform Lambda
    print(f"etl_cold_import_without_bytecode_seconds {median['transform_without_bytecode']:.3f}")
    print(f"etl_bytecode_speedup {median['transform_without_bytecode'] / median['transform']:.2f}")


if __name__ == "__main__":
    main()

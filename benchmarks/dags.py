"""DAG figures: one opensky_state_vectors minute against the same shape of no-op tasks, and DAG file
parse time against an empty TaskFlow DAG, all measured in this run.
"""

from __future__ import annotations

import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from flightdata_local.demo import demo_minutes
from flightdata_local.services import ROOT, local_services

HERE = Path(__file__).parent
PARSE_REPEATS = 5
TICKS = 3

PARSE_ONE = """
import sys, time, runpy
from airflow.sdk import DAG, task  # the DAG processor has Airflow's own DAG classes loaded
started = time.perf_counter()
runpy.run_path(sys.argv[1])
print(time.perf_counter() - started)
"""


def parse_seconds(path: Path) -> float:
    """Median over fresh processes, after one discarded run that compiles and caches bytecode."""
    samples = []
    for _ in range(PARSE_REPEATS + 1):
        out = subprocess.run([sys.executable, "-c", PARSE_ONE, str(path)], check=True, capture_output=True, text=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples[1:])


def tick_seconds(stack, dag_id: str, minutes: list[datetime]) -> float:
    samples = []
    for when in minutes:
        started = time.perf_counter()
        stack.run_dag(dag_id, when)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# Tables that grow with each run, keyed by dag_id (rendered fields are capped per task by Airflow).
GROWING_TABLES = ("dag_run", "task_instance", "task_instance_history", "xcom", "log", "rendered_task_instance_fields")


def metadata_rows(database: Path, dag_id: str) -> int:
    """Rows the runs of ``dag_id`` left in Airflow's metadata database (SQLite here)."""
    with sqlite3.connect(database) as connection:
        return sum(
            connection.execute(f"SELECT count(*) FROM {table} WHERE dag_id = ?", (dag_id,)).fetchone()[0]
            for table in GROWING_TABLES
        )


def main() -> None:
    empty = parse_seconds(HERE / "empty_dag.py")
    figures: dict[str, float] = {"dag_parse_empty_seconds": round(empty, 4)}
    for dag_file in sorted((ROOT / "dags").glob("*.py")):
        figures[f"dag_parse_ratio[{dag_file.stem}]"] = round(parse_seconds(dag_file) / empty, 2)
    with (
        tempfile.TemporaryDirectory(prefix="flightdata-bench-") as root,
        local_services(Path(root), extra_dags=(HERE / "noop_state_vectors.py",)) as stack,
    ):
        minutes = demo_minutes(datetime.now(UTC), TICKS + 1)
        stack.run_dag("opensky_state_vectors", minutes[0])  # warm-up: first imports, first Lambda start
        tick = tick_seconds(stack, "opensky_state_vectors", minutes[1:])
        rows_per_run = metadata_rows(stack.root / "airflow" / "airflow.db", "opensky_state_vectors") / len(minutes)
        noop = tick_seconds(stack, "noop_state_vectors", minutes[1:])
    figures["tick_seconds"] = round(tick, 2)
    figures["tick_noop_seconds"] = round(noop, 2)
    figures["tick_overhead_ratio"] = round(tick / noop, 2)
    figures["airflow_db_rows_per_minutely_run"] = round(rows_per_run, 1)
    figures["airflow_db_rows_per_simulated_day"] = round(rows_per_run * 1440)
    for name, value in figures.items():
        print(f"{name} {value}")


if __name__ == "__main__":
    main()

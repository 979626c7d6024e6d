"""The local endpoint over simulated hours of the pipeline: how its state directory and its
memory grow, against the lake's own growth in the same run.

After one warm-up hour, each simulated minute invokes the ingestion and ETL functions on the endpoint and registers
the hour's partitions, as opensky_state_vectors does; each simulated hour is compacted by
opensky_compaction (``airflow dags test``). ``ENDPOINT_BENCH_HOURS`` (default 2) sets the span.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from flightdata import lake, resources
from flightdata.orchestration import lambda_calls, minutely, partitions
from flightdata_local.services import local_services

HOURS = int(os.environ.get("ENDPOINT_BENCH_HOURS", "2"))
MB = 1024 * 1024


def directory_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def lake_bytes(stack) -> int:
    s3 = stack.client("s3")
    total = 0
    for bucket in (stack.names.lake_bucket, stack.names.athena_results_bucket):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            total += sum(o["Size"] for o in page.get("Contents", []))
    return total


def prefix_parquet(stack, prefix: str) -> tuple[int, int]:
    """(bytes, rows) of the Parquet objects under ``prefix``; rows from each file's footer."""
    s3 = stack.client("s3")
    size = rows = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.names.lake_bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=stack.names.lake_bucket, Key=item["Key"])["Body"].read()
            size += item["Size"]
            rows += pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
    return size, rows


def compaction_sizes(stack, hours: list[datetime]) -> dict[str, float]:
    """What compaction makes of an hour against the minute files it reads (lower is better), and
    both per state vector: the ratio alone would also fall if the minute files grew."""
    curated = [prefix_parquet(stack, f"{resources.CURATED}/{lake.partition_path(h)}/") for h in hours]
    minutes = [prefix_parquet(stack, lake.hour_prefix(resources.PROCESSED, h)) for h in hours]
    curated_bytes, curated_rows = map(sum, zip(*curated, strict=True))
    minute_bytes, minute_rows = map(sum, zip(*minutes, strict=True))
    return {
        "curated_over_minute_files_ratio": round(curated_bytes / minute_bytes, 3),
        "minute_file_bytes_per_state_vector": round(minute_bytes / minute_rows, 1),
        "curated_bytes_per_state_vector": round(curated_bytes / curated_rows, 1),
    }


def anonymous_rss(process: psutil.Process) -> int:
    """Resident memory minus resident file-backed and shared pages (Linux's RssAnon)."""
    info = process.memory_info()
    return info.rss - getattr(info, "shared", 0)


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of the endpoint and every process it started (query workers, their
    fork server, Lambda runners): what the laptop pays, not only the endpoint's own share."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue  # a query's process that just ended
    return total


def run_minute(stack, when: datetime) -> None:
    lam = stack.client("lambda")
    (event,) = lambda_calls.ingestion_payloads(when, minutely.DEFAULT_REGIONS, minutely.DEFAULT_CREDIT_RESERVE)
    landed = lam.invoke(FunctionName=stack.names.ingestion_function, Payload=event)
    assert "FunctionError" not in landed, landed["Payload"].read()
    etl = lam.invoke(
        FunctionName=stack.names.transform_function,
        Payload=lambda_calls.transform_payload(landed["Payload"].read().decode()),
    )
    assert "FunctionError" not in etl, etl["Payload"].read()
    partitions.register_partitions(stack.client("glue"), stack.names, when)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="flightdata-endpoint-bench-") as tmp, local_services(Path(tmp)) as stack:
        endpoint = psutil.Process(stack.processes[1].pid)
        state_dir = Path(tmp) / "aws-state"
        first_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS + 2)

        def simulate(hour: datetime) -> None:
            for m in range(60):
                run_minute(stack, hour + timedelta(minutes=m))
            stack.run_dag("opensky_compaction", conf={"hour": f"{hour:%Y-%m-%dT%H}", "wait_for_minutely": False})

        # One hour first, not counted: imports, DuckDB, the query cache's working set.
        simulate(first_hour)
        state_start, lake_start, rss_start = directory_bytes(state_dir), lake_bytes(stack), endpoint.memory_info().rss
        anon_start = anonymous_rss(endpoint)
        tree_start = tree_rss(endpoint)
        started = time.perf_counter()
        by_hour = []
        for h in range(1, HOURS + 1):
            simulate(first_hour + timedelta(hours=h))
            by_hour.append(round(endpoint.memory_info().rss / MB, 1))
        # Growth that levels off is a working set filling; growth that keeps its pace is a leak.
        series = [round(rss_start / MB, 1), *by_hour]
        print("endpoint_rss_mb_by_hour", json.dumps(series))
        late = series[len(series) // 2 :]
        late_slope = statistics.linear_regression(range(len(late)), late).slope if len(late) >= 3 else None
        trend = None if late_slope is None else round(late_slope, 2)
        state_mb = (directory_bytes(state_dir) - state_start) / MB / HOURS
        parts = {p.name: round(directory_bytes(p) / MB, 1) for p in sorted(state_dir.iterdir()) if p.is_dir()}
        print("endpoint_state_mb_by_part", json.dumps(parts))
        lake_mb = (lake_bytes(stack) - lake_start) / MB / HOURS
        rss_mb = (endpoint.memory_info().rss - rss_start) / MB / HOURS
        anon_mb = (anonymous_rss(endpoint) - anon_start) / MB / HOURS
        tree_mb = (tree_rss(endpoint) - tree_start) / MB / HOURS
        counted = [first_hour + timedelta(hours=h) for h in range(1, HOURS + 1)]
        figures = {
            "endpoint_simulated_hours": HOURS,
            **compaction_sizes(stack, counted),
            "endpoint_bench_wall_seconds": round(time.perf_counter() - started, 1),
            "lake_mb_per_simulated_hour": round(lake_mb, 2),
            "endpoint_state_mb_per_simulated_hour": round(state_mb, 2),
            "endpoint_state_over_lake_ratio": round(state_mb / lake_mb, 3) if lake_mb else None,
            "endpoint_rss_mb_start": round(rss_start / MB, 1),
            "endpoint_rss_growth_mb_per_simulated_hour": round(rss_mb, 2),
            # Resident memory that is not file pages (which the kernel can drop): the heap.
            "endpoint_anon_rss_growth_mb_per_simulated_hour": round(anon_mb, 2),
            # With the processes it started: Athena queries run in processes of their own.
            "endpoint_tree_rss_mb_start": round(tree_start / MB, 1),
            "endpoint_tree_rss_growth_mb_per_simulated_hour": round(tree_mb, 2),
            # The least-squares trend of the hourly figures over the run's second half (from 6 hours).
            "endpoint_rss_trend_mb_per_simulated_hour_second_half": trend,
        }
        for name, value in figures.items():
            print(f"{name} {value}")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()

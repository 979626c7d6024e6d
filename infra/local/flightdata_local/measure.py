"""What one run of the pipeline used, measured on the local stack: the workload that
``flightdata cost`` prices.

``make demo`` writes it to ``<demo dir>/workload.json`` after its run: the Lambda durations
(from each invocation's ``REPORT`` line in the endpoint's log), the bytes and objects each
snapshot, each compacted hour and each daily report leave under each lake prefix, the bytes
Athena scanned per query, the Airflow task log per minutely run, and the custom metrics.
Everything is per unit of work, so the estimate scales it to a month: per snapshot, per
compacted snapshot, per report; Athena's bytes per query are for ``athena.snapshots``
snapshots of data, and grow with the snapshots an hour or a day holds.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from flightdata import resources
from flightdata_local.services import LocalServices

# The prefixes each snapshot writes, compaction writes (in proportion to the snapshots of the
# hour), and each daily report writes.
PER_SNAPSHOT = (resources.RAW, resources.PROCESSED, resources.QUARANTINE, resources.COMMITS)
PER_HOUR = (resources.CURATED,)
PER_DAY = (resources.REPORTS,)
_REPORT = re.compile(r"lambda (?P<name>\S+) REPORT RequestId: \S+\t(?P<fields>.*)$")


@dataclass
class Phase:
    """A stretch of the run: Athena queries and results are sorted into phases by time."""

    name: str
    started: datetime
    ended: datetime | None = None

    def holds(self, when: datetime) -> bool:
        return self.started <= when and (self.ended is None or when <= self.ended)


def lambda_reports(endpoint_log: Path) -> dict[str, list[dict[str, float]]]:
    """Each function's ``REPORT`` fields (milliseconds, megabytes) from the endpoint's log."""
    reports: dict[str, list[dict[str, float]]] = defaultdict(list)
    for line in endpoint_log.read_text(errors="replace").splitlines():
        match = _REPORT.search(line)
        if match:
            fields = dict(part.split(": ", 1) for part in match["fields"].split("\t"))
            reports[match["name"]].append({key: float(value.split()[0]) for key, value in fields.items()})
    return dict(reports)


def _lambda_section(stack: LocalServices) -> dict[str, Any]:
    reports = lambda_reports(stack.root / "logs" / "local-aws.log")
    section = {}
    for spec in resources.FUNCTIONS:
        runs = reports.get(getattr(stack.names, spec.name_attr), [])
        if not runs:
            raise ValueError(f"no REPORT line for {spec.name_attr} in the endpoint's log")
        section[spec.name_attr] = {
            "invocations": len(runs),
            "mean_duration_ms": round(fmean(r["Duration"] for r in runs), 2),
            "mean_init_ms": round(fmean(r.get("Init Duration", 0.0) for r in runs), 2),
            "max_memory_used_mb": max(r["Max Memory Used"] for r in runs),
            "mean_log_bytes": round(fmean(r["Log Size"] for r in runs)),
        }
    return section


def _objects(s3: Any, bucket: str, prefix: str = "") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.extend(page.get("Contents", []))
    return found


def _per(s3: Any, bucket: str, prefixes: tuple[str, ...], units: int) -> dict[str, dict[str, float]]:
    section = {}
    for prefix in prefixes:
        found = _objects(s3, bucket, f"{prefix}/")
        section[prefix] = {
            "objects": round(len(found) / units, 3),
            "bytes": round(sum(o["Size"] for o in found) / units),
        }
    return section


def _athena_section(stack: LocalServices, phases: list[Phase]) -> dict[str, Any]:
    athena, s3 = stack.client("athena"), stack.client("s3")
    ids: list[str] = []
    for page in athena.get_paginator("list_query_executions").paginate(WorkGroup=stack.names.workgroup):
        ids.extend(page["QueryExecutionIds"])
    scanned: dict[str, list[int]] = {phase.name: [] for phase in phases}
    phase_of_query: dict[str, str] = {}
    for start in range(0, len(ids), 50):
        batch = athena.batch_get_query_execution(QueryExecutionIds=ids[start : start + 50])
        for execution in batch["QueryExecutions"]:
            submitted = execution["Status"]["SubmissionDateTime"].astimezone(UTC)
            phase = next((p for p in phases if p.holds(submitted)), None)
            if phase is not None and execution["Status"]["State"] == "SUCCEEDED":
                scanned[phase.name].append(execution["Statistics"].get("DataScannedInBytes", 0))
                phase_of_query[execution["QueryExecutionId"]] = phase.name
    result_bytes: dict[str, int] = defaultdict(int)
    for obj in _objects(s3, stack.names.athena_results_bucket):
        query_id = obj["Key"].rsplit("/", 1)[-1].split(".", 1)[0]
        if query_id in phase_of_query:
            result_bytes[phase_of_query[query_id]] += obj["Size"]
    return {
        "bytes_scanned_per_query": scanned,
        "result_bytes": {phase.name: result_bytes.get(phase.name, 0) for phase in phases},
    }


def _task_log_bytes(stack: LocalServices, dag_id: str) -> int:
    """Mean bytes of the task logs of a run of ``dag_id``, as Airflow wrote them (MWAA sends
    the same lines to CloudWatch Logs)."""
    logs = Path(stack.env["AIRFLOW_HOME"]) / "logs" / f"dag_id={dag_id}"
    runs = [run for run in logs.glob("run_id=*") if run.is_dir()]
    total = sum(path.stat().st_size for run in runs for path in run.rglob("*.log"))
    return round(total / len(runs)) if runs else 0


def workload(stack: LocalServices, snapshots: int, phases: list[Phase], measured: dict[str, Any]) -> dict[str, Any]:
    """The measured workload of a run that fetched ``snapshots`` snapshots, compacted one hour
    and reported one day; ``phases`` name those stretches ``minutely``, ``compaction`` and
    ``report``."""
    s3, bucket = stack.client("s3"), stack.names.lake_bucket
    metrics = stack.client("cloudwatch").get_paginator("list_metrics")
    custom = sum(len(page["Metrics"]) for page in metrics.paginate(Namespace=stack.names.metrics_namespace))
    return {
        "measured": {"on": datetime.now(UTC).date().isoformat(), "snapshots": snapshots, **measured},
        "lambda": _lambda_section(stack),
        "s3_per_snapshot": _per(s3, bucket, PER_SNAPSHOT, snapshots),
        "s3_per_compacted_snapshot": _per(s3, bucket, PER_HOUR, snapshots),
        "s3_per_day": _per(s3, bucket, PER_DAY, 1),
        "athena": {"snapshots": snapshots, **_athena_section(stack, phases)},
        "airflow_task_log_bytes_per_minutely_run": _task_log_bytes(stack, "opensky_state_vectors"),
        "custom_metrics": custom,
    }


def write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n")

"""Extra links: from a task in the Airflow UI to what it wrote or ran.

Airflow computes a task's links when the task finishes, in the worker, and keeps them with
the task instance. Each link here reads what the task returned (the ingestion or transform
function's answer, the Athena query id) or what its run planned (the report's day), so it
points at something that exists, and at nothing (no button) when the task wrote nothing.

On AWS a link opens the AWS console in the region of the ``aws_default`` connection. On
the local stack (the connection names an ``endpoint_url``) it opens the flightdata plugin's
pages in the Airflow UI itself (``/flightdata/...``), which read the same objects through
the same connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.sdk import BaseOperatorLink

from flightdata.orchestration.aws import AWS_CONN_ID, names

PLUGIN_PREFIX = "/flightdata"  # where the plugin's FastAPI app is mounted


@dataclass(frozen=True)
class Target:
    """Where links lead: the AWS console of ``region``, or the local stack's plugin pages."""

    region: str
    local: bool

    @classmethod
    def of_connection(cls, conn_id: str = AWS_CONN_ID) -> Target:
        hook = AwsBaseHook(aws_conn_id=conn_id)  # reads the connection; makes no AWS call
        config = hook.conn_config
        return cls(region=hook.region_name or "us-east-1", local=bool(config.endpoint_url))

    @property
    def console(self) -> str:
        return f"https://{self.region}.console.aws.amazon.com"

    def lake_object(self, key: str) -> str:
        if self.local:
            return f"{PLUGIN_PREFIX}/lake?{urlencode({'key': key})}"
        query = urlencode({"region": self.region, "bucketType": "general", "prefix": key})
        return f"{self.console}/s3/object/{names().lake_bucket}?{query}"

    def lake_objects(self, keys: list[str]) -> str:
        """Several objects one task wrote: the plugin lists them all; the console opens the first."""
        if self.local:
            return f"{PLUGIN_PREFIX}/lake?{urlencode([('key', key) for key in keys])}"
        return self.lake_object(keys[0])

    def query(self, query_id: str) -> str:
        if self.local:
            return f"{PLUGIN_PREFIX}/query/{quote(query_id)}"
        return f"{self.console}/athena/home?region={self.region}#/query-editor/history/{quote(query_id)}"

    def report(self, day: str, key: str) -> str:
        return f"{PLUGIN_PREFIX}/report/{day}" if self.local else self.lake_object(key)

    def dashboard(self) -> str:
        if self.local:  # the overview page stands in for the CloudWatch dashboard
            return f"{PLUGIN_PREFIX}/"
        return f"{self.console}/cloudwatch/home?region={self.region}#dashboards/dashboard/{quote(names().dashboard)}"


def _returned(ti: Any, task_id: str | None = None) -> Any:
    """What the task (or another task of the run) returned; None when it returned nothing."""
    map_index = ti.map_index if task_id is None else -1
    return ti.xcom_pull(task_ids=task_id or ti.task_id, map_indexes=map_index)


class _Link(BaseOperatorLink):
    """A link whose URL comes from :meth:`url`; any missing piece means no link."""

    name = ""

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        try:
            return self.url(Target.of_connection(), ti_key) or ""
        except (KeyError, TypeError, AttributeError, IndexError):
            return ""

    def url(self, target: Target, ti: Any) -> str | None:
        raise NotImplementedError


class RawSnapshotLink(_Link):
    """ingest: the raw /states/all response it landed."""

    name = "Raw snapshot"

    def url(self, target: Target, ti: Any) -> str | None:
        landed = _returned(ti)
        return target.lake_object(landed["raw_key"]) if landed and landed.get("raw_key") else None


class WrittenObjectsLink(_Link):
    """transform: the processed, quarantine and commit objects of the snapshot."""

    name = "Objects written"

    def url(self, target: Target, ti: Any) -> str | None:
        report = _returned(ti)
        keys = report.get("keys") if report else None
        if not keys:
            return None
        ordered = [keys[kind] for kind in ("processed", "quarantine", "commit") if keys.get(kind)]
        ordered += [key for kind, key in sorted(keys.items()) if key not in ordered]
        return target.lake_objects(ordered)


class AthenaQueryLink(_Link):
    """An Athena task: its query, its state and its results."""

    name = "Athena query"

    def url(self, target: Target, ti: Any) -> str | None:
        query_id = _returned(ti)
        return target.query(query_id) if isinstance(query_id, str) and query_id else None


class ReportLink(_Link):
    """publish_report: the day's HTML report (published even when the day is empty)."""

    name = "Report"

    def url(self, target: Target, ti: Any) -> str | None:
        plan = _returned(ti, "plan")
        return target.report(plan["day"], f"{plan['prefix']}report.html") if plan else None


class DashboardLink(_Link):
    """publish_quality_metrics: where the metrics are charted."""

    name = "Quality dashboard"

    def url(self, target: Target, ti: Any) -> str | None:
        return target.dashboard()


LINKS: tuple[type[_Link], ...] = (RawSnapshotLink, WrittenObjectsLink, AthenaQueryLink, ReportLink, DashboardLink)


def attach(task: Any, *links: BaseOperatorLink) -> Any:
    """Give a TaskFlow task (its ``XComArg``) extra links; returns it, for chaining."""
    operator = task.operator
    operator.operator_extra_links = (*operator.operator_extra_links, *links)
    return task

"""Extra links: from a task in the Airflow UI to what it wrote or ran.

Airflow computes a task's links when the task finishes, in the worker, and keeps them with
the task instance. Each link here reads what the task returned (the ingestion or transform
function's answer, the Athena query id) or what its run planned (the report's day), so it
points at something that exists, and at nothing (no button) when the task wrote nothing.
Not the provider's way of storing link parameters as the task runs and reading them back
by key: what a link needs is the task's return value, which is stored anyway, and a second
copy of it could disagree with the first.

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
class AwsConsole:
    """Links on AWS: the AWS console of ``region``, the one the ``aws_default`` connection names."""

    region: str
    serves_lake_views = False  # the plugin's lake and query views have nothing to show here

    @property
    def console(self) -> str:
        return f"https://{self.region}.console.aws.amazon.com"

    def lake_object(self, key: str) -> str:
        query = urlencode({"region": self.region, "bucketType": "general", "prefix": key})
        return f"{self.console}/s3/object/{names().lake_bucket}?{query}"

    def lake_objects(self, keys: list[str]) -> str:
        """The console shows one object at a time: the first (the processed file)."""
        return self.lake_object(keys[0])

    def query(self, query_id: str) -> str:
        return f"{self.console}/athena/home?region={self.region}#/query-editor/history/{quote(query_id)}"

    def report(self, day: str, key: str) -> str:
        return self.lake_object(key)

    def dashboard(self) -> str:
        return f"{self.console}/cloudwatch/home?region={self.region}#dashboards/dashboard/{quote(names().dashboard)}"


@dataclass(frozen=True)
class PluginPages:
    """Links on the local stack: the flightdata plugin's pages in the Airflow UI itself, which
    read the same objects through the same connection."""

    serves_lake_views = True

    def lake_object(self, key: str) -> str:
        return self.lake_objects([key])

    def lake_objects(self, keys: list[str]) -> str:
        return f"{PLUGIN_PREFIX}/lake?{urlencode([('key', key) for key in keys])}"

    def query(self, query_id: str) -> str:
        return f"{PLUGIN_PREFIX}/query/{quote(query_id)}"

    def report(self, day: str, key: str) -> str:
        return f"{PLUGIN_PREFIX}/report/{day}"

    def dashboard(self) -> str:
        return f"{PLUGIN_PREFIX}/"  # the overview page stands in for the CloudWatch dashboard


Destinations = AwsConsole | PluginPages


def destinations(conn_id: str = AWS_CONN_ID) -> Destinations:
    """Where links lead, chosen once from the connection: the local stack's connection names
    an ``endpoint_url``, AWS's does not. Reads the connection; makes no AWS call."""
    hook = AwsBaseHook(aws_conn_id=conn_id)
    if hook.conn_config.endpoint_url:
        return PluginPages()
    return AwsConsole(region=hook.region_name or "us-east-1")


def _returned(ti: Any, task_id: str | None = None) -> Any:
    """What the task (or another task of the run) returned; None when it returned nothing."""
    map_index = ti.map_index if task_id is None else -1
    return ti.xcom_pull(task_ids=task_id or ti.task_id, map_indexes=map_index)


class _Link(BaseOperatorLink):
    """A link whose URL comes from :meth:`url`; any missing piece means no link."""

    name = ""

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        try:
            return self.url(destinations(), ti_key) or ""
        except (KeyError, TypeError, AttributeError, IndexError):
            return ""

    def url(self, target: Destinations, ti: Any) -> str | None:
        raise NotImplementedError


class RawSnapshotLink(_Link):
    """ingest: the raw /states/all response it landed."""

    name = "Raw snapshot"

    def url(self, target: Destinations, ti: Any) -> str | None:
        landed = _returned(ti)
        return target.lake_object(landed["raw_key"]) if landed and landed.get("raw_key") else None


class WrittenObjectsLink(_Link):
    """transform: the processed, quarantine and commit objects of the snapshot."""

    name = "Objects written"

    def url(self, target: Destinations, ti: Any) -> str | None:
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

    def url(self, target: Destinations, ti: Any) -> str | None:
        query_id = _returned(ti)
        return target.query(query_id) if isinstance(query_id, str) and query_id else None


class ReportLink(_Link):
    """publish_report: the day's HTML report (published even when the day is empty)."""

    name = "Report"

    def url(self, target: Destinations, ti: Any) -> str | None:
        plan = _returned(ti, "plan")
        return target.report(plan["day"], f"{plan['prefix']}report.html") if plan else None


class DashboardLink(_Link):
    """publish_quality_metrics: where the metrics are charted."""

    name = "Quality dashboard"

    def url(self, target: Destinations, ti: Any) -> str | None:
        return target.dashboard()


LINKS: tuple[type[_Link], ...] = (RawSnapshotLink, WrittenObjectsLink, AthenaQueryLink, ReportLink, DashboardLink)


def attach(task: Any, *links: BaseOperatorLink) -> Any:
    """Give a TaskFlow task (its ``XComArg``) extra links; returns it, for chaining."""
    operator = task.operator
    operator.operator_extra_links = (*operator.operator_extra_links, *links)
    return task

"""The Athena API: query executions kept under ``state_dir/athena`` (they survive a restart),
each run in a process of its own (``worker``), in the region it was started in."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from localaws.athena import results, worker
from localaws.athena.engine import sweep_cache
from localaws.athena.failures import AthenaApiError

log = logging.getLogger(__name__)

MAX_RESULTS_PER_PAGE = 1000


class AthenaExecutor:
    """Query executions, kept under ``state_dir/athena`` so they survive a restart."""

    def __init__(
        self, state_dir: Path, client: Callable[[str, str], Any], endpoint: Callable[[], worker.Endpoint]
    ) -> None:
        self.dir = state_dir / "athena"
        self.cache = state_dir / "athena-cache"
        self.results = self.dir / "results"
        (self.dir / "executions").mkdir(parents=True, exist_ok=True)
        self.results.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        self._clients = client
        self._endpoint = endpoint  # where query processes send their AWS calls (known once bound)
        # The region the current request or query acts in: a query reads Glue and S3 of the
        # region its StartQueryExecution was signed for, as on AWS.
        self._scope = threading.local()
        self._lock = threading.Lock()
        # Queries in flight: their process, so they can be stopped.
        self._running: dict[str, Any] = {}
        self._fail_orphans()

    def _fail_orphans(self) -> None:
        """Queries a killed endpoint left queued or running have no process any more: they
        end FAILED, so whoever waits on them (Airflow's triggerer) sees a final state."""
        for path in (self.dir / "executions").glob("*.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if record.get("Status", {}).get("State") in ("QUEUED", "RUNNING"):
                reason = "GENERIC_INTERNAL_ERROR: the local endpoint stopped while the query ran"
                self._finish(record, "FAILED", reason)

    def handle(self, operation: str, request: dict[str, Any], region: str) -> dict[str, Any]:
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise AthenaApiError("InvalidRequestException", f"{operation} is not supported by the local endpoint")
        self._scope.region = region
        return _public(handler(request))

    def client(self, service: str) -> Any:
        return self._clients(service, self._scope.region)

    def handles(self, operation: str) -> bool:
        return hasattr(self, f"_op_{operation}")

    # --- operations ----------------------------------------------------------------------
    def _op_StartQueryExecution(self, request: dict[str, Any]) -> dict[str, Any]:
        query = request.get("QueryString") or ""
        if not query.strip():
            raise AthenaApiError("InvalidRequestException", "QueryString must not be empty")
        workgroup = request.get("WorkGroup") or "primary"
        group = self._workgroup(workgroup)
        output = (request.get("ResultConfiguration") or {}).get("OutputLocation") or (
            (group.get("Configuration") or {}).get("ResultConfiguration", {}).get("OutputLocation")
        )
        if not output:
            raise AthenaApiError(
                "InvalidRequestException",
                "No output location provided. An output location is required either through the Workgroup "
                "result configuration setting or as an API input.",
            )
        query_id = str(uuid.uuid4())
        context = request.get("QueryExecutionContext") or {}
        record = {
            "QueryExecutionId": query_id,
            "Query": query,
            "StatementType": "DML",
            "ResultConfiguration": {"OutputLocation": f"{output.rstrip('/')}/{query_id}.csv"},
            "QueryExecutionContext": {"Database": context.get("Database", "default"), "Catalog": "AwsDataCatalog"},
            "Status": {"State": "QUEUED", "SubmissionDateTime": time.time()},
            "Statistics": {"EngineExecutionTimeInMillis": 0, "DataScannedInBytes": 0, "TotalExecutionTimeInMillis": 0},
            "WorkGroup": workgroup,
            "EngineVersion": {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
            "_Region": self._scope.region,
        }
        self._save(record)
        threading.Thread(target=self._run, args=(query_id,), name=f"athena-{query_id[:8]}", daemon=True).start()
        return {"QueryExecutionId": query_id}

    def _op_GetQueryExecution(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"QueryExecution": self._load(request.get("QueryExecutionId", ""))}

    def _op_BatchGetQueryExecution(self, request: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        for query_id in request.get("QueryExecutionIds", []):
            try:
                found.append(self._load(query_id))
            except AthenaApiError as exc:
                missing.append({"QueryExecutionId": query_id, "ErrorMessage": str(exc)})
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def _op_ListQueryExecutions(self, request: dict[str, Any]) -> dict[str, Any]:
        workgroup = request.get("WorkGroup") or "primary"
        self._workgroup(workgroup)
        records = [json.loads(p.read_text()) for p in (self.dir / "executions").glob("*.json")]
        records = [r for r in records if r.get("WorkGroup") == workgroup and r.get("_Region") == self._scope.region]
        ids = [r["QueryExecutionId"] for r in sorted(records, key=lambda r: -r["Status"]["SubmissionDateTime"])]
        return _page(ids, request, "QueryExecutionIds", limit=50)

    def _op_StopQueryExecution(self, request: dict[str, Any]) -> dict[str, Any]:
        query_id = request.get("QueryExecutionId", "")
        record = self._load(query_id)
        if record["Status"]["State"] in ("QUEUED", "RUNNING"):
            self._finish(record, "CANCELLED", "Query was cancelled by the user")
            threading.Thread(target=self._interrupt, args=(query_id,), daemon=True).start()
        return {}

    def _op_GetQueryResults(self, request: dict[str, Any]) -> dict[str, Any]:
        query_id = request.get("QueryExecutionId", "")
        record = self._load(query_id)
        state = record["Status"]["State"]
        if state != "SUCCEEDED":
            raise AthenaApiError("InvalidRequestException", f"Query has not yet finished. Current state: {state}")
        result = results.read(self.results, query_id)
        rows = result["rows"]
        if result["columns"] and record["StatementType"] == "DML":
            rows = [[c["Name"] for c in result["columns"]], *rows]
        page = _page(rows, request, "Rows", limit=MAX_RESULTS_PER_PAGE)
        page["ResultSet"] = {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page.pop("Rows")],
            "ResultSetMetadata": {"ColumnInfo": result["columns"]},
        }
        page["UpdateCount"] = result.get("update_count", 0)
        return page

    def _workgroup(self, name: str) -> dict[str, Any]:
        """The work group of this name in the request's region, or Athena's refusal."""
        try:
            group = self.client("athena").get_work_group(WorkGroup=name).get("WorkGroup")
        except ClientError:
            group = None
        if not group:
            raise AthenaApiError("InvalidRequestException", f"WorkGroup {name} is not found.")
        return group

    # --- stopping ------------------------------------------------------------------------
    def _interrupt(self, query_id: str, timeout_s: float = 30.0) -> None:
        """End the query's process: DuckDB stops where it is, and nothing of it stays."""
        with self._lock:
            process = self._running.get(query_id)
        if process is None:
            return
        process.terminate()
        process.join(timeout_s)
        if process.is_alive():
            process.kill()
            process.join(timeout_s)

    def close(self) -> None:
        """Stop every query still running (call before the process exits)."""
        with self._lock:
            running = list(self._running)
        for query_id in running:
            self._interrupt(query_id, timeout_s=10)

    # --- records -------------------------------------------------------------------------
    def _path(self, query_id: str) -> Path:
        return self.dir / "executions" / f"{query_id}.json"

    def _load(self, query_id: str) -> dict[str, Any]:
        try:
            uuid.UUID(query_id)
            return json.loads(self._path(query_id).read_text())
        except (ValueError, FileNotFoundError):
            raise AthenaApiError("InvalidRequestException", f"QueryExecution {query_id} was not found") from None

    def _save(self, record: dict[str, Any]) -> None:
        """Whole or not at all: each writer its own temporary file, then one rename. (A shared
        one let two writers, a query's thread and a restarted endpoint failing it as orphaned,
        tear the record, which then read as a query that was never there.)"""
        path = self._path(record["QueryExecutionId"])
        tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)

    def _finish(self, record: dict[str, Any], state: str, reason: str | None = None) -> None:
        with self._lock:
            current = self._load(record["QueryExecutionId"])
            if current["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return
            record["Status"]["State"] = state
            record["Status"]["CompletionDateTime"] = time.time()
            if reason:
                record["Status"]["StateChangeReason"] = reason
            self._save(record)

    # --- execution -----------------------------------------------------------------------
    def _run(self, query_id: str) -> None:
        record = self._load(query_id)
        record["Status"]["State"] = "RUNNING"
        self._save(record)
        started = time.perf_counter()
        with self._lock:
            if self._load(query_id)["Status"]["State"] != "RUNNING":  # stopped before it started
                return
            process, receiver = worker.start(record, self.cache, self.results, self._endpoint())
            self._running[query_id] = process
        try:
            outcome = receiver.recv()
        except EOFError:  # the process ended without an answer: stopped, or it died
            outcome = None
        finally:
            receiver.close()
            process.join()
            with self._lock:
                self._running.pop(query_id, None)
                if not self._running:  # no query can start (and read the cache) meanwhile
                    sweep_cache(self.cache)
        if outcome is None:
            elapsed_ms = int((time.perf_counter() - started) * 1000)
            reason = f"GENERIC_INTERNAL_ERROR: the query's process ended with code {process.exitcode}"
            outcome = worker.QueryOutcome("FAILED", reason, record["StatementType"], 0, elapsed_ms)
        record["StatementType"] = outcome.statement_type
        record["Statistics"].update(
            EngineExecutionTimeInMillis=outcome.elapsed_ms,
            TotalExecutionTimeInMillis=outcome.elapsed_ms,
            DataScannedInBytes=outcome.scanned_bytes,
        )
        self._finish(record, outcome.state, outcome.reason)


def _page(items: list[Any], request: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
    size = min(int(request.get("MaxResults") or limit), limit)
    start = int(request.get("NextToken") or 0)
    page: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return page


def _public(document: Any) -> Any:
    """An API answer without the executor's own bookkeeping (keys starting with '_')."""
    if isinstance(document, dict):
        return {k: _public(v) for k, v in document.items() if not k.startswith("_")}
    if isinstance(document, list):
        return [_public(v) for v in document]
    return document

"""The Athena API: query executions kept under ``state_dir/athena`` (they survive a restart),
each run on its own thread and DuckDB connection, in the region it was started in."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from botocore.exceptions import ClientError
from sqlglot import exp

from localaws.athena import results
from localaws.athena.ddl import CatalogWriter
from localaws.athena.engine import Engine, Rows, Scan, duckdb_reason, parse, sweep_cache
from localaws.athena.errors import AthenaApiError, QueryFailed

# DuckDB's allocator keeps up to 128 MiB of freed memory after each query by default: in an
# endpoint that runs queries for days, that reads as growth. Flush past 16 MiB instead.
DUCKDB_CONFIG = {"allocator_flush_threshold": "16MB"}
log = logging.getLogger(__name__)

MAX_RESULTS_PER_PAGE = 1000


class AthenaExecutor:
    """Query executions, kept under ``state_dir/athena`` so they survive a restart."""

    def __init__(self, state_dir: Path, client: Callable[[str, str], Any]) -> None:
        self.dir = state_dir / "athena"
        self.cache = state_dir / "athena-cache"
        self.results = self.dir / "results"
        (self.dir / "executions").mkdir(parents=True, exist_ok=True)
        self.results.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        self._clients = client
        # The region the current request or query acts in: a query reads Glue and S3 of the
        # region its StartQueryExecution was signed for, as on AWS.
        self._scope = threading.local()
        self._lock = threading.Lock()
        # Queries in flight: their worker thread and DuckDB connection, so they can be stopped.
        self._running: dict[str, tuple[threading.Thread, duckdb.DuckDBPyConnection]] = {}

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
        output = (request.get("ResultConfiguration") or {}).get("OutputLocation") or self._workgroup_output(workgroup)
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
        connection = duckdb.connect(config=DUCKDB_CONFIG)
        worker = threading.Thread(
            target=self._run, args=(query_id, connection), name=f"athena-{query_id[:8]}", daemon=True
        )
        with self._lock:
            self._running[query_id] = (worker, connection)
        worker.start()
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
        records = [json.loads(p.read_text()) for p in (self.dir / "executions").glob("*.json")]
        records = [r for r in records if r["WorkGroup"] == workgroup and r.get("_Region") == self._scope.region]
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

    def _workgroup_output(self, workgroup: str) -> str | None:
        try:
            group = self.client("athena").get_work_group(WorkGroup=workgroup)["WorkGroup"]
        except ClientError:
            return None
        return (group.get("Configuration") or {}).get("ResultConfiguration", {}).get("OutputLocation")

    # --- stopping ------------------------------------------------------------------------
    def _interrupt(self, query_id: str, timeout_s: float = 30.0) -> None:
        """Interrupt DuckDB until the worker ends: a query may not have started executing yet."""
        with self._lock:
            worker, connection = self._running.get(query_id, (None, None))
        deadline = time.monotonic() + timeout_s
        while worker is not None and connection is not None and worker.is_alive() and time.monotonic() < deadline:
            try:
                connection.interrupt()
            except duckdb.ConnectionException:
                return  # the worker closed it: the query is over
            worker.join(0.05)

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
        path = self._path(record["QueryExecutionId"])
        tmp = path.with_suffix(".tmp")
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
    def _run(self, query_id: str, connection: duckdb.DuckDBPyConnection) -> None:
        record = self._load(query_id)
        self._scope.region = record["_Region"]
        record["Status"]["State"] = "RUNNING"
        self._save(record)
        started = time.perf_counter()
        scan = Scan()
        try:
            statement = parse(record["Query"])
            record["StatementType"] = _statement_type(statement)
            rows, update_count = self._execute(statement, record, connection, scan)
            results.write(self.results, self.client("s3"), record, rows, update_count)
            state, reason = "SUCCEEDED", None
        except QueryFailed as exc:
            state, reason = "FAILED", str(exc)
        except duckdb.InterruptException:
            state, reason = "CANCELLED", "Query was cancelled by the user"
        except duckdb.Error as exc:
            state, reason = "FAILED", duckdb_reason(exc)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            state, reason = "FAILED", f"{error.get('Code', 'AccessDenied')}: {error.get('Message', exc)}"
        except Exception as exc:
            log.exception("local Athena query %s failed unexpectedly", query_id)
            state, reason = "FAILED", f"GENERIC_INTERNAL_ERROR: {type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                self._running.pop(query_id, None)
                if not self._running:  # no query can start (and read the cache) meanwhile
                    sweep_cache(self.cache)
            connection.close()
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        record["Statistics"].update(
            EngineExecutionTimeInMillis=elapsed_ms,
            TotalExecutionTimeInMillis=elapsed_ms,
            DataScannedInBytes=scan.bytes_scanned,
        )
        self._finish(record, state, reason)

    def _execute(
        self, statement: exp.Expression, record: dict[str, Any], con: duckdb.DuckDBPyConnection, scan: Scan
    ) -> tuple[Rows | None, int]:
        """The statement's rows (a SELECT's) and its update count."""
        database = record["QueryExecutionContext"]["Database"]
        engine = Engine(self.cache, self.client)
        writer = CatalogWriter(engine, record["QueryExecutionId"])
        if isinstance(statement, exp.Query):
            return engine.select(statement, database, con, scan), 0
        if isinstance(statement, exp.Create):
            kind = (statement.args.get("kind") or "").upper()
            if kind == "TABLE" and isinstance(statement.expression, exp.Query):
                results_dir = record["ResultConfiguration"]["OutputLocation"].rsplit("/", 1)[0]
                return None, writer.ctas(statement, database, con, scan, results_dir)
            if kind == "TABLE":
                writer.create_external(statement, database)
                return None, 0
            raise QueryFailed(f"CREATE {kind} is not supported by the local endpoint")
        if isinstance(statement, exp.Insert):
            return None, writer.insert(statement, database, con, scan)
        if isinstance(statement, exp.Alter):
            writer.alter(statement, database)
            return None, 0
        if isinstance(statement, exp.Drop):
            writer.drop(statement, database)
            return None, 0
        raise QueryFailed(f"{type(statement).__name__.upper()} statements are not supported by the local endpoint")


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


def _statement_type(statement: exp.Expression) -> str:
    """Athena calls SELECT and INSERT "DML"; CTAS and everything else "DDL"."""
    return "DML" if isinstance(statement, exp.Query | exp.Insert) else "DDL"

"""Athena query execution on DuckDB: Trino SQL translated by sqlglot, tables from the Glue catalog.

Supported: SELECT (with CTEs, joins, aggregates) over Parquet tables registered in Glue,
seeing only registered partitions and pruning them by WHERE conditions on partition
keys; CTAS with format, external_location, partitioned_by and write_compression;
INSERT INTO ... SELECT; CREATE EXTERNAL TABLE ... STORED AS PARQUET; ALTER TABLE ...
ADD PARTITION; DROP TABLE. Anything else fails the query with a reason, as Athena would.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlglot
from botocore.exceptions import ClientError
from sqlglot import exp

from flightdata.catalog import PARQUET_INPUT, PARQUET_OUTPUT, PARQUET_SERDE
from flightdata.schema import glue_type

log = logging.getLogger(__name__)

MAX_RESULTS_PER_PAGE = 1000
ROWS_PER_FILE = 2_000_000
# Copies of lake files DuckDB reads: unused for CACHE_TTL_S, or the least recently used
# past CACHE_MAX_BYTES, are removed after each query, so the cache is a bounded working set.
CACHE_TTL_S = 600
CACHE_MAX_BYTES = 64 * 1024 * 1024


class QueryFailed(Exception):
    """Ends a query in state FAILED; the message becomes its StateChangeReason."""


class AthenaApiError(Exception):
    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status


def _s3_split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise QueryFailed(f"location {uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


@dataclass
class _Table:
    database: str
    name: str
    location: str
    columns: list[dict[str, str]]
    partition_keys: list[str]
    partitions: list[tuple[list[str], str]]  # (values, location)


@dataclass
class _Scan:
    bytes_scanned: int = 0


class AthenaExecutor:
    """Query executions, kept under ``state_dir/athena`` so they survive a restart."""

    def __init__(self, state_dir: Path, client: Callable[[str, str], Any]) -> None:
        self.dir = state_dir / "athena"
        self.cache = state_dir / "athena-cache"
        (self.dir / "executions").mkdir(parents=True, exist_ok=True)
        (self.dir / "results").mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        self._clients = client
        # The region the current request or query acts in: a query reads Glue and S3 of the
        # region its StartQueryExecution was signed for, as on AWS.
        self._scope = threading.local()
        self._lock = threading.Lock()
        # Queries in flight: their worker thread and DuckDB connection, so they can be stopped.
        self._running: dict[str, tuple[threading.Thread, duckdb.DuckDBPyConnection]] = {}

    # --- API -----------------------------------------------------------------------------
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
        connection = duckdb.connect()
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
        return self._page(ids, request, "QueryExecutionIds", limit=50)

    def _op_StopQueryExecution(self, request: dict[str, Any]) -> dict[str, Any]:
        query_id = request.get("QueryExecutionId", "")
        record = self._load(query_id)
        if record["Status"]["State"] in ("QUEUED", "RUNNING"):
            self._finish(record, "CANCELLED", "Query was cancelled by the user")
            threading.Thread(target=self._interrupt, args=(query_id,), daemon=True).start()
        return {}

    def _interrupt(self, query_id: str, timeout_s: float = 30.0) -> None:
        """Interrupt DuckDB until the worker ends: a query may not have started executing yet."""
        with self._lock:
            worker, connection = self._running.get(query_id, (None, None))
        deadline = time.monotonic() + timeout_s
        while worker is not None and worker.is_alive() and time.monotonic() < deadline:
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

    def _op_GetQueryResults(self, request: dict[str, Any]) -> dict[str, Any]:
        query_id = request.get("QueryExecutionId", "")
        record = self._load(query_id)
        state = record["Status"]["State"]
        if state != "SUCCEEDED":
            raise AthenaApiError("InvalidRequestException", f"Query has not yet finished. Current state: {state}")
        path = self.dir / "results" / f"{query_id}.json"
        result = json.loads(path.read_text()) if path.exists() else {"columns": [], "rows": []}
        rows = result["rows"]
        if result["columns"] and record["StatementType"] == "DML":
            rows = [[c["Name"] for c in result["columns"]], *rows]
        page = self._page(rows, request, "Rows", limit=MAX_RESULTS_PER_PAGE)
        page["ResultSet"] = {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page.pop("Rows")],
            "ResultSetMetadata": {"ColumnInfo": result["columns"]},
        }
        page["UpdateCount"] = result.get("update_count", 0)
        return page

    @staticmethod
    def _page(items: list[Any], request: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
        size = min(int(request.get("MaxResults") or limit), limit)
        start = int(request.get("NextToken") or 0)
        page: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            page["NextToken"] = str(start + size)
        return page

    def _workgroup_output(self, workgroup: str) -> str | None:
        try:
            group = self.client("athena").get_work_group(WorkGroup=workgroup)["WorkGroup"]
        except ClientError:
            return None
        return (group.get("Configuration") or {}).get("ResultConfiguration", {}).get("OutputLocation")

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
        scan = _Scan()
        try:
            statement = self._parse(record["Query"])
            record["StatementType"] = _statement_type(statement)
            result = self._execute(statement, record, connection, scan)
            self._write_result(record, result)
            state, reason = "SUCCEEDED", None
        except QueryFailed as exc:
            state, reason = "FAILED", str(exc)
        except duckdb.InterruptException:
            state, reason = "CANCELLED", "Query was cancelled by the user"
        except duckdb.Error as exc:
            state, reason = "FAILED", _duckdb_reason(exc)
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
                    self._sweep_cache()
            connection.close()
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        record["Statistics"].update(
            EngineExecutionTimeInMillis=elapsed_ms,
            TotalExecutionTimeInMillis=elapsed_ms,
            DataScannedInBytes=scan.bytes_scanned,
        )
        self._finish(record, state, reason)

    def _sweep_cache(self) -> None:
        """Keep the cache a working set, not a second lake: drop files unused for
        ``CACHE_TTL_S``, then the least recently used until it fits ``CACHE_MAX_BYTES``."""
        cutoff = time.time() - CACHE_TTL_S
        files = []
        for path in self.cache.glob("*/*"):
            with contextlib.suppress(FileNotFoundError):
                info = path.stat()
                files.append((info.st_mtime, info.st_size, path))
        total = sum(size for _, size, _ in files)
        for used, size, path in sorted(files):
            if used >= cutoff and total <= CACHE_MAX_BYTES:
                break
            path.unlink(missing_ok=True)
            total -= size

    @staticmethod
    def _parse(sql: str) -> exp.Expression:
        try:
            statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
        except sqlglot.errors.ParseError as exc:
            raise QueryFailed(f"line 1:1: {exc.errors[0]['description'] if exc.errors else exc}") from None
        if len(statements) != 1:
            raise QueryFailed(f"Only one sql statement is allowed. Got: {len(statements)}")
        return statements[0]

    def _execute(
        self, statement: exp.Expression, record: dict[str, Any], con: duckdb.DuckDBPyConnection, scan: _Scan
    ) -> dict[str, Any]:
        database = record["QueryExecutionContext"]["Database"]
        if isinstance(statement, exp.Create):
            kind = (statement.args.get("kind") or "").upper()
            if kind == "TABLE" and isinstance(statement.expression, exp.Query):
                return self._ctas(statement, database, con, scan, record)
            if kind == "TABLE":
                return self._create_external(statement, database)
            raise QueryFailed(f"CREATE {kind} is not supported by the local endpoint")
        if isinstance(statement, exp.Insert):
            return self._insert(statement, database, con, scan, record["QueryExecutionId"])
        if isinstance(statement, exp.Alter):
            return self._alter(statement, database)
        if isinstance(statement, exp.Drop):
            return self._drop(statement, database)
        if isinstance(statement, exp.Query):
            table = self._select(statement, database, con, scan)
            return {"table": table}
        raise QueryFailed(f"{type(statement).__name__.upper()} statements are not supported by the local endpoint")

    # --- SELECT --------------------------------------------------------------------------
    def _select(self, query: exp.Expression, database: str, con: duckdb.DuckDBPyConnection, scan: _Scan) -> pa.Table:
        query = query.copy()
        ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
        for n, table_node in enumerate(list(query.find_all(exp.Table))):
            if not table_node.db and table_node.name in ctes:
                continue
            table = self._table(table_node.db or database, table_node.name)
            view = f"__athena_{n}"
            self._register(con, view, table, self._prune(query, table_node, table, con), scan)
            alias = table_node.alias or table_node.name
            table_node.replace(
                exp.Table(this=exp.to_identifier(view), alias=exp.TableAlias(this=exp.to_identifier(alias)))
            )
        relation = con.sql(query.sql(dialect="duckdb"))
        return relation.arrow() if relation is not None else pa.table({})

    def _table(self, database: str, name: str) -> _Table:
        glue = self.client("glue")
        try:
            raw = glue.get_table(DatabaseName=database, Name=name)["Table"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "EntityNotFoundException":
                raise QueryFailed(f"TABLE_NOT_FOUND: Table '{database}.{name}' does not exist") from None
            raise
        descriptor = raw.get("StorageDescriptor") or {}
        serde = (descriptor.get("SerdeInfo") or {}).get("SerializationLibrary", "")
        if "parquet" not in serde.lower() and "parquet" not in descriptor.get("InputFormat", "").lower():
            raise QueryFailed(
                f"table {database}.{name} is not stored as Parquet; the local endpoint reads Parquet tables only"
            )
        keys = [k["Name"] for k in raw.get("PartitionKeys", [])]
        partitions: list[tuple[list[str], str]] = []
        if keys:
            for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=name):
                partitions += [(p["Values"], p["StorageDescriptor"]["Location"]) for p in page["Partitions"]]
        return _Table(database, name, descriptor.get("Location", ""), descriptor.get("Columns", []), keys, partitions)

    def _prune(
        self, query: exp.Expression, node: exp.Table, table: _Table, con: duckdb.DuckDBPyConnection
    ) -> list[tuple[list[str], str]]:
        """The partitions that the WHERE conditions on partition keys leave, as Athena prunes them."""
        if not table.partition_keys or not table.partitions:
            return table.partitions
        select = node.find_ancestor(exp.Select)
        where = select.args.get("where") if select else None
        if where is None:
            return table.partitions
        alias = node.alias_or_name
        keys = set(table.partition_keys)
        conditions = []
        for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            columns = list(condition.find_all(exp.Column))
            on_keys_only = columns and all(c.name in keys and c.table in ("", alias, table.name) for c in columns)
            if on_keys_only and not list(condition.find_all(exp.Subquery)):
                stripped = condition.copy()
                for column in stripped.find_all(exp.Column):
                    column.set("table", None)
                conditions.append(stripped)
        if not conditions:
            return table.partitions
        values = pa.table(
            {
                **{k: [p[0][i] for p in table.partitions] for i, k in enumerate(table.partition_keys)},
                "__idx": list(range(len(table.partitions))),
            }
        )
        con.register("__partitions", values)
        sql = exp.select("__idx").from_("__partitions").where(exp.and_(*conditions)).sql(dialect="duckdb")
        try:
            keep = {row[0] for row in con.sql(sql).fetchall()}
        except duckdb.Error:
            return table.partitions
        finally:
            con.unregister("__partitions")
        return [p for i, p in enumerate(table.partitions) if i in keep]

    def _register(
        self,
        con: duckdb.DuckDBPyConnection,
        view: str,
        table: _Table,
        partitions: list[tuple[list[str], str]],
        scan: _Scan,
    ) -> None:
        sources = (
            [(values, location) for values, location in partitions] if table.partition_keys else [([], table.location)]
        )
        selects = []
        for values, location in sources:
            files = self._files(location, scan)
            if not files:
                continue
            # Every value from the catalog or the lake is a quoted literal or identifier: a
            # partition value or column name can never become SQL of its own.
            listing = ", ".join(_literal(f) for f in files)
            extra = "".join(
                f", {_literal(v)} AS {_identifier(k)}" for k, v in zip(table.partition_keys, values, strict=True)
            )
            selects.append(
                f"SELECT *{extra} FROM read_parquet([{listing}], union_by_name=true, hive_partitioning=false)"
            )
        if selects:
            con.sql(f"CREATE OR REPLACE TEMP VIEW {_identifier(view)} AS " + " UNION ALL BY NAME ".join(selects))
            return
        columns = [f"CAST(NULL AS {_duckdb_type(c['Type'])}) AS {_identifier(c['Name'])}" for c in table.columns] + [
            f"CAST(NULL AS VARCHAR) AS {_identifier(k)}" for k in table.partition_keys
        ]
        con.sql(f"CREATE OR REPLACE TEMP VIEW {_identifier(view)} AS SELECT {', '.join(columns)} WHERE false")

    def _files(self, location: str, scan: _Scan) -> list[str]:
        """Local copies of the data files under ``location``; their size counts as scanned."""
        bucket, prefix = _s3_split(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        s3 = self.client("s3")
        files = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                name = key.rsplit("/", 1)[-1]
                if not name or name.startswith(("_", ".")) or key.endswith("/"):
                    continue
                if "/" in key[len(prefix) :] and not _is_partition_path(key[len(prefix) :]):
                    continue
                # Named by a digest, never by the key: a key such as '../../x' stays in the cache.
                digest = hashlib.sha256(f"{bucket}\0{key}\0{obj['ETag']}".encode()).hexdigest()
                local = self.cache / digest[:2] / f"{digest}.parquet"
                if local.exists():
                    os.utime(local)  # recently used: kept by the sweep
                else:
                    local.parent.mkdir(parents=True, exist_ok=True)
                    tmp = local.with_name(local.name + f".{uuid.uuid4().hex}.tmp")
                    tmp.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                    tmp.replace(local)
                scan.bytes_scanned += obj["Size"]
                files.append(str(local))
        return files

    # --- CTAS, INSERT, DDL ---------------------------------------------------------------
    def _ctas(
        self, create: exp.Create, database: str, con: duckdb.DuckDBPyConnection, scan: _Scan, record: dict[str, Any]
    ) -> dict[str, Any]:
        query_id = record["QueryExecutionId"]
        target = create.this if isinstance(create.this, exp.Table) else create.this.this
        db, name = target.db or database, target.name
        props = _properties(create)
        fmt = str(props.get("format", "PARQUET")).upper()
        if fmt != "PARQUET":
            raise QueryFailed(f"format '{fmt}' is not supported by the local endpoint; use PARQUET")
        if "bucketed_by" in props or "bucket_count" in props:
            raise QueryFailed("bucketed_by is not supported by the local endpoint")
        glue = self.client("glue")
        try:
            glue.get_table(DatabaseName=db, Name=name)
            raise QueryFailed(f"Table {db}.{name} already exists")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "EntityNotFoundException":
                raise
        # Without external_location Athena writes under the workgroup's result location.
        results_dir = record["ResultConfiguration"]["OutputLocation"].rsplit("/", 1)[0]
        location = props.get("external_location") or f"{results_dir}/tables/{query_id}"
        location = location.rstrip("/") + "/"
        bucket, prefix = _s3_split(location)
        if self.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0):
            raise QueryFailed(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{db}.{name}' already exists: {location}"
            )
        partition_keys = list(props.get("partitioned_by") or [])
        data = self._select(create.expression, database, con, scan)
        compression = str(props.get("write_compression", "GZIP")).lower()
        self._check_partition_columns(data, partition_keys)
        written = self._write(data, location, partition_keys, compression, query_id)
        columns = [{"Name": f.name, "Type": _glue_type_of(f.type)} for f in data.schema if f.name not in partition_keys]
        glue.create_table(
            DatabaseName=db,
            TableInput={
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
                "PartitionKeys": [
                    {"Name": k, "Type": _glue_type_of(data.schema.field(k).type)} for k in partition_keys
                ],
                "StorageDescriptor": _storage_descriptor(columns, location),
            },
        )
        self._add_partitions(db, name, columns, location, partition_keys, written)
        return {"update_count": data.num_rows}

    def _insert(
        self, insert: exp.Insert, database: str, con: duckdb.DuckDBPyConnection, scan: _Scan, query_id: str
    ) -> dict[str, Any]:
        target = insert.this if isinstance(insert.this, exp.Table) else insert.this.this
        table = self._table(target.db or database, target.name)
        data = self._select(insert.expression, database, con, scan)
        names = [c["Name"] for c in table.columns] + table.partition_keys
        if data.num_columns != len(names):
            raise QueryFailed(
                f"Insert query has mismatched column sizes: table has {len(names)} columns, "
                f"query has {data.num_columns}"
            )
        data = data.rename_columns(names)
        written = self._write(data, table.location.rstrip("/") + "/", table.partition_keys, "zstd", query_id)
        self._add_partitions(
            table.database, table.name, table.columns, table.location.rstrip("/") + "/", table.partition_keys, written
        )
        return {"update_count": data.num_rows}

    def _create_external(self, create: exp.Create, database: str) -> dict[str, Any]:
        schema = create.this
        if not isinstance(schema, exp.Schema):
            raise QueryFailed("CREATE TABLE needs a column list or AS SELECT")
        target = schema.this
        db, name = target.db or database, target.name
        props = create.args.get("properties")
        location, fmt, partition_columns = None, None, []
        for prop in props.expressions if props else []:
            if isinstance(prop, exp.LocationProperty):
                location = prop.this.name
            elif isinstance(prop, exp.FileFormatProperty):
                fmt = prop.this.name.upper() if prop.this else None
            elif isinstance(prop, exp.PartitionedByProperty):
                partition_columns = [c for c in prop.this.expressions if isinstance(c, exp.ColumnDef)]
        if fmt != "PARQUET":
            raise QueryFailed("the local endpoint creates external tables STORED AS PARQUET only")
        if not location:
            raise QueryFailed("CREATE EXTERNAL TABLE needs a LOCATION")
        columns = [_column_def(c) for c in schema.expressions if isinstance(c, exp.ColumnDef)]
        table_input = {
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
            "PartitionKeys": [_column_def(c) for c in partition_columns],
            "StorageDescriptor": _storage_descriptor(columns, location),
        }
        try:
            self.client("glue").create_table(DatabaseName=db, TableInput=table_input)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "AlreadyExistsException":
                raise
            if not create.args.get("exists"):
                raise QueryFailed(f"Table {db}.{name} already exists") from None
        return {}

    def _alter(self, alter: exp.Alter, database: str) -> dict[str, Any]:
        target = alter.this
        table = self._table(target.db or database, target.name)
        actions = alter.args.get("actions") or []
        for action in actions:
            if not isinstance(action, exp.AddPartition):
                raise QueryFailed(f"ALTER TABLE {action.key.upper()} is not supported by the local endpoint")
            spec = {eq.this.name: eq.expression.name for eq in action.this.expressions}
            missing = [k for k in table.partition_keys if k not in spec]
            if missing or set(spec) - set(table.partition_keys):
                raise QueryFailed(
                    f"partition spec {spec} does not match the partition keys {table.partition_keys} of {table.name}"
                )
            values = [spec[k] for k in table.partition_keys]
            location = action.args.get("location")
            if isinstance(location, exp.LocationProperty):
                where = location.this.name
            else:
                where = table.location.rstrip("/") + "/" + "".join(f"{k}={spec[k]}/" for k in table.partition_keys)
            try:
                self.client("glue").create_partition(
                    DatabaseName=table.database,
                    TableName=table.name,
                    PartitionInput={"Values": values, "StorageDescriptor": _storage_descriptor(table.columns, where)},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "AlreadyExistsException":
                    raise
                if not action.args.get("exists"):
                    raise QueryFailed(f"Partition already exists: {spec}") from None
        return {}

    def _drop(self, drop: exp.Drop, database: str) -> dict[str, Any]:
        if (drop.args.get("kind") or "").upper() != "TABLE":
            raise QueryFailed(f"DROP {drop.args.get('kind')} is not supported by the local endpoint")
        target = (drop.args.get("tables") or [drop.this])[0]
        try:
            self.client("glue").delete_table(DatabaseName=target.db or database, Name=target.name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "EntityNotFoundException":
                raise
            if not drop.args.get("exists"):
                raise QueryFailed(f"Table {target.db or database}.{target.name} does not exist") from None
        return {}

    # --- writing -------------------------------------------------------------------------
    @staticmethod
    def _check_partition_columns(data: pa.Table, keys: list[str]) -> None:
        missing = [k for k in keys if k not in data.column_names]
        if missing:
            raise QueryFailed(f"Partition columns {missing} are not in the query's columns")
        if keys and data.column_names[-len(keys) :] != keys:
            raise QueryFailed(f"Partition columns {keys} must be the last columns of the SELECT, in that order")

    def _write(
        self, data: pa.Table, location: str, keys: list[str], compression: str, query_id: str
    ) -> list[list[str]]:
        """Parquet files under ``location``, one directory per partition; returns the partitions."""
        bucket, prefix = _s3_split(location)
        s3 = self.client("s3")
        groups: list[tuple[list[str], pa.Table]] = []
        if keys:
            combos = data.select(keys).group_by(keys).aggregate([])
            for row in combos.to_pylist():
                mask = None
                for k in keys:
                    cond = pc.equal(data[k], row[k]) if row[k] is not None else pc.is_null(data[k])
                    mask = cond if mask is None else pc.and_(mask, cond)
                groups.append(([_partition_text(row[k]) for k in keys], data.filter(mask).drop_columns(keys)))
        else:
            groups.append(([], data))
        codec = None if compression in ("none", "uncompressed") else compression
        for values, part in groups:
            directory = prefix + "".join(f"{k}={v}/" for k, v in zip(keys, values, strict=True))
            for n, start in enumerate(range(0, max(part.num_rows, 1), ROWS_PER_FILE)):
                chunk = part.slice(start, ROWS_PER_FILE)
                sink = io.BytesIO()
                pq.write_table(chunk, sink, compression=codec)
                s3.put_object(Bucket=bucket, Key=f"{directory}{query_id}_{n:05d}.parquet", Body=sink.getvalue())
        return [values for values, _ in groups if values]

    def _add_partitions(
        self,
        db: str,
        name: str,
        columns: list[dict[str, str]],
        location: str,
        keys: list[str],
        partitions: list[list[str]],
    ) -> None:
        glue = self.client("glue")
        for values in partitions:
            where = location + "".join(f"{k}={v}/" for k, v in zip(keys, values, strict=True))
            try:
                glue.create_partition(
                    DatabaseName=db,
                    TableName=name,
                    PartitionInput={"Values": values, "StorageDescriptor": _storage_descriptor(columns, where)},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "AlreadyExistsException":
                    raise

    def _write_result(self, record: dict[str, Any], result: dict[str, Any]) -> None:
        table: pa.Table | None = result.get("table")
        columns: list[dict[str, Any]] = []
        rows: list[list[str | None]] = []
        if table is not None:
            columns = [_column_info(f) for f in table.schema]
            rows = (
                [
                    [_text(v) for v in row]
                    for row in zip(*(table[c].to_pylist() for c in table.column_names), strict=True)
                ]
                if table.num_columns
                else []
            )
        payload = {"columns": columns, "rows": rows, "update_count": result.get("update_count", 0)}
        (self.dir / "results" / f"{record['QueryExecutionId']}.json").write_text(json.dumps(payload))
        out = io.StringIO()
        if columns:
            writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
            writer.writerow([c["Name"] for c in columns])
            writer.writerows([["" if v is None else v for v in row] for row in rows])
        bucket, key = _s3_split(record["ResultConfiguration"]["OutputLocation"])
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=out.getvalue().encode())


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


def _properties(create: exp.Create) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for prop in (create.args.get("properties") or exp.Properties(expressions=[])).expressions:
        if isinstance(prop, exp.PartitionedByProperty):
            value = prop.this
            items = value.expressions if isinstance(value, exp.Array | exp.Schema | exp.Tuple) else [value]
            props["partitioned_by"] = [i.name for i in items]
        elif isinstance(prop, exp.FileFormatProperty):
            props["format"] = prop.this.name if prop.this else "PARQUET"
        elif isinstance(prop, exp.LocationProperty):
            props["external_location"] = prop.this.name
        elif isinstance(prop, exp.Property):
            key = prop.name.lower()
            value = prop.args.get("value")
            if isinstance(value, exp.Array):
                props[key] = [v.name for v in value.expressions]
            elif value is not None:
                props[key] = value.name
    return props


def _storage_descriptor(columns: list[dict[str, str]], location: str) -> dict[str, Any]:
    return {
        "Columns": columns,
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
    }


def _column_def(column: exp.ColumnDef) -> dict[str, str]:
    return {"Name": column.name, "Type": column.args["kind"].sql(dialect="hive").lower()}


def _duckdb_type(glue: str) -> str:
    """A Glue (Hive DDL) type in DuckDB's spelling, by sqlglot; what DuckDB sees is sqlglot's
    rendering of the parsed type, never the catalog's text."""
    try:
        return exp.DataType.build(glue, dialect="hive").sql(dialect="duckdb")
    except (sqlglot.errors.ParseError, ValueError):
        raise QueryFailed(f"NOT_SUPPORTED: column type {glue!r} is not a Hive type") from None


def _literal(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="duckdb")


def _identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _glue_type_of(arrow_type: pa.DataType) -> str:
    if pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "date"
    try:
        return glue_type(arrow_type)
    except TypeError as exc:
        raise QueryFailed(f"NOT_SUPPORTED: {exc}") from None


_ATHENA_TYPES = {"string": "varchar", "int": "integer", "float": "real"}


def _column_info(f: pa.Field) -> dict[str, Any]:
    glue = _glue_type_of(f.type)
    athena = _ATHENA_TYPES.get(glue, glue.split("(")[0])
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": f.name,
        "Label": f.name,
        "Type": athena,
        "Precision": 0,
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": athena == "varchar",
    }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join("null" if v is None else str(_text(v)) for v in value) + "]"
    return str(value)


def _partition_text(value: Any) -> str:
    return "__HIVE_DEFAULT_PARTITION__" if value is None else str(_text(value))


def _is_partition_path(relative: str) -> bool:
    return all("=" in part for part in relative.split("/")[:-1])


def _duckdb_reason(exc: duckdb.Error) -> str:
    message = str(exc).splitlines()[0]
    kind = "COLUMN_NOT_FOUND" if "Referenced column" in message or "not found" in message else "SYNTAX_ERROR"
    return f"{kind}: {message}"

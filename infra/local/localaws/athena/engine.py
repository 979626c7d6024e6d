"""The SQL engine: a Trino statement, translated by sqlglot, run by DuckDB over the files of
the Glue tables it names, seeing only registered partitions and pruning them as Athena does.

Every value from the catalog or the lake reaches DuckDB as a quoted literal or identifier,
and every type as sqlglot's rendering of the parsed type: a partition value, column name or
type string can never become SQL of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from localaws.athena.failures import StatementFailed, s3_split
from localaws.clients import accepting

# Copies of lake files DuckDB reads: unused for CACHE_TTL_S, or the least recently used
# past CACHE_MAX_BYTES, are removed when no query runs, so the cache is a bounded working set.
# It serves the queries of one DAG run (compaction's CTAS, then its count check): a few
# minutes, and less than half an hour of the simulator's lake (about 38 MB an hour).
CACHE_TTL_S = 180
CACHE_MAX_BYTES = 16 * 1024 * 1024


@dataclass
class CatalogTable:
    """A Glue table as the engine reads it."""

    database: str
    name: str
    location: str
    columns: list[dict[str, str]]
    partition_keys: list[str]
    partitions: list[tuple[list[str], str]]  # (values, location)


@dataclass
class Scan:
    """What a query read: Athena bills by it and reports it as DataScannedInBytes."""

    bytes_scanned: int = 0


@dataclass
class Rows:
    """A SELECT's result: the rows, and each column's DuckDB type (which names its Glue and
    Athena types, by sqlglot)."""

    table: pa.Table
    duckdb_types: list[str] = field(default_factory=list)

    def glue_type(self, name: str) -> str:
        return glue_type(self.duckdb_types[self.table.column_names.index(name)])


def parse(sql: str) -> exp.Expression:
    """One Trino (Athena) statement, or the reason it is not one."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise StatementFailed(f"line 1:1: {exc.errors[0]['description'] if exc.errors else exc}") from None
    if len(statements) != 1:
        raise StatementFailed(f"Only one sql statement is allowed. Got: {len(statements)}")
    statement = statements[0]
    assert isinstance(statement, exp.Expression)
    return statement


# Athena's cap on what sequence() returns; DuckDB has none, and would build any list asked for.
MAX_SEQUENCE = 10_000


def guard_sequences(query: exp.Expression) -> exp.Expression:
    """Every ``sequence(start, stop[, step])`` fails as Athena's does past ``MAX_SEQUENCE``
    entries, before DuckDB builds the list: the length is computed first, in SQL (from
    epoch seconds when the step is an interval, else from the values themselves)."""
    for node in list(query.find_all(exp.GenerateSeries)):
        start, end = node.args["start"], node.args["end"]
        step = node.args.get("step")
        if isinstance(step, exp.Interval):
            span = f"(epoch({end.sql('duckdb')}) - epoch({start.sql('duckdb')})) / epoch({step.sql('duckdb')})"
        else:
            divisor = step.sql("duckdb") if step is not None else "1"
            span = f"({end.sql('duckdb')} - {start.sql('duckdb')}) / ({divisor})"
        guard = sqlglot.parse_one(
            f"CASE WHEN abs({span}) + 1 > {MAX_SEQUENCE} THEN error('INVALID_FUNCTION_ARGUMENT: result of sequence "
            f"function must not have more than {MAX_SEQUENCE} entries') ELSE {node.sql('duckdb')} END",
            read="duckdb",
        )
        node.replace(guard)
    return query


def count_if_counts(query: exp.Expression) -> exp.Expression:
    """Every ``count_if(condition)`` counts as Athena's does: 0 over no rows, where DuckDB's
    gives null. It becomes ``count(*) FILTER (WHERE condition)``, which DuckDB counts from 0
    (and which may still take an OVER clause)."""
    for node in list(query.find_all(exp.CountIf)):
        node.replace(
            exp.Filter(
                this=exp.Count(this=exp.Star()),
                expression=exp.Where(this=node.this.copy()),
            )
        )
    return query


class Engine:
    """Runs SELECTs for one query; ``client(service)`` gives boto3 clients of the query's region."""

    def __init__(self, cache: Path, client: Callable[[str], Any]) -> None:
        self.cache = cache
        self.client = client

    def table(self, database: str, name: str) -> CatalogTable:
        glue = self.client("glue")
        with accepting("EntityNotFoundException") as missing:
            raw = glue.get_table(DatabaseName=database, Name=name)["Table"]
        if missing.code:
            raise StatementFailed(f"TABLE_NOT_FOUND: Table '{database}.{name}' does not exist")
        descriptor = raw.get("StorageDescriptor") or {}
        serde = (descriptor.get("SerdeInfo") or {}).get("SerializationLibrary", "")
        if "parquet" not in serde.lower() and "parquet" not in descriptor.get("InputFormat", "").lower():
            raise StatementFailed(
                f"table {database}.{name} is not stored as Parquet; the local endpoint reads Parquet tables only"
            )
        keys = [k["Name"] for k in raw.get("PartitionKeys", [])]
        partitions: list[tuple[list[str], str]] = []
        if keys:
            for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=name):
                partitions += [(p["Values"], p["StorageDescriptor"]["Location"]) for p in page["Partitions"]]
        return CatalogTable(
            database, name, descriptor.get("Location", ""), descriptor.get("Columns", []), keys, partitions
        )

    def select(self, query: exp.Expression, database: str, con: duckdb.DuckDBPyConnection, scan: Scan) -> Rows:
        query = count_if_counts(guard_sequences(query.copy()))
        ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
        for n, table_node in enumerate(list(query.find_all(exp.Table))):
            if not table_node.db and table_node.name in ctes:
                continue
            table = self.table(table_node.db or database, table_node.name)
            view = f"__athena_{n}"
            self._register(con, view, table, self._prune(query, table_node, table, con), scan)
            alias = table_node.alias or table_node.name
            table_node.replace(
                exp.Table(this=exp.to_identifier(view), alias=exp.TableAlias(this=exp.to_identifier(alias)))
            )
        relation = con.sql(query.sql(dialect="duckdb"))
        if relation is None:
            return Rows(pa.table({}))
        return Rows(relation.to_arrow_table(), [str(t) for t in relation.types])  # a table on DuckDB 1.3 and 2

    def _prune(
        self, query: exp.Expression, node: exp.Table, table: CatalogTable, con: duckdb.DuckDBPyConnection
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
        table: CatalogTable,
        partitions: list[tuple[list[str], str]],
        scan: Scan,
    ) -> None:
        sources = list(partitions) if table.partition_keys else [([], table.location)]
        selects = []
        for values, location in sources:
            files = self._files(location, scan)
            if not files:
                continue
            listing = ", ".join(literal(f) for f in files)
            extra = "".join(
                f", {literal(v)} AS {identifier(k)}" for k, v in zip(table.partition_keys, values, strict=True)
            )
            selects.append(
                f"SELECT *{extra} FROM read_parquet([{listing}], union_by_name=true, hive_partitioning=false)"
            )
        if selects:
            con.sql(f"CREATE OR REPLACE TEMP VIEW {identifier(view)} AS " + " UNION ALL BY NAME ".join(selects))
            return
        columns = [f"CAST(NULL AS {duckdb_type(c['Type'])}) AS {identifier(c['Name'])}" for c in table.columns] + [
            f"CAST(NULL AS VARCHAR) AS {identifier(k)}" for k in table.partition_keys
        ]
        con.sql(f"CREATE OR REPLACE TEMP VIEW {identifier(view)} AS SELECT {', '.join(columns)} WHERE false")

    def _files(self, location: str, scan: Scan) -> list[str]:
        """Local copies of the data files under ``location``; their size counts as scanned."""
        bucket, prefix = s3_split(location)
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
                if "/" in key[len(prefix) :] and not is_partition_path(key[len(prefix) :]):
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


def sweep_cache(cache: Path) -> None:
    """Keep the cache a working set, not a second lake: drop files unused for
    ``CACHE_TTL_S``, then the least recently used until it fits ``CACHE_MAX_BYTES``.
    Call it only while no query runs (a query may be reading any of them)."""
    cutoff = time.time() - CACHE_TTL_S
    files = []
    for path in cache.glob("*/*"):
        with contextlib.suppress(FileNotFoundError):
            info = path.stat()
            files.append((info.st_mtime, info.st_size, path))
    total = sum(size for _, size, _ in files)
    for used, size, path in sorted(files):
        if used >= cutoff and total <= CACHE_MAX_BYTES:
            break
        path.unlink(missing_ok=True)
        total -= size


def duckdb_type(glue: str) -> str:
    """A Glue (Hive DDL) type in DuckDB's spelling, by sqlglot."""
    try:
        return exp.DataType.build(glue, dialect="hive").sql(dialect="duckdb")
    except (sqlglot.errors.ParseError, ValueError):
        raise StatementFailed(f"NOT_SUPPORTED: column type {glue!r} is not a Hive type") from None


def glue_type(duckdb_name: str) -> str:
    """A DuckDB result type as Glue writes it (``array<int>``, ``decimal(10,2)``), by sqlglot."""
    return _build(duckdb_name).sql(dialect="hive").lower().replace(", ", ",")


def athena_type(duckdb_name: str) -> str:
    """The type name GetQueryResults reports (Trino's: ``varchar``, ``integer``, ``array``)."""
    return _build(duckdb_name).sql(dialect="trino").lower().split("(")[0]


def _build(duckdb_name: str) -> exp.DataType:
    try:
        return exp.DataType.build(duckdb_name, dialect="duckdb")
    except (sqlglot.errors.ParseError, ValueError):
        raise StatementFailed(f"NOT_SUPPORTED: no Athena type for result type {duckdb_name!r}") from None


def literal(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="duckdb")


def identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def is_partition_path(relative: str) -> bool:
    return all("=" in part for part in relative.split("/")[:-1])


def duckdb_reason(exc: duckdb.Error) -> str:
    message = str(exc).splitlines()[0]
    kind = "COLUMN_NOT_FOUND" if "Referenced column" in message or "not found" in message else "SYNTAX_ERROR"
    return f"{kind}: {message}"

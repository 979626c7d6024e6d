"""Each query runs in a process of its own, forked from a server process that already has the
engine's modules and AWS API models loaded, and that ends with the query.

DuckDB and Arrow keep memory they have used (allocator caches, arenas), so an endpoint
that runs queries in its own process for days grows with the queries it has run. A
process per query gives all of it back to the system when the query ends: the endpoint's
memory stays what its own state needs. The worker reaches the endpoint over HTTP, signed
with the endpoint's key, like Lambda functions do; a query is stopped by ending its process.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import boto3
import duckdb
from botocore.exceptions import ClientError
from sqlglot import exp

from localaws.athena import results
from localaws.athena.ddl import CatalogWriter
from localaws.athena.engine import Engine, Rows, Scan, duckdb_reason, parse
from localaws.athena.failures import StatementFailed
from localaws.clients import local_client
from localaws.credentials import KeyPair

# DuckDB's allocator keeps up to 128 MiB of freed memory after each query by default; a
# query's process ends anyway, but a long one is smaller for flushing past 16 MiB.
# A query may take a quarter of the machine's memory (DuckDB then spills or fails the query
# with "Out of Memory"), so one runaway query cannot take the laptop down.
QUERY_MEMORY_SHARE = 4
DUCKDB_CONFIG: dict[str, Any] = {
    "allocator_flush_threshold": "16MB",
    "memory_limit": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // QUERY_MEMORY_SHARE // 2**20}MB",
}
# The AWS APIs a query calls: their models are loaded once, in the server process, so that a
# worker's first client costs a fork's copy, not a parse of the model files.
SERVICES = ("s3", "glue")
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__])


def _warm() -> None:
    for service in SERVICES:
        boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="x",
            aws_secret_access_key="x",  # noqa: S106 - not a credential: the client is built, never used
        )


@dataclass(frozen=True)
class Endpoint:
    """Where a worker sends its AWS calls, and the key it signs them with."""

    url: str
    key: KeyPair | None

    def client(self, service: str, region: str) -> Any:
        return local_client(service, self.url, region, self.key)


@dataclass(frozen=True)
class QueryOutcome:
    state: str
    reason: str | None
    statement_type: str
    scanned_bytes: int
    elapsed_ms: int


def start(record: dict[str, Any], cache: Path, results_dir: Path, endpoint: Endpoint) -> tuple[Any, Connection]:
    """Start ``record``'s query in a process of its own; (the process, where its outcome comes)."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_main, args=(sender, record, str(cache), str(results_dir), endpoint), name="athena-query", daemon=True
    )
    process.start()
    sender.close()
    return process, receiver


def _main(sender: Connection, record: dict[str, Any], cache: str, results_dir: str, endpoint: Endpoint) -> None:
    sender.send(run(record, Path(cache), Path(results_dir), endpoint))
    sender.close()


def run(record: dict[str, Any], cache: Path, results_dir: Path, endpoint: Endpoint) -> QueryOutcome:
    """Execute the query, write its results, and say how it went."""
    region = record["_Region"]

    def client(service: str) -> Any:
        return endpoint.client(service, region)

    started = time.perf_counter()
    scan = Scan()
    statement_type = "DML"
    connection = duckdb.connect(config=DUCKDB_CONFIG)
    try:
        statement = parse(record["Query"])
        statement_type = "DML" if isinstance(statement, exp.Query | exp.Insert) else "DDL"
        rows, update_count = _execute(statement, record, connection, scan, cache, client)
        results.write(results_dir, client("s3"), {**record, "StatementType": statement_type}, rows, update_count)
        state, reason = "SUCCEEDED", None
    except StatementFailed as exc:
        state, reason = "FAILED", str(exc)
    except duckdb.Error as exc:
        state, reason = "FAILED", duckdb_reason(exc)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        state, reason = "FAILED", f"{error.get('Code', 'AccessDenied')}: {error.get('Message', exc)}"
    except Exception as exc:
        traceback.print_exc()
        state, reason = "FAILED", f"GENERIC_INTERNAL_ERROR: {type(exc).__name__}: {exc}"
    finally:
        connection.close()
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    return QueryOutcome(state, reason, statement_type, scan.bytes_scanned, elapsed_ms)


def _execute(
    statement: exp.Expression,
    record: dict[str, Any],
    con: duckdb.DuckDBPyConnection,
    scan: Scan,
    cache: Path,
    client: Any,
) -> tuple[Rows | None, int]:
    """The statement's rows (a SELECT's) and its update count."""
    database = record["QueryExecutionContext"]["Database"]
    engine = Engine(cache, client)
    writer = CatalogWriter(engine, record["QueryExecutionId"])
    if isinstance(statement, exp.Query):
        return engine.select(statement, database, con, scan), 0
    if isinstance(statement, exp.Create):
        kind = (statement.args.get("kind") or "").upper()
        if kind == "TABLE" and isinstance(statement.expression, exp.Query):
            results_location = record["ResultConfiguration"]["OutputLocation"].rsplit("/", 1)[0]
            return None, writer.ctas(statement, database, con, scan, results_location)
        if kind == "TABLE":
            writer.create_external(statement, database)
            return None, 0
        raise StatementFailed(f"CREATE {kind} is not supported by the local endpoint")
    if isinstance(statement, exp.Insert):
        return None, writer.insert(statement, database, con, scan)
    if isinstance(statement, exp.Alter):
        writer.alter(statement, database)
        return None, 0
    if isinstance(statement, exp.Drop):
        writer.drop(statement, database)
        return None, 0
    raise StatementFailed(f"{type(statement).__name__.upper()} statements are not supported by the local endpoint")


_warm()

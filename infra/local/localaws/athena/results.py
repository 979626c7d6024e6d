"""A query's result set, kept as GetQueryResults pages it and written as the CSV Athena puts
at the query's OutputLocation."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from localaws.athena.engine import Rows, athena_type
from localaws.athena.failures import s3_split


def write(results_dir: Path, s3: Any, record: dict[str, Any], rows: Rows | None, update_count: int) -> None:
    """Keep the result for GetQueryResults and put its CSV at the OutputLocation."""
    columns: list[dict[str, Any]] = []
    values: list[list[str | None]] = []
    if rows is not None:
        table = rows.table
        columns = [column_info(name, kind) for name, kind in zip(table.column_names, rows.duckdb_types, strict=True)]
        values = (
            [[text(v) for v in row] for row in zip(*(table[c].to_pylist() for c in table.column_names), strict=True)]
            if table.num_columns
            else []
        )
    payload = {"columns": columns, "rows": values, "update_count": update_count}
    (results_dir / f"{record['QueryExecutionId']}.json").write_text(json.dumps(payload))
    out = io.StringIO()
    if columns:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow([c["Name"] for c in columns])
        writer.writerows([["" if v is None else v for v in row] for row in values])
    bucket, key = s3_split(record["ResultConfiguration"]["OutputLocation"])
    s3.put_object(Bucket=bucket, Key=key, Body=out.getvalue().encode())


def read(results_dir: Path, query_id: str) -> dict[str, Any]:
    path = results_dir / f"{query_id}.json"
    return json.loads(path.read_text()) if path.exists() else {"columns": [], "rows": []}


def column_info(name: str, duckdb_type: str) -> dict[str, Any]:
    athena = athena_type(duckdb_type)
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": athena,
        "Precision": 0,
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": athena == "varchar",
    }


def text(value: Any) -> str | None:
    """A value as Athena's result set spells it (VarCharValue)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join("null" if v is None else str(text(v)) for v in value) + "]"
    return str(value)

"""What writes the catalog and the lake: CTAS, INSERT INTO ... SELECT, CREATE EXTERNAL TABLE,
ALTER TABLE ... ADD PARTITION and DROP TABLE, into Glue and S3 as Athena would."""

from __future__ import annotations

import io
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from localaws.athena.engine import Engine, Scan
from localaws.athena.failures import StatementFailed, s3_split
from localaws.athena.results import text
from localaws.clients import accepting

ROWS_PER_FILE = 2_000_000

# The Hive classes Glue records for a Parquet table, as Athena writes them for a CTAS.
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


class CatalogWriter:
    """Statements that change tables, for one query (its engine carries its region)."""

    def __init__(self, engine: Engine, query_id: str) -> None:
        self.engine = engine
        self.client = engine.client
        self.query_id = query_id

    def ctas(
        self, create: exp.Create, database: str, con: duckdb.DuckDBPyConnection, scan: Scan, results_dir: str
    ) -> int:
        """CREATE TABLE ... AS SELECT; ``results_dir`` is where a table without
        external_location goes (under the workgroup's result location, as on Athena)."""
        target = create.this if isinstance(create.this, exp.Table) else create.this.this
        db, name = target.db or database, target.name
        props = properties(create)
        fmt = str(props.get("format", "PARQUET")).upper()
        if fmt != "PARQUET":
            raise StatementFailed(f"format '{fmt}' is not supported by the local endpoint; use PARQUET")
        if "bucketed_by" in props or "bucket_count" in props:
            raise StatementFailed("bucketed_by is not supported by the local endpoint")
        glue = self.client("glue")
        with accepting("EntityNotFoundException") as missing:
            glue.get_table(DatabaseName=db, Name=name)
        if not missing.code:
            raise StatementFailed(f"Table {db}.{name} already exists")
        location = props.get("external_location") or f"{results_dir}/tables/{self.query_id}"
        location = location.rstrip("/") + "/"
        bucket, prefix = s3_split(location)
        if self.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0):
            raise StatementFailed(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{db}.{name}' already exists: {location}"
            )
        keys = list(props.get("partitioned_by") or [])
        rows = self.engine.select(create.expression, database, con, scan)
        compression = str(props.get("write_compression", "GZIP")).lower()
        level = _compression_level(props.get("compression_level"), compression)
        _check_partition_columns(rows.table, keys)
        written = self._write(rows.table, location, keys, compression, level)
        columns = [{"Name": n, "Type": rows.glue_type(n)} for n in rows.table.column_names if n not in keys]
        glue.create_table(
            DatabaseName=db,
            TableInput={
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
                "PartitionKeys": [{"Name": k, "Type": rows.glue_type(k)} for k in keys],
                "StorageDescriptor": storage_descriptor(columns, location),
            },
        )
        self._add_partitions(db, name, columns, location, keys, written)
        return rows.table.num_rows

    def insert(self, insert: exp.Insert, database: str, con: duckdb.DuckDBPyConnection, scan: Scan) -> int:
        target = insert.this if isinstance(insert.this, exp.Table) else insert.this.this
        table = self.engine.table(target.db or database, target.name)
        data = self.engine.select(insert.expression, database, con, scan).table
        names = [c["Name"] for c in table.columns] + table.partition_keys
        if data.num_columns != len(names):
            raise StatementFailed(
                f"Insert query has mismatched column sizes: table has {len(names)} columns, "
                f"query has {data.num_columns}"
            )
        data = data.rename_columns(names)
        location = table.location.rstrip("/") + "/"
        written = self._write(data, location, table.partition_keys, "zstd")
        self._add_partitions(table.database, table.name, table.columns, location, table.partition_keys, written)
        return data.num_rows

    def create_external(self, create: exp.Create, database: str) -> None:
        schema = create.this
        if not isinstance(schema, exp.Schema):
            raise StatementFailed("CREATE TABLE needs a column list or AS SELECT")
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
            raise StatementFailed("the local endpoint creates external tables STORED AS PARQUET only")
        if not location:
            raise StatementFailed("CREATE EXTERNAL TABLE needs a LOCATION")
        columns = [column_def(c) for c in schema.expressions if isinstance(c, exp.ColumnDef)]
        table_input = {
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
            "PartitionKeys": [column_def(c) for c in partition_columns],
            "StorageDescriptor": storage_descriptor(columns, location),
        }
        with accepting("AlreadyExistsException") as exists:
            self.client("glue").create_table(DatabaseName=db, TableInput=table_input)
        if exists.code and not create.args.get("exists"):
            raise StatementFailed(f"Table {db}.{name} already exists")

    def alter(self, alter: exp.Alter, database: str) -> None:
        target = alter.this
        table = self.engine.table(target.db or database, target.name)
        for action in alter.args.get("actions") or []:
            if not isinstance(action, exp.AddPartition):
                raise StatementFailed(f"ALTER TABLE {action.key.upper()} is not supported by the local endpoint")
            spec = {eq.this.name: eq.expression.name for eq in action.this.expressions}
            missing = [k for k in table.partition_keys if k not in spec]
            if missing or set(spec) - set(table.partition_keys):
                raise StatementFailed(
                    f"partition spec {spec} does not match the partition keys {table.partition_keys} of {table.name}"
                )
            values = [spec[k] for k in table.partition_keys]
            location = action.args.get("location")
            if isinstance(location, exp.LocationProperty):
                where = location.this.name
            else:
                where = table.location.rstrip("/") + "/" + "".join(f"{k}={spec[k]}/" for k in table.partition_keys)
            with accepting("AlreadyExistsException") as exists:
                self.client("glue").create_partition(
                    DatabaseName=table.database,
                    TableName=table.name,
                    PartitionInput={"Values": values, "StorageDescriptor": storage_descriptor(table.columns, where)},
                )
            if exists.code and not action.args.get("exists"):
                raise StatementFailed(f"Partition already exists: {spec}")

    def drop(self, drop: exp.Drop, database: str) -> None:
        if (drop.args.get("kind") or "").upper() != "TABLE":
            raise StatementFailed(f"DROP {drop.args.get('kind')} is not supported by the local endpoint")
        target = (drop.args.get("tables") or [drop.this])[0]
        with accepting("EntityNotFoundException") as missing:
            self.client("glue").delete_table(DatabaseName=target.db or database, Name=target.name)
        if missing.code and not drop.args.get("exists"):
            raise StatementFailed(f"Table {target.db or database}.{target.name} does not exist")

    def _write(
        self, data: pa.Table, location: str, keys: list[str], compression: str, level: int | None = None
    ) -> list[list[str]]:
        """Parquet files under ``location``, one directory per partition; returns the partitions."""
        bucket, prefix = s3_split(location)
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
                sink = io.BytesIO()
                pq.write_table(part.slice(start, ROWS_PER_FILE), sink, compression=codec, compression_level=level)
                s3.put_object(Bucket=bucket, Key=f"{directory}{self.query_id}_{n:05d}.parquet", Body=sink.getvalue())
        return [values for values, _ in groups if values]

    def _add_partitions(
        self, db: str, name: str, columns: list[dict[str, str]], location: str, keys: list[str], partitions: list
    ) -> None:
        glue = self.client("glue")
        for values in partitions:
            where = location + "".join(f"{k}={v}/" for k, v in zip(keys, values, strict=True))
            with accepting("AlreadyExistsException"):
                glue.create_partition(
                    DatabaseName=db,
                    TableName=name,
                    PartitionInput={"Values": values, "StorageDescriptor": storage_descriptor(columns, where)},
                )


def _compression_level(value: Any, compression: str) -> int | None:
    """Athena's ``compression_level`` table property: ZSTD only, 1 to 22."""
    if value is None:
        return None
    if compression != "zstd":
        raise StatementFailed(f"compression_level is supported for ZSTD compression only, not {compression.upper()}")
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = 0
    if not 1 <= level <= 22:
        raise StatementFailed(f"compression_level must be between 1 and 22 for ZSTD, not {value!r}")
    return level


def _check_partition_columns(data: pa.Table, keys: list[str]) -> None:
    missing = [k for k in keys if k not in data.column_names]
    if missing:
        raise StatementFailed(f"Partition columns {missing} are not in the query's columns")
    if keys and data.column_names[-len(keys) :] != keys:
        raise StatementFailed(f"Partition columns {keys} must be the last columns of the SELECT, in that order")


def _partition_text(value: Any) -> str:
    return "__HIVE_DEFAULT_PARTITION__" if value is None else str(text(value))


def properties(create: exp.Create) -> dict[str, Any]:
    """The WITH (...) properties of a CTAS, by Athena's names."""
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


def storage_descriptor(columns: list[dict[str, str]], location: str) -> dict[str, Any]:
    return {
        "Columns": columns,
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
    }


def column_def(column: exp.ColumnDef) -> dict[str, str]:
    return {"Name": column.name, "Type": column.args["kind"].sql(dialect="hive").lower()}

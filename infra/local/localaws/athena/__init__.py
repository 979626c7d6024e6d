"""Athena on the laptop: Trino SQL translated by sqlglot and run by DuckDB, tables from Glue.

Supported: SELECT (with CTEs, joins, aggregates) over Parquet tables registered in Glue,
seeing only registered partitions and pruning them by WHERE conditions on partition
keys; CTAS with format, external_location, partitioned_by and write_compression;
INSERT INTO ... SELECT; CREATE EXTERNAL TABLE ... STORED AS PARQUET; ALTER TABLE ...
ADD PARTITION; DROP TABLE. Anything else fails the query with a reason, as Athena would.

One module per job: ``executions`` (the API and the store of query executions),
``worker`` (the process a query runs in), ``engine`` (SQL on DuckDB over the catalog's
files), ``ddl`` (what writes tables and partitions into Glue and S3), ``results`` (the
result set, as GetQueryResults and the CSV give it) and ``failures`` (how a call or a
query fails, in Athena's terms).
"""

from localaws.athena.executions import AthenaExecutor
from localaws.athena.failures import AthenaApiError, StatementFailed

__all__ = ["AthenaApiError", "AthenaExecutor", "StatementFailed"]

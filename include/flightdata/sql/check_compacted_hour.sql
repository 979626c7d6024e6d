{#- The run's plan (task "plan"): a staging table and location unique to this run and try, so a
    rerun never writes where a published hour lives. -#}
{%- set plan = ti.xcom_pull(task_ids="plan") -%}
-- Rows in the compacted hour against the committed minutely rows, read back and as the
-- commits recorded them; how many minutes of the hour were committed; and the curated
-- table's data checks (flightdata.checks.curated), a check_<name> column each.
WITH compacted AS (
    SELECT count(*) AS row_count FROM {{ fd.glue_database }}.{{ plan.staging_table }}
),
minutely AS (
    SELECT count(*) AS row_count
    FROM {{ fd.committed('processed', plan.partition_filter) }} AS committed
),
commits AS (
    SELECT sum(valid) AS row_count, count(DISTINCT snapshot_time) AS minutes
    FROM {{ fd.table('commits') }}
    WHERE {{ plan.partition_filter }}
)
SELECT
    compacted.row_count AS compacted_rows,
    minutely.row_count AS minutely_rows,
    commits.row_count AS committed_rows,
    commits.minutes AS committed_minutes,
    checks.*
FROM compacted
CROSS JOIN minutely
CROSS JOIN commits
CROSS JOIN ({{ fd.data_checks('curated', plan) }}) AS checks

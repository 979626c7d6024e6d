{%- set plan = ti.xcom_pull(task_ids="plan") -%}
-- Rows in the compacted hour against rows in that hour's minutely files.
WITH compacted AS (
    SELECT count(*) AS row_count FROM {{ fd.glue_database }}.{{ plan.staging_table }}
),
minutely AS (
    SELECT count(*) AS row_count
    FROM {{ fd.committed('processed', plan.partition_filter) }} AS committed
)
SELECT compacted.row_count AS compacted_rows, minutely.row_count AS minutely_rows
FROM compacted
CROSS JOIN minutely

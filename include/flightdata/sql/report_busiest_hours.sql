{%- set report = ti.xcom_pull(task_ids="plan") -%}
-- Distinct aircraft and snapshots per hour of the day.
SELECT
    hour,
    count(DISTINCT icao24) AS aircraft,
    count(DISTINCT snapshot_time) AS snapshots
FROM {{ fd.glue_database }}.curated_hourly
WHERE {{ report.partition_filter }}
GROUP BY hour
ORDER BY aircraft DESC, hour

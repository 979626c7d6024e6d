-- Per hour: how many minutes were committed, of the minutes the credit plan fetches (60
-- without an OpenSky tier; the hourly compaction's HourCompleteness divides by the same),
-- and whether the curated hour holds exactly the valid rows its commits recorded. A late
-- minute that was not yet recompacted, or an hour never compacted, shows as not reconciled.
WITH committed AS (
    SELECT hour, count(DISTINCT snapshot_time) AS minutes_present, sum(valid) AS committed_rows
    FROM {{ fd.table('commits') }}
    WHERE {{ fd.report_day_filter() }}
    GROUP BY hour
),
curated AS (
    SELECT hour, count(*) AS curated_rows
    FROM {{ fd.table('curated') }}
    WHERE {{ fd.report_day_filter() }}
    GROUP BY hour
)
SELECT
    committed.hour,
    committed.minutes_present,
    planned.minutes_planned,
    coalesce(round(least(100.0, 100.0 * committed.minutes_present / nullif(planned.minutes_planned, 0)), 2), 100.0)
        AS completeness_pct,
    committed.committed_rows,
    coalesce(curated.curated_rows, 0) AS curated_rows,
    committed.committed_rows = coalesce(curated.curated_rows, 0) AS reconciled
FROM committed
JOIN {{ fd.planned_minutes_by_hour }} ON committed.hour = planned.hour
LEFT JOIN curated ON committed.hour = curated.hour
ORDER BY committed.hour

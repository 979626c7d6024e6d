-- Distinct aircraft and snapshots per hour of the day.
SELECT
    hour,
    count(DISTINCT icao24) AS aircraft,
    count(DISTINCT snapshot_time) AS snapshots
FROM {{ fd.table('curated') }}
WHERE {{ fd.report_day_filter() }}
GROUP BY hour
ORDER BY aircraft DESC, hour

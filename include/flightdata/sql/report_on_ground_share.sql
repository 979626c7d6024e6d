-- Share of state vectors reported from the ground, per hour.
SELECT
    hour,
    round(100.0 * count_if(on_ground) / count(*), 2) AS on_ground_pct,
    count(*) AS state_vectors
FROM {{ fd.table('curated') }}
WHERE {{ fd.report_day_filter() }}
GROUP BY hour
ORDER BY hour

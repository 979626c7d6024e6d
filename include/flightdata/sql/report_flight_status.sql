-- State vectors and aircraft by flight status over the day: airborne, on the ground, or
-- unknown (no surface/airborne flag sent). The seed README's "Flight Status Distribution".
SELECT
    CASE WHEN on_ground IS NULL THEN 'unknown' WHEN on_ground THEN 'on ground' ELSE 'airborne' END AS status,
    count(*) AS state_vectors,
    count(DISTINCT icao24) AS aircraft
FROM {{ fd.table('curated') }}
WHERE {{ fd.report_day_filter() }}
GROUP BY 1
ORDER BY state_vectors DESC, status

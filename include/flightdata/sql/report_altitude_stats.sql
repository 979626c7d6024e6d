-- Barometric altitude of airborne state vectors over the day, in feet: average, median
-- (Athena's approx_percentile) and highest. The seed README's "Altitude Analysis".
WITH airborne AS (
    SELECT baro_altitude_ft
    FROM {{ fd.table('curated') }}
    WHERE {{ fd.report_day_filter() }} AND NOT on_ground AND baro_altitude_ft IS NOT NULL
),
statistics AS (
    SELECT 1 AS position, 'average' AS statistic, round(avg(baro_altitude_ft)) AS altitude_ft FROM airborne
    UNION ALL
    SELECT 2, 'median', round(approx_percentile(baro_altitude_ft, 0.5)) FROM airborne
    UNION ALL
    SELECT 3, 'highest', round(max(baro_altitude_ft)) FROM airborne
)
SELECT statistic, altitude_ft
FROM statistics
WHERE altitude_ft IS NOT NULL
ORDER BY position

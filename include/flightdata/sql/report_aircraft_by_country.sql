-- Aircraft (not flights) seen per origin country over the day, with their typical altitude and speed.
WITH day_positions AS (
    SELECT icao24, origin_country, baro_altitude_ft, velocity
    FROM {{ fd.table('curated') }}
    WHERE {{ fd.report_day_filter() }}
)
SELECT
    origin_country,
    count(DISTINCT icao24) AS aircraft,
    count(*) AS state_vectors,
    round(avg(baro_altitude_ft)) AS avg_altitude_ft,
    round(avg(velocity), 1) AS avg_speed_ms
FROM day_positions
GROUP BY origin_country
ORDER BY aircraft DESC, origin_country
LIMIT 20

-- Flights by the country their aircraft's ICAO address belongs to.
SELECT
    origin_country,
    count(*) AS flights,
    count(DISTINCT icao24) AS aircraft,
    round(avg(distance_km)) AS average_distance_km
FROM {{ fd.table('flights') }}
WHERE {{ fd.report_day_filter() }}
GROUP BY origin_country
ORDER BY flights DESC, origin_country
LIMIT 20

-- Routes (estimated departure to arrival airport) by flights, with the distance flown.
SELECT
    departure_airport || ' → ' || arrival_airport AS route,
    count(*) AS flights,
    round(avg(distance_km)) AS average_distance_km
FROM {{ fd.table('flights') }}
WHERE {{ fd.report_day_filter() }} AND departure_airport IS NOT NULL AND arrival_airport IS NOT NULL
GROUP BY 1
ORDER BY flights DESC, route
LIMIT 20

-- Airports by movements (departures plus arrivals) of the day's flights, with their position
-- for the map.
WITH movements AS (
    SELECT departure_airport AS icao, 1 AS departures, 0 AS arrivals
    FROM {{ fd.table('flights') }}
    WHERE {{ fd.report_day_filter() }} AND departure_airport IS NOT NULL
    UNION ALL
    SELECT arrival_airport, 0, 1
    FROM {{ fd.table('flights') }}
    WHERE {{ fd.report_day_filter() }} AND arrival_airport IS NOT NULL
)
SELECT
    m.icao AS airport,
    max(a.name) AS name,
    max(a.country) AS country,
    sum(m.departures) AS departures,
    sum(m.arrivals) AS arrivals,
    sum(m.departures + m.arrivals) AS movements,
    max(a.latitude) AS latitude,
    max(a.longitude) AS longitude
FROM movements AS m
LEFT JOIN {{ fd.table('reference/airports') }} AS a ON a.icao = m.icao
GROUP BY m.icao
ORDER BY movements DESC, airport
LIMIT 20

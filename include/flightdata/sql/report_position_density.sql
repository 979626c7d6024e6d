-- Where the traffic was: positions over the day in 2-degree cells (the map).
SELECT
    CAST(floor(latitude / 2) * 2 AS integer) AS cell_latitude,
    CAST(floor(longitude / 2) * 2 AS integer) AS cell_longitude,
    count(*) AS positions
FROM {{ fd.table('curated') }}
WHERE {{ fd.report_day_filter() }} AND latitude IS NOT NULL AND longitude IS NOT NULL
GROUP BY 1, 2
ORDER BY positions DESC, cell_latitude, cell_longitude

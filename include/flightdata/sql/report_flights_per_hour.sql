-- Flights by the UTC hour they took off (their first airborne contact), and how many of them
-- were seen from takeoff to landing.
SELECT
    lpad(CAST(hour(from_unixtime(takeoff_seen)) AS varchar), 2, '0') AS hour,
    count(*) AS flights,
    count_if(seen_from_takeoff AND seen_to_landing) AS seen_whole
FROM {{ fd.table('flights') }}
WHERE {{ fd.report_day_filter() }}
GROUP BY 1
ORDER BY 1

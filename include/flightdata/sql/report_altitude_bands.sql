-- State vectors of airborne aircraft per altitude band (feet, as the bands are usually quoted).
WITH airborne AS (
    SELECT baro_altitude_ft
    FROM {{ fd.table('curated') }}
    WHERE {{ fd.report_day_filter() }}
        AND NOT on_ground
        AND baro_altitude_ft IS NOT NULL
),
banded AS (
    SELECT
        CASE
            WHEN baro_altitude_ft < 10000 THEN 1
            WHEN baro_altitude_ft < 30000 THEN 2
            WHEN baro_altitude_ft < 50000 THEN 3
            ELSE 4
        END AS band_order
    FROM airborne
)
SELECT
    CASE band_order
        WHEN 1 THEN 'Low (0-10k ft)'
        WHEN 2 THEN 'Medium (10-30k ft)'
        WHEN 3 THEN 'High (30-50k ft)'
        ELSE 'Very high (50k+ ft)'
    END AS altitude_band,
    count(*) AS state_vectors
FROM banded
GROUP BY band_order
ORDER BY band_order

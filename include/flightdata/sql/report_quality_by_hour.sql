-- Valid against quarantined state vectors per hour, of committed snapshots: the day's data quality.
WITH valid AS (
    SELECT hour, count(*) AS valid_rows
    FROM {{ fd.committed('processed', fd.report_day_filter()) }} AS committed
    GROUP BY hour
),
quarantined AS (
    SELECT hour, count(*) AS quarantined_rows
    FROM {{ fd.committed('quarantine', fd.report_day_filter()) }} AS committed
    GROUP BY hour
)
SELECT
    valid.hour,
    valid.valid_rows,
    coalesce(quarantined.quarantined_rows, 0) AS quarantined_rows,
    round(
        100.0 * valid.valid_rows / (valid.valid_rows + coalesce(quarantined.quarantined_rows, 0)), 2
    ) AS quality_score_pct
FROM valid
LEFT JOIN quarantined ON valid.hour = quarantined.hour
ORDER BY valid.hour

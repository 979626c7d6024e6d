{#- The run's plan (task "plan", key "flights"): the day, the window of positions around it,
    and a staging table and location unique to this run, so a rerun never writes where a
    published day lives. The thresholds are flightdata.orchestration.flights' constants. -#}
{%- set plan = ti.xcom_pull(task_ids="plan")["flights"] -%}
-- Flights of one UTC day, segmented from the curated state vectors: one row per flight.
-- A flight ends where contact is lost for more than {{ plan.gap_s }} s, where the callsign
-- changes, or where the aircraft takes off again after landing. It belongs to the day of its
-- first airborne contact; positions from the hour before the day and the hours after it
-- let flights that cross midnight start and end where they really do, and be counted once.
CREATE TABLE {{ fd.glue_database }}.{{ plan.staging_table }}
WITH (
    format = 'PARQUET',
    write_compression = 'ZSTD',
    external_location = '{{ plan.staging_location }}'
) AS
WITH positions AS (
    -- One row per contact: consecutive snapshots repeat a contact until a new one arrives.
    SELECT icao24, callsign, origin_country, seen, latitude, longitude, baro_altitude, on_ground, velocity,
        vertical_rate
    FROM (
        SELECT
            icao24, callsign, origin_country, last_contact AS seen,
            CAST(latitude AS double) AS latitude, CAST(longitude AS double) AS longitude,
            baro_altitude, coalesce(on_ground, false) AS on_ground, velocity, vertical_rate,
            row_number() OVER (PARTITION BY icao24, last_contact ORDER BY snapshot_time) AS copy
        FROM {{ fd.table('curated') }}
        WHERE ({{ plan.window_filter }})
            AND last_contact >= {{ plan.window_start }} AND last_contact < {{ plan.window_end }}
            AND latitude IS NOT NULL AND longitude IS NOT NULL
    ) AS contacts
    WHERE copy = 1
),
contact AS (
    -- Stretches of continuous contact: a new one after a gap longer than the threshold.
    SELECT *, sum(CASE WHEN gap_s IS NULL OR gap_s > {{ plan.gap_s }} THEN 1 ELSE 0 END)
        OVER (PARTITION BY icao24 ORDER BY seen ROWS UNBOUNDED PRECEDING) AS stretch
    FROM (SELECT *, seen - lag(seen) OVER (PARTITION BY icao24 ORDER BY seen) AS gap_s FROM positions) AS stepped
),
signed AS (
    -- Within a stretch, a callsign that differs from the last one sent starts a new leg; a
    -- missing callsign (not yet set, or never sent) changes nothing.
    SELECT *, sum(CASE WHEN callsign <> previous_callsign THEN 1 ELSE 0 END)
        OVER (PARTITION BY icao24, stretch ORDER BY seen ROWS UNBOUNDED PRECEDING) AS leg
    FROM (
        SELECT *, lag(callsign) IGNORE NULLS OVER (PARTITION BY icao24, stretch ORDER BY seen) AS previous_callsign
        FROM contact
    ) AS named
),
legs AS (
    -- Within a leg, each takeoff after the first starts a new flight: the ground before the
    -- first takeoff is its taxi out, the ground after a landing belongs to that landing.
    SELECT *, greatest(1, sum(CASE WHEN NOT on_ground AND was_on_ground THEN 1 ELSE 0 END)
        OVER (PARTITION BY icao24, stretch, leg ORDER BY seen ROWS UNBOUNDED PRECEDING)) AS hop
    FROM (
        SELECT *, lag(on_ground) OVER (PARTITION BY icao24, stretch, leg ORDER BY seen) AS was_on_ground
        FROM signed
    ) AS grounded
),
steps AS (
    -- Each position with its flight's first and last airborne contact, and the distance from
    -- the position before.
    SELECT *,
        min(CASE WHEN NOT on_ground THEN seen END) OVER (PARTITION BY icao24, stretch, leg, hop) AS first_airborne,
        max(CASE WHEN NOT on_ground THEN seen END) OVER (PARTITION BY icao24, stretch, leg, hop) AS last_airborne,
        {{ fd.great_circle_km('previous_latitude', 'previous_longitude', 'latitude', 'longitude') }} AS step_km,
        NOT on_ground AND baro_altitude < {{ plan.low_altitude_m }} AND velocity < {{ plan.slow_ms }} AS low_and_slow
    FROM (
        SELECT *,
            lag(latitude) OVER (PARTITION BY icao24, stretch, leg, hop ORDER BY seen) AS previous_latitude,
            lag(longitude) OVER (PARTITION BY icao24, stretch, leg, hop ORDER BY seen) AS previous_longitude
        FROM legs
    ) AS paired
),
flights AS (
    SELECT
        icao24, stretch, leg, hop,
        max(callsign) AS callsign,
        max(origin_country) AS origin_country,
        min(seen) AS first_seen,
        max(seen) AS last_seen,
        min(seen) FILTER (WHERE NOT on_ground) AS takeoff_seen,
        coalesce(sum(step_km), 0) AS distance_km,
        max(baro_altitude) AS max_altitude_m,
        count(*) AS positions,
        -- The departure evidence: the first ground contact before takeoff, else the lowest
        -- contact low, slow and climbing soon after it; the arrival evidence mirrors it.
        min_by(latitude, CASE WHEN on_ground THEN seen - first_airborne ELSE 100000 + baro_altitude END)
            FILTER (WHERE near_departure) AS departure_latitude,
        min_by(longitude, CASE WHEN on_ground THEN seen - first_airborne ELSE 100000 + baro_altitude END)
            FILTER (WHERE near_departure) AS departure_longitude,
        bool_or(on_ground) FILTER (WHERE near_departure) AS departure_on_ground,
        min_by(latitude, CASE WHEN on_ground THEN last_airborne - seen ELSE 100000 + baro_altitude END)
            FILTER (WHERE near_arrival) AS arrival_latitude,
        min_by(longitude, CASE WHEN on_ground THEN last_airborne - seen ELSE 100000 + baro_altitude END)
            FILTER (WHERE near_arrival) AS arrival_longitude,
        bool_or(on_ground) FILTER (WHERE near_arrival) AS arrival_on_ground
    FROM (
        SELECT *,
            (on_ground AND seen < first_airborne) OR (low_and_slow AND vertical_rate > 0
                AND seen <= first_airborne + {{ plan.end_window_s }}) AS near_departure,
            (on_ground AND seen > last_airborne) OR (low_and_slow AND vertical_rate < 0
                AND seen >= last_airborne - {{ plan.end_window_s }}) AS near_arrival
        FROM steps
    ) AS evidence
    GROUP BY icao24, stretch, leg, hop
    -- A flight has flown, and took off (or was first seen airborne) on the day.
    HAVING min(seen) FILTER (WHERE NOT on_ground) >= {{ plan.day_start }}
        AND min(seen) FILTER (WHERE NOT on_ground) < {{ plan.day_end }}
),
airport_cells AS (
    -- Each airport in its grid cell and the eight around it, so that one equality join finds
    -- every airport within a cell of a point.
    SELECT icao, latitude, longitude,
        CAST(floor(latitude / {{ plan.cell_deg }}) AS bigint) + dy AS cell_y,
        CAST(floor(longitude / {{ plan.cell_deg }}) AS bigint) + dx AS cell_x
    FROM {{ fd.table('reference/airports') }}
    CROSS JOIN (VALUES (-1), (0), (1)) AS rows_offset (dy)
    CROSS JOIN (VALUES (-1), (0), (1)) AS columns_offset (dx)
),
ends AS (
    SELECT icao24, stretch, leg, hop, 'departure' AS side, departure_latitude AS latitude,
        departure_longitude AS longitude, departure_on_ground AS on_ground
    FROM flights WHERE departure_latitude IS NOT NULL
    UNION ALL
    SELECT icao24, stretch, leg, hop, 'arrival', arrival_latitude, arrival_longitude, arrival_on_ground
    FROM flights WHERE arrival_latitude IS NOT NULL
),
candidates AS (
    SELECT e.icao24, e.stretch, e.leg, e.hop, e.side, e.on_ground, a.icao,
        {{ fd.great_circle_km('e.latitude', 'e.longitude', 'a.latitude', 'a.longitude') }} AS km
    FROM ends AS e
    JOIN airport_cells AS a
        ON a.cell_y = CAST(floor(e.latitude / {{ plan.cell_deg }}) AS bigint)
        AND a.cell_x = CAST(floor(e.longitude / {{ plan.cell_deg }}) AS bigint)
),
nearest AS (
    -- The nearest airport, if it is close enough: on the ground the aircraft is on it; low
    -- and slow it may still be some way out on the approach or climb.
    SELECT icao24, stretch, leg, hop, side, min_by(icao, km) AS icao, min(km) AS km
    FROM candidates
    WHERE km <= CASE WHEN on_ground THEN {{ plan.ground_radius_km }} ELSE {{ plan.low_radius_km }} END
    GROUP BY icao24, stretch, leg, hop, side
)
SELECT
    f.icao24,
    f.callsign,
    f.origin_country,
    CAST(f.first_seen AS bigint) AS first_seen,
    CAST(f.last_seen AS bigint) AS last_seen,
    CAST(f.takeoff_seen AS bigint) AS takeoff_seen,
    d.icao AS departure_airport,
    a.icao AS arrival_airport,
    CAST(round(d.km, 3) AS double) AS departure_distance_km,
    CAST(round(a.km, 3) AS double) AS arrival_distance_km,
    CAST(round(f.distance_km, 3) AS double) AS distance_km,
    CAST(f.max_altitude_m AS real) AS max_altitude_m,
    CAST(f.positions AS bigint) AS positions,
    f.departure_latitude IS NOT NULL AS seen_from_takeoff,
    f.arrival_latitude IS NOT NULL AS seen_to_landing
FROM flights AS f
LEFT JOIN nearest AS d
    ON d.side = 'departure' AND d.icao24 = f.icao24 AND d.stretch = f.stretch AND d.leg = f.leg AND d.hop = f.hop
LEFT JOIN nearest AS a
    ON a.side = 'arrival' AND a.icao24 = f.icao24 AND a.stretch = f.stretch AND a.leg = f.leg AND a.hop = f.hop
ORDER BY f.takeoff_seen, f.icao24

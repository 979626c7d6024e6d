{#- The run's plan (task "plan", key "flights"): the day, the window of positions around it,
    and a staging table and location unique to this run, so a rerun never writes where a
    published day lives. The thresholds are flightdata.orchestration.flights' constants. -#}
{%- set plan = ti.xcom_pull(task_ids="plan")["flights"] -%}
{#- Window specifications used more than once, spelled out in each OVER clause. -#}
{%- set aircraft = "PARTITION BY icao24 ORDER BY seen" -%}
{%- set flight = "PARTITION BY icao24, stretch, leg, hop" -%}
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
    SELECT icao24, callsign, origin_country, seen, positioned, latitude, longitude, baro_altitude, on_ground,
        velocity, vertical_rate, true_track
    FROM (
        SELECT
            icao24, callsign, origin_country, last_contact AS seen, coalesce(time_position, last_contact) AS positioned,
            CAST(latitude AS double) AS latitude, CAST(longitude AS double) AS longitude,
            baro_altitude, coalesce(on_ground, false) AS on_ground, velocity, vertical_rate, true_track,
            row_number() OVER (PARTITION BY icao24, last_contact ORDER BY snapshot_time) AS copy
        FROM {{ fd.table('curated') }}
        WHERE ({{ plan.window_filter }})
            AND last_contact >= {{ plan.window_start }} AND last_contact < {{ plan.window_end }}
            AND latitude IS NOT NULL AND longitude IS NOT NULL
    ) AS contacts
    WHERE copy = 1
),
paced AS (
    -- The speed over ground from this contact's position to the next contact's and from the
    -- one before's, the slower of the two, when their position times are 1 to
    -- {{ plan.pace_s }} s apart: a transponder that sends no speed still moves, and one that
    -- sends a stale speed does not. A contact that repeats the last position (no new
    -- position report) has none.
    SELECT *, least(coalesce(onward_ms, inward_ms), coalesce(inward_ms, onward_ms)) AS moved_ms
    FROM (
        SELECT *,
            CASE WHEN next_positioned - positioned BETWEEN 1 AND {{ plan.pace_s }}
                THEN 1000 * {{ fd.great_circle_km('latitude', 'longitude', 'next_latitude', 'next_longitude') }}
                    / (next_positioned - positioned)
            END AS onward_ms,
            CASE WHEN positioned - previous_positioned BETWEEN 1 AND {{ plan.pace_s }}
                THEN 1000 * {{ fd.great_circle_km('previous_latitude', 'previous_longitude', 'latitude', 'longitude') }}
                    / (positioned - previous_positioned)
            END AS inward_ms
        FROM (
            SELECT *,
                lead(positioned) OVER ({{ aircraft }}) AS next_positioned,
                lead(latitude) OVER ({{ aircraft }}) AS next_latitude,
                lead(longitude) OVER ({{ aircraft }}) AS next_longitude,
                lag(positioned) OVER ({{ aircraft }}) AS previous_positioned,
                lag(latitude) OVER ({{ aircraft }}) AS previous_latitude,
                lag(longitude) OVER ({{ aircraft }}) AS previous_longitude
            FROM positions
        ) AS neighbours
    ) AS timed
),
trusted AS (
    -- A contact that says "airborne" but stands still (slower than {{ plan.standing_ms }} m/s
    -- by its positions, else by its speed) is not flying: a parked transponder's airborne
    -- bit, with altitudes like 35,000 ft or -70 m. It stays as it is in the curated table;
    -- here it is a ground contact without an altitude.
    SELECT icao24, callsign, origin_country, seen, latitude, longitude, velocity, vertical_rate, true_track,
        standing OR on_ground AS on_ground, CASE WHEN standing THEN NULL ELSE baro_altitude END AS baro_altitude,
        moved_ms
    FROM (SELECT *, NOT on_ground AND coalesce(moved_ms, velocity, 0) < {{ plan.standing_ms }} AS standing FROM paced) AS p
),
contact AS (
    -- Stretches of continuous contact: a new one after a gap longer than the threshold.
    SELECT *, sum(CASE WHEN gap_s IS NULL OR gap_s > {{ plan.gap_s }} THEN 1 ELSE 0 END)
        OVER (PARTITION BY icao24 ORDER BY seen ROWS UNBOUNDED PRECEDING) AS stretch
    FROM (SELECT *, seen - lag(seen) OVER (PARTITION BY icao24 ORDER BY seen) AS gap_s FROM trusted) AS stepped
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
    -- Within a leg, a flight starts at each takeoff, and at the first contact when it is
    -- airborne; the ground before the first takeoff is its taxi out, the ground after a
    -- landing belongs to that landing.
    SELECT *, greatest(1, sum(CASE WHEN NOT on_ground AND coalesce(was_on_ground, true) THEN 1 ELSE 0 END)
        OVER (PARTITION BY icao24, stretch, leg ORDER BY seen ROWS UNBOUNDED PRECEDING)) AS hop
    FROM (
        SELECT *, lag(on_ground) OVER (PARTITION BY icao24, stretch, leg ORDER BY seen) AS was_on_ground
        FROM signed
    ) AS grounded
),
steps AS (
    -- Each position with its flight's first and last airborne contact, the distance from the
    -- position before, and the altitude's rate of change towards the next airborne contact
    -- and from the one before (m/s, within {{ plan.pace_s }} s).
    SELECT *,
        CASE WHEN next_airborne_seen - seen BETWEEN 1 AND {{ plan.pace_s }}
            THEN (next_altitude - baro_altitude) / (next_airborne_seen - seen) END AS rising_ms,
        CASE WHEN seen - previous_airborne_seen BETWEEN 1 AND {{ plan.pace_s }}
            THEN (previous_altitude - baro_altitude) / (seen - previous_airborne_seen) END AS falling_ms,
        {{ fd.great_circle_km('previous_latitude', 'previous_longitude', 'latitude', 'longitude') }} AS step_km
    FROM (
        SELECT *,
            min(CASE WHEN NOT on_ground THEN seen END) OVER ({{ flight }}) AS first_airborne,
            max(CASE WHEN NOT on_ground THEN seen END) OVER ({{ flight }}) AS last_airborne,
            lag(latitude) OVER ({{ flight }} ORDER BY seen) AS previous_latitude,
            lag(longitude) OVER ({{ flight }} ORDER BY seen) AS previous_longitude,
            lead(baro_altitude) IGNORE NULLS OVER ({{ flight }} ORDER BY seen) AS next_altitude,
            lead(CASE WHEN baro_altitude IS NOT NULL THEN seen END) IGNORE NULLS
                OVER ({{ flight }} ORDER BY seen) AS next_airborne_seen,
            lag(baro_altitude) IGNORE NULLS OVER ({{ flight }} ORDER BY seen) AS previous_altitude,
            lag(CASE WHEN baro_altitude IS NOT NULL THEN seen END) IGNORE NULLS
                OVER ({{ flight }} ORDER BY seen) AS previous_airborne_seen
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
        -- The departure evidence: the ground contact just before takeoff, else the lowest
        -- contact slow and climbing soon after it; the arrival evidence mirrors it.
        {%- for side, ground_order, air in [
            ('departure', 'first_airborne - seen', 'near_departure'),
            ('arrival', 'seen - last_airborne', 'near_arrival')] %}
        {%- for column in ['latitude', 'longitude', 'baro_altitude', 'true_track'] %}
        min_by({{ column }}, CASE WHEN on_ground THEN {{ ground_order }} ELSE 100000 + baro_altitude END)
            FILTER (WHERE {{ air }}) AS {{ side }}_{{ column }},
        {%- endfor %}
        bool_or(on_ground) FILTER (WHERE {{ air }}) AS {{ side }}_on_ground{{ ',' if side == 'departure' }}
        {%- endfor %}
    FROM (
        SELECT *,
            (on_ground AND seen < first_airborne) OR (slow AND baro_altitude < {{ plan.evidence_altitude_m }}
                AND coalesce(rising_ms, vertical_rate) > {{ plan.climb_ms }}
                AND seen <= first_airborne + {{ plan.end_window_s }}) AS near_departure,
            (on_ground AND seen > last_airborne) OR (slow AND baro_altitude < {{ plan.evidence_altitude_m }}
                AND coalesce(falling_ms, -vertical_rate) > {{ plan.climb_ms }}
                AND seen >= last_airborne - {{ plan.end_window_s }}) AS near_arrival
        FROM (SELECT *, NOT on_ground AND coalesce(velocity, moved_ms) < {{ plan.slow_ms }} AS slow FROM steps) AS paced
    ) AS evidence
    GROUP BY icao24, stretch, leg, hop
    -- A flight has flown, and took off (or was first seen airborne) on the day.
    HAVING min(seen) FILTER (WHERE NOT on_ground) >= {{ plan.day_start }}
        AND min(seen) FILTER (WHERE NOT on_ground) < {{ plan.day_end }}
),
ends AS (
    SELECT icao24, stretch, leg, hop, 'departure' AS side, departure_latitude AS latitude,
        departure_longitude AS longitude, departure_baro_altitude AS altitude, departure_true_track AS track,
        departure_on_ground AS on_ground
    FROM flights WHERE departure_latitude IS NOT NULL
    UNION ALL
    SELECT icao24, stretch, leg, hop, 'arrival', arrival_latitude, arrival_longitude, arrival_baro_altitude,
        arrival_true_track, arrival_on_ground
    FROM flights WHERE arrival_latitude IS NOT NULL
),
runway_cells AS (
    -- Each runway direction in the grid cell of its threshold and the eight around it, so
    -- that one equality join finds every runway within a cell of a point.
    SELECT r.*,
        CAST(floor(latitude / {{ plan.cell_deg }}) AS bigint) + dy AS cell_y,
        CAST(floor(longitude / {{ plan.cell_deg }}) AS bigint) + dx AS cell_x
    FROM {{ fd.table('reference/runways') }} AS r
    CROSS JOIN (VALUES (-1), (0), (1)) AS rows_offset (dy)
    CROSS JOIN (VALUES (-1), (0), (1)) AS columns_offset (dx)
),
projected AS (
    -- Each end in each nearby runway direction's frame (km): how far along its direction
    -- from the threshold, how far to the side of its centreline, and the turn (degrees)
    -- between the end's track and the runway's heading.
    SELECT *,
        east * sin(radians(heading_deg)) + north * cos(radians(heading_deg)) AS along_km,
        abs(east * cos(radians(heading_deg)) - north * sin(radians(heading_deg))) AS cross_km
    FROM (
        SELECT e.*, r.airport, r.heading_deg, r.length_m / 1000 AS length_km,
            greatest(coalesce(e.altitude, r.elevation_m) - r.elevation_m, 0) AS height_m,
            abs(((e.track - r.heading_deg + 540) % 360) - 180) AS turn_deg,
            (e.longitude - r.longitude) * 111.32 * cos(radians(r.latitude)) AS east,
            (e.latitude - r.latitude) * 110.574 AS north
        FROM ends AS e
        JOIN runway_cells AS r
            ON r.cell_y = CAST(floor(e.latitude / {{ plan.cell_deg }}) AS bigint)
            AND r.cell_x = CAST(floor(e.longitude / {{ plan.cell_deg }}) AS bigint)
    ) AS framed
),
runway_fits AS (
    -- The runway directions an end fits, and how far it is from the runway (km): on the
    -- ground near the runway; airborne and low, in the funnel along its line, headed its
    -- way, and where a plausible climb or descent puts it (the rule and its thresholds are
    -- explained in flightdata.orchestration.flights).
    SELECT icao24, stretch, leg, hop, side, airport,
        CASE
            WHEN on_ground THEN sqrt(power(cross_km, 2) + power(greatest(-along_km, along_km - length_km, 0), 2))
            ELSE cross_km
        END AS km
    FROM projected
    WHERE CASE
        WHEN on_ground THEN
            sqrt(power(cross_km, 2) + power(greatest(-along_km, along_km - length_km, 0), 2)) <= {{ plan.ground_km }}
        WHEN height_m > {{ plan.low_altitude_m }} OR coalesce(turn_deg, 0) > {{ plan.max_turn_deg }} THEN false
        WHEN side = 'departure' THEN
            along_km >= height_m / 1000 / {{ plan.steepest_gradient }}
            AND along_km <= length_km + height_m / 1000 / {{ plan.shallowest_gradient }}
            AND cross_km <= {{ plan.funnel_km }} + {{ plan.funnel_slope }} * greatest(along_km - length_km, 0)
        ELSE
            along_km <= length_km
            AND -along_km <= height_m / 1000 / {{ plan.shallowest_gradient }} + {{ plan.funnel_km }}
            AND cross_km <= {{ plan.funnel_km }} + {{ plan.funnel_slope }} * greatest(-along_km, 0)
    END
),
airport_cells AS (
    -- The fallback, for ends no runway fits: airports in their grid cell and the eight around it.
    SELECT icao, latitude, longitude, elevation_ft,
        CAST(floor(latitude / {{ plan.cell_deg }}) AS bigint) + dy AS cell_y,
        CAST(floor(longitude / {{ plan.cell_deg }}) AS bigint) + dx AS cell_x
    FROM {{ fd.table('reference/airports') }}
    CROSS JOIN (VALUES (-1), (0), (1)) AS rows_offset (dy)
    CROSS JOIN (VALUES (-1), (0), (1)) AS columns_offset (dx)
),
point_fits AS (
    -- Within {{ plan.ground_radius_km }} km of an airport's reference point on the ground,
    -- {{ plan.low_radius_km }} km when at most {{ plan.low_altitude_m }} m above it.
    SELECT * FROM (
        SELECT e.icao24, e.stretch, e.leg, e.hop, e.side, a.icao AS airport,
            {{ fd.great_circle_km('e.latitude', 'e.longitude', 'a.latitude', 'a.longitude') }} AS km,
            e.on_ground, coalesce(e.altitude, 0) - a.elevation_ft * 0.3048 AS height_m
        FROM ends AS e
        JOIN airport_cells AS a
            ON a.cell_y = CAST(floor(e.latitude / {{ plan.cell_deg }}) AS bigint)
            AND a.cell_x = CAST(floor(e.longitude / {{ plan.cell_deg }}) AS bigint)
    ) AS measured
    WHERE km <= CASE WHEN on_ground THEN {{ plan.ground_radius_km }} ELSE {{ plan.low_radius_km }} END
        AND (on_ground OR height_m <= {{ plan.low_altitude_m }})
),
nearest AS (
    -- The best runway fit (nearest its centreline); the nearest reference point only when
    -- no runway fits.
    SELECT icao24, stretch, leg, hop, side, min_by(airport, rank) AS icao, min_by(km, rank) AS km
    FROM (
        SELECT icao24, stretch, leg, hop, side, airport, km, km AS rank FROM runway_fits
        UNION ALL
        SELECT icao24, stretch, leg, hop, side, airport, km, 1000 + km FROM point_fits
    ) AS fits
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
    coalesce(f.departure_on_ground, false) OR d.icao IS NOT NULL AS seen_from_takeoff,
    coalesce(f.arrival_on_ground, false) OR a.icao IS NOT NULL AS seen_to_landing
FROM flights AS f
LEFT JOIN nearest AS d
    ON d.side = 'departure' AND d.icao24 = f.icao24 AND d.stretch = f.stretch AND d.leg = f.leg AND d.hop = f.hop
LEFT JOIN nearest AS a
    ON a.side = 'arrival' AND a.icao24 = f.icao24 AND a.stretch = f.stretch AND a.leg = f.leg AND a.hop = f.hop
ORDER BY f.takeoff_seen, f.icao24

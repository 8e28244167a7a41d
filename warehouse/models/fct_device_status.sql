-- grain: one device (device_id) on one day (status_date)
-- patch: from status_date, per device_id
-- Sensors: a row for every day from installation (or the first day with any
-- sensor data) to data_through, online when the device sent any reading that
-- day. Video feeds: the days their platform reported, from fct_video_status.
WITH sensor_days AS (
    SELECT device_id, CAST(hour AS DATE) AS status_date, sum(readings) AS readings
    FROM fct_sensor_hourly
    GROUP BY ALL
),
sensor_spans AS (
    SELECT
        d.device_id,
        d.kind,
        d.community_id,
        d.grid_id,
        greatest(coalesce(d.installed_on, first.first_day), first.first_day) AS first_day,
        r.data_through AS last_day
    FROM dim_device AS d
    CROSS JOIN int_sensor_first_day AS first
    CROSS JOIN meta_release AS r
    WHERE d.kind <> 'video' AND first.first_day IS NOT NULL
),
sensor_calendar AS (
    SELECT
        device_id,
        kind,
        community_id,
        grid_id,
        CAST(unnest(range(first_day, last_day + 1, INTERVAL 1 DAY)) AS DATE) AS status_date
    FROM sensor_spans
    WHERE first_day <= last_day
)
SELECT
    c.device_id,
    c.kind,
    c.status_date,
    coalesce(s.readings, 0) > 0 AS is_online,
    c.community_id,
    c.grid_id
FROM sensor_calendar AS c
LEFT JOIN sensor_days AS s USING (device_id, status_date)
UNION ALL
SELECT
    v.device_id,
    coalesce(d.kind, 'video') AS kind,
    v.status_date,
    v.is_online,
    v.community_id,
    v.grid_id
FROM fct_video_status AS v
LEFT JOIN dim_device AS d ON d.device_id = v.device_id
-- a feed the device list calls a sensor already has its rows above
WHERE coalesce(d.kind, 'video') = 'video'

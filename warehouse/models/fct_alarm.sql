-- grain: one alarm (alarm_id), built from its raised / acknowledged / cleared events
-- Device, kind and level are taken from the raised event when there is one (else the earliest event;
-- at one moment, by event type: a total order, so that two builds agree).
WITH alarms AS (
    SELECT
        alarm_id,
        arg_min(device_id, (event_type <> 'raised', event_at, event_type)) AS device_id,
        arg_min(alarm_kind, (event_type <> 'raised', event_at, event_type)) AS alarm_kind,
        arg_min(level, (event_type <> 'raised', event_at, event_type)) AS level,
        min(event_at) FILTER (WHERE event_type = 'raised') AS raised_at,
        min(event_at) FILTER (WHERE event_type = 'acknowledged') AS acknowledged_at,
        min(event_at) FILTER (WHERE event_type = 'cleared') AS cleared_at
    FROM stg_alarm_event
    GROUP BY alarm_id
)
SELECT
    a.alarm_id,
    a.device_id,
    d.kind AS device_kind,
    a.alarm_kind,
    a.level,
    d.grid_id,
    d.community_id,
    d.lon,
    d.lat,
    a.raised_at,
    a.acknowledged_at,
    a.cleared_at,
    coalesce(
        a.raised_at <= r.as_of AND (a.cleared_at IS NULL OR a.cleared_at > r.as_of), false
    ) AS is_live,
    epoch(a.cleared_at - a.raised_at) / 60.0 AS minutes_to_clear,
    CAST(a.raised_at AS DATE) AS raised_date
FROM alarms AS a
CROSS JOIN meta_release AS r
LEFT JOIN dim_device AS d ON d.device_id = a.device_id

-- grain: one state change (alarm_id, event_type) of one alarm, as first loaded
-- patch: alarm_id, event_type
SELECT
    alarm_id,
    device_id,
    event_type,
    event_at,
    alarm_kind,
    level,
    _source,
    day AS loaded_day
FROM lake_alarm_event
QUALIFY row_number() OVER (
    PARTITION BY alarm_id, event_type ORDER BY day, _loaded_at, _file, _line
) = 1

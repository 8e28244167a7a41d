-- grain: one volunteer activity (activity_id) in the latest volunteer_activity snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    activity_id,
    community_id,
    team,
    held_on,
    kind,
    volunteers,
    hours,
    _source,
    day AS loaded_day
FROM lake_volunteer_activity
WHERE day = (SELECT max(day) FROM lake_volunteer_activity)
QUALIFY row_number() OVER (PARTITION BY activity_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

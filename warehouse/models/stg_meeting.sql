-- grain: one meeting (meeting_id) in the latest meeting snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    meeting_id,
    area_id,
    host_community_id,
    held_on,
    topic,
    attendees,
    _source,
    day AS loaded_day
FROM lake_meeting
WHERE day = (SELECT max(day) FROM lake_meeting)
QUALIFY row_number() OVER (PARTITION BY meeting_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

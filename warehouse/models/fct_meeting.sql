-- grain: one rotating party-building area meeting (meeting_id)
SELECT
    meeting_id,
    area_id,
    host_community_id AS community_id,
    held_on,
    topic,
    attendees
FROM stg_meeting

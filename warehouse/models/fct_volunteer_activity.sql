-- grain: one volunteer activity (activity_id)
SELECT
    activity_id,
    community_id,
    team,
    held_on,
    kind,
    volunteers,
    hours
FROM stg_volunteer_activity

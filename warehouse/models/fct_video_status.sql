-- grain: one video feed (device_id) on one day (status_date)
-- patch: status_date
-- Online means online for at least 95 % of the day: 1,368 of 1,440 minutes.
SELECT
    v.device_id,
    v.status_date,
    v.online_minutes,
    v.online_minutes >= 1368 AS is_online,
    d.grid_id,
    d.community_id,
    d.owner
FROM stg_video_status AS v
LEFT JOIN dim_device AS d ON d.device_id = v.device_id

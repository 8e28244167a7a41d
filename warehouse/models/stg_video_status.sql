-- grain: one video feed (device_id) on one day (status_date), as first loaded
-- patch: status_date
SELECT
    device_id,
    status_date,
    online_minutes,
    _source,
    day AS loaded_day
FROM lake_video_status
QUALIFY row_number() OVER (
    PARTITION BY device_id, status_date ORDER BY day, _loaded_at, _file, _line
) = 1

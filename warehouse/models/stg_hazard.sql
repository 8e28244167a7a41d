-- grain: one hazard (hazard_id) in its latest state (latest landing day, then latest load)
SELECT
    hazard_id,
    inspection_id,
    domain,
    level,
    grid_id,
    found_on,
    due_on,
    rectified_on,
    _source,
    day AS loaded_day
FROM lake_hazard
QUALIFY row_number() OVER (
    PARTITION BY hazard_id ORDER BY day DESC, _loaded_at DESC, _file DESC, _line DESC
) = 1

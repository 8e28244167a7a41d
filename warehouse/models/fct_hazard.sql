-- grain: one hazard (hazard_id) in its latest state, at meta_release.as_of
SELECT
    h.hazard_id,
    h.inspection_id,
    h.domain,
    h.level,
    CASE WHEN p.unit_id IS NULL THEN h.grid_id ELSE p.grid_id END AS grid_id,
    p.community_id,
    h.found_on,
    h.due_on,
    h.rectified_on,
    h.rectified_on IS NOT NULL AS is_rectified,
    CASE WHEN h.rectified_on IS NOT NULL THEN h.due_on IS NULL OR h.rectified_on <= h.due_on END
        AS is_rectified_on_time,
    h.rectified_on IS NULL AS is_open,
    CASE WHEN h.rectified_on IS NULL THEN date_diff('day', h.found_on, CAST(r.as_of AS DATE)) END AS open_days,
    date_diff('day', h.found_on, h.rectified_on) AS days_to_rectify,
    h.rectified_on IS NULL AND coalesce(h.due_on < CAST(r.as_of AS DATE), false) AS is_overdue_open,
    p.micro_grid_id
FROM stg_hazard AS h
CROSS JOIN meta_release AS r
LEFT JOIN int_place AS p ON p.unit_id = h.grid_id

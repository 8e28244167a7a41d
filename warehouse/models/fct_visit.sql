-- grain: one household visit (visit_id)
-- patch: visit_id
SELECT
    v.visit_id,
    v.micro_grid_id,
    p.grid_id,
    p.community_id,
    v.household_id,
    v.worker_id,
    v.visited_at,
    CAST(v.visited_at AS DATE) AS visited_date,
    v.round,
    v.needs_collected
FROM stg_visit AS v
LEFT JOIN int_place AS p ON p.unit_id = v.micro_grid_id

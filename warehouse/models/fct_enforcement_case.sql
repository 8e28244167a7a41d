-- grain: one enforcement case (case_id) in its latest state
SELECT
    c.case_id,
    c.domain,
    c.subject_name,
    c.violation,
    CASE WHEN p.unit_id IS NULL THEN c.grid_id ELSE p.grid_id END AS grid_id,
    p.community_id,
    c.opened_on,
    c.closed_on,
    c.closed_on IS NOT NULL AS is_closed,
    c.penalty_yuan,
    date_diff('day', c.opened_on, c.closed_on) AS days_to_close,
    p.micro_grid_id
FROM stg_enforcement_case AS c
LEFT JOIN int_place AS p ON p.unit_id = c.grid_id

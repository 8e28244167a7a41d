-- grain: one enforcement / safety inspection (inspection_id)
-- patch: inspection_id
SELECT
    i.inspection_id,
    i.inspected_on,
    i.domain,
    i.subject_name,
    CASE WHEN p.unit_id IS NULL THEN i.grid_id ELSE p.grid_id END AS grid_id,
    p.community_id,
    coalesce(i.hazards_found, 0) AS hazards_found,
    p.micro_grid_id
FROM stg_inspection AS i
LEFT JOIN int_place AS p ON p.unit_id = i.grid_id

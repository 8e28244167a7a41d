-- grain: one grid unit of any level, resolved to where a record placed on it belongs
-- Sources place records on any unit (a micro grid, a comprehensive grid, even a
-- community); marts carry community_id, grid_id (comprehensive or dedicated)
-- and micro_grid_id, so every model resolves a unit through this one table.
SELECT
    unit_id,
    community_id,
    CASE level
        WHEN 'micro' THEN parent_id
        WHEN 'community' THEN NULL
        ELSE unit_id
    END AS grid_id,
    CASE WHEN level = 'micro' THEN unit_id END AS micro_grid_id
FROM stg_grid_unit

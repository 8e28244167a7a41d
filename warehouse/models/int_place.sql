-- grain: one grid unit of any level, resolved to where a record placed on it belongs
-- Sources place records on any unit (a micro grid, a comprehensive grid, even a
-- community); marts carry community_id, grid_id (comprehensive or dedicated)
-- and micro_grid_id, so every model resolves a unit through this one table.
-- A record with no place (a message board, a hotline export without grids, a grid
-- not in the register) resolves through the row 'unknown' to the place member
-- 'unknown' (未定位): it is counted under that name, never dropped.
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
UNION ALL
SELECT 'unknown' AS unit_id, 'unknown' AS community_id, 'unknown' AS grid_id, NULL AS micro_grid_id

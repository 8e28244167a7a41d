-- grain: one community (社区): a grid unit of level community
-- Counts missing on the community row are summed from its micro grids.
-- One more member, 'unknown' (未定位), holds the records that carry no place: rankings
-- and filters show it; it has no boundary, no grids and no residents.
WITH units AS (
    SELECT
        community_id,
        count(*) FILTER (WHERE level = 'micro') AS micro_grids,
        count(*) FILTER (WHERE level = 'comprehensive') AS comprehensive_grids,
        count(*) FILTER (WHERE level = 'dedicated') AS dedicated_grids,
        CAST(sum(households) FILTER (WHERE level = 'micro') AS BIGINT) AS households,
        CAST(sum(residents) FILTER (WHERE level = 'micro') AS BIGINT) AS residents,
        CAST(sum(registered_residents) FILTER (WHERE level = 'micro') AS BIGINT) AS registered_residents
    FROM stg_grid_unit
    GROUP BY community_id
)
SELECT
    c.unit_id AS community_id,
    c.name,
    c.community_type,
    coalesce(c.households, u.households) AS households,
    coalesce(c.residents, u.residents) AS residents,
    coalesce(c.registered_residents, u.registered_residents) AS registered_residents,
    coalesce(u.micro_grids, 0) AS micro_grids,
    coalesce(u.comprehensive_grids, 0) AS comprehensive_grids,
    coalesce(u.dedicated_grids, 0) AS dedicated_grids,
    b.geometry
FROM stg_grid_unit AS c
LEFT JOIN units AS u ON u.community_id = c.unit_id
LEFT JOIN stg_grid_boundary AS b ON b.unit_id = c.unit_id
WHERE c.level = 'community'
UNION ALL
SELECT
    'unknown' AS community_id,
    '未定位' AS name,
    NULL AS community_type,
    NULL AS households,
    NULL AS residents,
    NULL AS registered_residents,
    0 AS micro_grids,
    0 AS comprehensive_grids,
    0 AS dedicated_grids,
    NULL AS geometry

-- grain: one unit of the grid hierarchy (community, comprehensive, dedicated or micro grid)
-- A unit without its own household/resident counts gets the sum of its micro grids.
-- One more member, 'unknown' (level unknown, 未定位), names the grid of records that carry no place.
WITH micro_by_parent AS (
    SELECT
        parent_id,
        CAST(sum(households) AS BIGINT) AS households,
        CAST(sum(residents) AS BIGINT) AS residents
    FROM stg_grid_unit
    WHERE level = 'micro'
    GROUP BY parent_id
),
micro_by_community AS (
    SELECT
        community_id,
        CAST(sum(households) AS BIGINT) AS households,
        CAST(sum(residents) AS BIGINT) AS residents
    FROM stg_grid_unit
    WHERE level = 'micro'
    GROUP BY community_id
)
SELECT
    u.unit_id,
    u.level,
    u.parent_id,
    u.community_id,
    u.name,
    coalesce(
        u.households, CASE WHEN u.level = 'community' THEN c.households ELSE p.households END
    ) AS households,
    coalesce(
        u.residents, CASE WHEN u.level = 'community' THEN c.residents ELSE p.residents END
    ) AS residents,
    u.worker_id,
    b.geometry,
    u.dedicated_kind,
    u.compound
FROM stg_grid_unit AS u
LEFT JOIN micro_by_parent AS p ON p.parent_id = u.unit_id
LEFT JOIN micro_by_community AS c ON c.community_id = u.unit_id
LEFT JOIN stg_grid_boundary AS b ON b.unit_id = u.unit_id
UNION ALL
SELECT
    'unknown' AS unit_id,
    'unknown' AS level,
    NULL AS parent_id,
    'unknown' AS community_id,
    '未定位' AS name,
    NULL AS households,
    NULL AS residents,
    NULL AS worker_id,
    NULL AS geometry,
    NULL AS dedicated_kind,
    NULL AS compound

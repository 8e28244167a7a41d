-- grain: one grid worker (worker_id) who runs a comprehensive or dedicated grid in the latest register,
-- named by the grids they run: 兰竹社区第1网格网格员, 兰竹社区第1网格等2个网格网格员 (a worker's own name is
-- personal data and never a label)
WITH grids AS (
    SELECT
        worker_id,
        name,
        community_id,
        row_number() OVER (
            PARTITION BY worker_id ORDER BY CASE level WHEN 'comprehensive' THEN 0 ELSE 1 END, unit_id
        ) AS place,
        count(*) OVER (PARTITION BY worker_id) AS grid_count
    FROM dim_grid
    WHERE worker_id IS NOT NULL AND level IN ('comprehensive', 'dedicated')
)
SELECT
    worker_id,
    name || CASE WHEN grid_count > 1 THEN '等' || grid_count || '个网格' ELSE '' END || '网格员' AS name,
    name AS grid_name,
    community_id,
    CAST(grid_count AS BIGINT) AS grid_count
FROM grids
WHERE place = 1

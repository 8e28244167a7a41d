-- grain: one day (status_date), community and grid: the video feeds' days summed
-- patch: status_date
-- A rollup: the catalog answers a KPI from it instead of fct_video_status when the KPI declares it
-- (cockpit/metrics/catalog.yaml `rollup:`) and the query asks nothing finer than its columns.
SELECT
    status_date,
    community_id,
    grid_id,
    count(*) AS feed_days,
    count(*) FILTER (WHERE is_online) AS online_days
FROM fct_video_status
GROUP BY ALL

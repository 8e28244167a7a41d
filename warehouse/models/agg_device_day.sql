-- grain: one day (status_date), community, grid and device kind: the devices' days summed
-- patch: from status_date
-- A rollup of fct_device_status the catalog reads for the KPIs that declare it (catalog.yaml `rollup:`).
SELECT
    status_date,
    community_id,
    grid_id,
    kind,
    count(*) AS device_days,
    count(*) FILTER (WHERE is_online) AS online_days
FROM fct_device_status
GROUP BY ALL

-- grain: one IoT device or video feed in the latest device snapshot
SELECT
    d.device_id,
    d.kind,
    d.owner,
    d.name,
    CASE WHEN p.unit_id IS NULL THEN d.grid_id ELSE p.grid_id END AS grid_id,
    p.community_id,
    d.lon,
    d.lat,
    d.installed_on,
    p.micro_grid_id
FROM stg_device AS d
LEFT JOIN int_place AS p ON p.unit_id = d.grid_id

-- grain: one device (device_id) in the latest device snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    device_id,
    kind,
    owner,
    name,
    grid_id,
    lon,
    lat,
    installed_on,
    _source,
    day AS loaded_day
FROM lake_device
WHERE day = (SELECT max(day) FROM lake_device)
QUALIFY row_number() OVER (PARTITION BY device_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

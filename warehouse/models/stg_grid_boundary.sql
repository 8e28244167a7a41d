-- grain: one polygon (unit_id) in the latest grid_boundary snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    unit_id,
    level,
    geometry,
    _source,
    day AS loaded_day
FROM lake_grid_boundary
WHERE day = (SELECT max(day) FROM lake_grid_boundary)
QUALIFY row_number() OVER (PARTITION BY unit_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

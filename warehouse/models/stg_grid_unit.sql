-- grain: one grid unit (unit_id) in the latest grid_unit snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    unit_id,
    level,
    parent_id,
    community_id,
    name,
    community_type,
    dedicated_kind,
    compound,
    households,
    residents,
    registered_residents,
    worker_id,
    _source,
    day AS loaded_day
FROM lake_grid_unit
WHERE day = (SELECT max(day) FROM lake_grid_unit)
QUALIFY row_number() OVER (PARTITION BY unit_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

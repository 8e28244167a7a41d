-- grain: one household visit (visit_id), as first loaded
-- patch: visit_id
SELECT
    visit_id,
    micro_grid_id,
    household_id,
    worker_id,
    visited_at,
    round,
    needs_collected,
    _source,
    day AS loaded_day
FROM lake_visit
QUALIFY row_number() OVER (PARTITION BY visit_id ORDER BY day, _loaded_at, _file, _line) = 1

-- grain: one inspection (inspection_id), as first loaded
-- patch: inspection_id
SELECT
    inspection_id,
    inspected_on,
    domain,
    subject_name,
    grid_id,
    hazards_found,
    _source,
    day AS loaded_day
FROM lake_inspection
QUALIFY row_number() OVER (PARTITION BY inspection_id ORDER BY day, _loaded_at, _file, _line) = 1

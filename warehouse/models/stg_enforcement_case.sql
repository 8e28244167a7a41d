-- grain: one enforcement case (case_id) in its latest state (latest landing day, then latest load)
SELECT
    case_id,
    domain,
    subject_name,
    violation,
    grid_id,
    opened_on,
    closed_on,
    penalty_yuan,
    _source,
    day AS loaded_day
FROM lake_enforcement_case
QUALIFY row_number() OVER (
    PARTITION BY case_id ORDER BY day DESC, _loaded_at DESC, _file DESC, _line DESC
) = 1

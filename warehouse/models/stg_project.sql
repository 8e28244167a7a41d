-- grain: one project (project_id) in the latest project snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    project_id,
    name,
    kind,
    batch,
    community_id,
    budget_wan,
    progress_pct,
    started_on,
    due_on,
    completed_on,
    _source,
    day AS loaded_day
FROM lake_project
WHERE day = (SELECT max(day) FROM lake_project)
QUALIFY row_number() OVER (PARTITION BY project_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

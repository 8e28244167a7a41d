-- grain: one project (project_id) in the latest snapshot, at meta_release.as_of
SELECT
    p.project_id,
    p.name,
    p.kind,
    CAST(p.batch AS INTEGER) AS batch,
    p.community_id,
    p.budget_wan,
    p.progress_pct,
    p.started_on,
    p.due_on,
    p.completed_on,
    p.completed_on IS NOT NULL AS is_completed,
    coalesce(p.completed_on IS NULL AND p.due_on < CAST(r.as_of AS DATE), false) AS is_delayed
FROM stg_project AS p
CROSS JOIN meta_release AS r

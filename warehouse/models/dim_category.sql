-- grain: one ticket category from the category seed, with its SLA in working days
-- A category from a hierarchical taxonomy (a source mapping's code list) names its parents:
-- group_1 (first level) and group_2 (second level); a flat category is its own group.
SELECT
    code AS category,
    name_zh,
    name_en,
    CAST(sla_working_days AS INTEGER) AS sla_working_days,
    default_department,
    CAST(season AS VARCHAR) AS season,
    coalesce(nullif(group_1, ''), name_zh) AS group_1,
    coalesce(nullif(group_2, ''), name_zh) AS group_2
FROM seed_category

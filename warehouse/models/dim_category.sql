-- grain: one ticket category from the category seed, with its SLA in working days
SELECT
    code AS category,
    name_zh,
    name_en,
    CAST(sla_working_days AS INTEGER) AS sla_working_days,
    default_department,
    CAST(season AS VARCHAR) AS season
FROM seed_category

-- grain: one department (承办部门) from the department seed
SELECT code AS department_id, name_zh, name_en
FROM seed_department

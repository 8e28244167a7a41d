-- grain: one party organisation on one of the five levels
WITH members AS (
    SELECT org_id, count(*) AS members
    FROM stg_party_member
    GROUP BY org_id
)
SELECT
    o.org_id,
    o.name,
    o.level,
    o.parent_id,
    o.community_id,
    o.area_id,
    coalesce(m.members, 0) AS members
FROM stg_party_org AS o
LEFT JOIN members AS m ON m.org_id = o.org_id

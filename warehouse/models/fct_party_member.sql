-- grain: one party member (member_id) in the latest snapshot
-- community_id is the community of the member's party organisation.
SELECT
    m.member_id,
    m.org_id,
    o.community_id,
    m.gender,
    m.birth_year,
    m.joined_on,
    coalesce(m.is_volunteer, false) AS is_volunteer
FROM stg_party_member AS m
LEFT JOIN stg_party_org AS o ON o.org_id = m.org_id

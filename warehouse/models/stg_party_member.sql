-- grain: one party member (member_id) in the latest party_member snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    member_id,
    org_id,
    gender,
    birth_year,
    joined_on,
    is_volunteer,
    _source,
    day AS loaded_day
FROM lake_party_member
WHERE day = (SELECT max(day) FROM lake_party_member)
QUALIFY row_number() OVER (PARTITION BY member_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

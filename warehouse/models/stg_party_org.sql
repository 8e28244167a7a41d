-- grain: one party organisation (org_id) in the latest party_org snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    org_id,
    name,
    level,
    parent_id,
    community_id,
    area_id,
    _source,
    day AS loaded_day
FROM lake_party_org
WHERE day = (SELECT max(day) FROM lake_party_org)
QUALIFY row_number() OVER (PARTITION BY org_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

-- grain: one partner unit (partner_id) in the latest partner_unit snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    partner_id,
    name,
    kind,
    community_id,
    joined_on,
    _source,
    day AS loaded_day
FROM lake_partner_unit
WHERE day = (SELECT max(day) FROM lake_partner_unit)
QUALIFY row_number() OVER (PARTITION BY partner_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

-- grain: one pledge (pledge_id) in the latest pledge snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    pledge_id,
    community_id,
    category,
    title,
    posted_on,
    claimed_by,
    claimed_on,
    delivered_on,
    _source,
    day AS loaded_day
FROM lake_pledge
WHERE day = (SELECT max(day) FROM lake_pledge)
QUALIFY row_number() OVER (PARTITION BY pledge_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

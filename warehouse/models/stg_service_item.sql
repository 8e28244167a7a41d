-- grain: one service item (service_item_id) in the latest service_item snapshot (the latest landing day)
-- Snapshot table: each load is a full picture, so only the latest day counts.
SELECT
    service_item_id,
    name,
    department_id,
    legal_days,
    promised_days,
    _source,
    day AS loaded_day
FROM lake_service_item
WHERE day = (SELECT max(day) FROM lake_service_item)
QUALIFY row_number() OVER (PARTITION BY service_item_id ORDER BY _loaded_at DESC, _file DESC, _line DESC) = 1

-- grain: one government-service item (事项) in the latest snapshot
SELECT
    service_item_id,
    name,
    department_id,
    CAST(legal_days AS INTEGER) AS legal_days,
    CAST(promised_days AS INTEGER) AS promised_days
FROM stg_service_item

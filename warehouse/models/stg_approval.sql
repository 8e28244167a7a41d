-- grain: one application (application_id) in its latest state
-- patch: application_id
-- Latest by the source's own updated_at first, then landing day: a backfilled
-- export of an older state must not overwrite a newer one.
SELECT
    application_id,
    service_item_id,
    community_id,
    channel,
    status,
    received_at,
    completed_at,
    updated_at,
    rating,
    _source,
    day AS loaded_day
FROM lake_approval
QUALIFY row_number() OVER (
    PARTITION BY application_id
    ORDER BY updated_at DESC, day DESC, _loaded_at DESC, _file DESC, _line DESC
) = 1

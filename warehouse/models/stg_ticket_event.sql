-- grain: one lifecycle event (event_id) of a ticket on the dispatch platform, as first loaded
-- patch: event_id
SELECT
    event_id,
    channel,
    source_ticket_id,
    event_type,
    event_at,
    department_id,
    extension_days,
    satisfaction,
    solved,
    _source,
    day AS loaded_day
FROM lake_ticket_event
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY day, _loaded_at, _file, _line) = 1

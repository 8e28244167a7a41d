-- grain: one lifecycle event (event_id) of a ticket, as first loaded
-- patch: channel, source_ticket_id
-- is_out_of_order: the event landed on a later day than some event of the same
-- ticket that happened after it, i.e. it arrived behind its successor.
-- is_late: it landed two or more days after the day it happened.
WITH events AS (
    SELECT
        e.*,
        e.channel || ':' || e.source_ticket_id AS ticket_id,
        CASE e.event_type
            WHEN 'received' THEN 1
            WHEN 'dispatched' THEN 2
            WHEN 'accepted' THEN 3
            WHEN 'resolved' THEN 4
            WHEN 'follow_up' THEN 5
            WHEN 'closed' THEN 6
        END AS lifecycle_step
    FROM stg_ticket_event AS e
),
arrival AS (
    SELECT
        *,
        -- earliest landing day among the ticket's events that happened strictly later (times are whole
        -- microseconds: a frame ending 1 µs before the current row leaves out its ties, in DuckDB and Spark alike)
        min(loaded_day) OVER (
            PARTITION BY ticket_id ORDER BY event_at DESC
            RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
        ) AS first_load_of_later_events
    FROM events
)
SELECT
    a.event_id,
    a.ticket_id,
    a.event_type,
    a.event_at,
    a.department_id,
    a.satisfaction,
    a.solved,
    a.extension_days,
    a.loaded_day,
    a.loaded_day >= CAST(a.event_at AS DATE) + 2 AS is_late,
    coalesce(a.first_load_of_later_events < a.loaded_day, false) AS is_out_of_order,
    t.source_ticket_id IS NULL AS is_orphan,
    a.channel,
    a.source_ticket_id,
    a.lifecycle_step,
    p.community_id,
    CASE WHEN p.unit_id IS NULL THEN t.grid_id ELSE p.grid_id END AS grid_id,
    a._source AS source
FROM arrival AS a
LEFT JOIN stg_ticket_intake AS t
    ON t.channel = a.channel AND t.source_ticket_id = a.source_ticket_id
LEFT JOIN int_place AS p ON p.unit_id = t.grid_id

-- grain: one ticket (channel:source_ticket_id), all channels merged, state at meta_release.as_of
-- A build on a base patches it for the tickets whose intake or events changed, the tickets of the same
-- address and category (duplicates, repeats) and those whose as-of columns may move (incremental.patch_tickets):
-- unresolved (overdue, due soon), dispatched with no verdict yet on acceptance or first contact within 24 h, or
-- with a deadline past the calendar's last day. Once as_of has passed what they compare with, the others stay.
-- moves: resolved_at IS NULL OR (dispatched_at IS NOT NULL AND (is_accepted_timely IS NULL OR is_responded IS NULL)) OR (deadline_date IS NULL AND sla_working_days IS NOT NULL)
WITH release AS (
    SELECT
        as_of,
        (SELECT min(day) FROM dim_calendar WHERE is_workday AND day >= CAST(m.as_of AS DATE)) AS next_workday
    FROM meta_release AS m
),
intake AS (
    SELECT i.*, CAST(i.received_at AS DATE) AS received_date
    FROM stg_ticket_intake AS i
),
event_summary AS (
    SELECT
        ticket_id,
        min(event_at) FILTER (WHERE event_type = 'dispatched') AS dispatched_at,
        min(event_at) FILTER (WHERE event_type = 'accepted') AS accepted_at,
        min(event_at) FILTER (WHERE event_type = 'resolved') AS first_resolved_at,
        max(event_at) FILTER (WHERE event_type = 'resolved') AS last_resolved_at,
        max(event_at) FILTER (WHERE event_type = 'closed') AS last_closed_at,
        min(event_at) FILTER (WHERE event_type = 'closed') AS first_closed_at,
        min(event_at) FILTER (WHERE event_type = 'contacted') AS first_contact_at,
        -- a (re)dispatch or a return puts the ticket back in someone's hands
        max(event_at) FILTER (WHERE event_type IN ('dispatched', 'returned')) AS last_reopened_at,
        min(event_at) FILTER (
            WHERE event_type = 'follow_up' AND satisfaction IN ('dissatisfied', 'very_dissatisfied')
        ) AS first_dissatisfied_at,
        arg_max(department_id, (event_at, event_id)) FILTER (
            WHERE event_type = 'dispatched' AND department_id IS NOT NULL
        ) AS department_id,
        count(*) FILTER (WHERE event_type = 'returned') AS returned_count,
        count(*) FILTER (WHERE event_type = 'extended') AS extension_count,
        CAST(coalesce(sum(extension_days) FILTER (WHERE event_type = 'extended'), 0) AS BIGINT)
            AS extension_days,
        bool_or(event_type = 'supervised') AS is_supervised,
        count(*) FILTER (WHERE event_type = 'urged') AS urge_count,
        bool_or(event_type = 'suspended') AS is_suspended,
        bool_or(event_type = 'follow_up') AS has_follow_up,
        arg_max(satisfaction, (event_at, event_id)) FILTER (
            WHERE event_type = 'follow_up' AND satisfaction IS NOT NULL
        ) AS satisfaction,
        arg_max(solved, (event_at, event_id)) FILTER (
            WHERE event_type = 'follow_up' AND solved IS NOT NULL
        ) AS solved,
        count(*) FILTER (WHERE is_late) AS late_event_count,
        count(*) FILTER (WHERE is_out_of_order) AS out_of_order_event_count
    FROM fct_ticket_event
    WHERE NOT is_orphan
    GROUP BY ticket_id
),
-- Each ticket listed under its receipt day and the day after: a ticket received in the
-- 24 h before another is listed under the other's receipt day, so the duplicate join
-- pairs tickets within two days only, not every ticket ever sent from one address.
intake_by_day AS (
    SELECT *, unnest([received_date, received_date + 1]) AS listed_on
    FROM intake
    WHERE address_key IS NOT NULL
),
-- cross-channel duplicates: same address and category, another channel, received in the 24 h before
duplicate_candidates AS (
    SELECT
        later.ticket_id,
        arg_min(earlier.ticket_id, (earlier.received_at, earlier.ticket_id)) AS first_ticket_id
    FROM intake AS later
    JOIN intake_by_day AS earlier
        ON earlier.listed_on = later.received_date
        AND earlier.address_key = later.address_key
        AND earlier.category = later.category
        AND earlier.channel <> later.channel
        AND earlier.received_at >= later.received_at - INTERVAL 24 HOUR
        AND (
            earlier.received_at < later.received_at
            OR (earlier.received_at = later.received_at AND earlier.ticket_id < later.ticket_id)
        )
    GROUP BY later.ticket_id
),
-- point a duplicate of a duplicate at the first ticket of the complaint
duplicates AS (
    SELECT d.ticket_id, coalesce(root.first_ticket_id, d.first_ticket_id) AS duplicate_of
    FROM duplicate_candidates AS d
    LEFT JOIN duplicate_candidates AS root ON root.ticket_id = d.first_ticket_id
),
-- repeat complaints: among non-duplicates, the previous one at the same address and category
originals AS (
    SELECT
        i.ticket_id,
        i.received_at,
        lag(i.received_at) OVER (
            PARTITION BY i.address_key, i.category ORDER BY i.received_at, i.ticket_id
        ) AS previous_received_at
    FROM intake AS i
    LEFT JOIN duplicates AS d ON d.ticket_id = i.ticket_id
    WHERE d.ticket_id IS NULL AND i.address_key IS NOT NULL
),
tickets AS (
    SELECT
        i.*,
        e.* EXCLUDE (ticket_id),
        c.sla_working_days,
        received_day.workday_index
            + c.sla_working_days
            + coalesce(e.extension_days, 0) AS deadline_workday_index,
        coalesce(e.last_closed_at >= coalesce(e.last_reopened_at, e.last_closed_at), false) AS is_closed_now,
        coalesce(
            e.last_resolved_at >= coalesce(e.last_reopened_at, e.last_resolved_at), false
        ) AS is_resolved_now,
        -- a grid report fixed on the spot, never dispatched, counts as resolved on receipt
        coalesce(i.self_resolved, false) AND e.last_reopened_at IS NULL AS is_fixed_on_the_spot
    FROM intake AS i
    LEFT JOIN event_summary AS e ON e.ticket_id = i.ticket_id
    LEFT JOIN dim_category AS c ON c.category = i.category
    LEFT JOIN dim_calendar AS received_day ON received_day.day = i.received_date
),
states AS (
    SELECT
        t.*,
        CASE
            WHEN t.is_resolved_now THEN t.last_resolved_at
            WHEN t.is_closed_now THEN t.last_closed_at
            WHEN t.is_fixed_on_the_spot THEN t.received_at
        END AS resolved_at,
        CASE WHEN t.is_closed_now THEN t.last_closed_at END AS closed_at,
        -- The platforms record no reply of their own: the first reply to the citizen is the
        -- department's first acceptance or, if it resolved without accepting, its first resolution.
        least(t.accepted_at, t.first_resolved_at) AS first_reply_at,
        coalesce(
            t.last_reopened_at > t.first_resolved_at OR t.last_resolved_at > t.first_dissatisfied_at, false
        ) AS is_reworked,
        deadline_day.day AS deadline_date,
        CAST(deadline_day.day AS TIMESTAMP) + INTERVAL 86399 SECOND AS deadline_at
    FROM tickets AS t
    LEFT JOIN dim_calendar AS deadline_day
        ON deadline_day.workday_index = t.deadline_workday_index AND deadline_day.is_workday
)
SELECT
    s.ticket_id,
    s.channel,
    s.category,
    s.title,
    s.content,
    -- no grid, or one the register does not know (dropped from a later snapshot): the unknown place (未定位)
    CASE WHEN p.unit_id IS NULL THEN 'unknown' ELSE p.grid_id END AS grid_id,
    p.micro_grid_id,
    coalesce(p.community_id, 'unknown') AS community_id,
    s.lon,
    s.lat,
    s.reporter_kind,
    s.reporter_group,
    s.received_at,
    s.received_date,
    s.dispatched_at,
    s.accepted_at,
    s.first_reply_at,
    s.resolved_at,
    s.closed_at,
    s.first_closed_at,
    s.first_contact_at,
    s.department_id,
    s.deadline_at,
    CASE
        WHEN s.closed_at IS NOT NULL THEN 'closed'
        WHEN s.resolved_at IS NOT NULL THEN 'resolved'
        ELSE 'open'
    END AS status,
    s.resolved_at IS NOT NULL AS is_resolved,
    CASE WHEN s.resolved_at IS NOT NULL THEN s.resolved_at <= s.deadline_at END AS is_on_time,
    coalesce(
        CASE WHEN s.resolved_at IS NOT NULL THEN s.resolved_at > s.deadline_at ELSE r.as_of > s.deadline_at END,
        false
    ) AS is_overdue,
    coalesce(s.resolved_at IS NULL AND r.as_of > s.deadline_at, false) AS is_open_overdue,
    coalesce(
        s.resolved_at IS NULL AND s.deadline_at >= r.as_of AND s.deadline_date <= r.next_workday, false
    ) AS is_due_soon,
    epoch(s.accepted_at - s.dispatched_at) / 3600.0 AS accept_hours,
    epoch(s.resolved_at - s.received_at) / 3600.0 AS resolve_hours,
    epoch(s.first_reply_at - s.received_at) / 3600.0 AS first_reply_hours,
    CASE
        WHEN s.dispatched_at IS NULL THEN NULL
        WHEN s.accepted_at IS NOT NULL THEN s.accepted_at <= s.dispatched_at + INTERVAL 24 HOUR
        WHEN r.as_of > s.dispatched_at + INTERVAL 24 HOUR THEN false
    END AS is_accepted_timely,
    -- 响应: the handler called the citizen within 24 h of the first dispatch; NULL while the 24 h run
    CASE
        WHEN s.dispatched_at IS NULL THEN NULL
        WHEN s.first_contact_at <= s.dispatched_at + INTERVAL 24 HOUR THEN true
        WHEN r.as_of > s.dispatched_at + INTERVAL 24 HOUR THEN false
    END AS is_responded,
    coalesce(s.urge_count, 0) AS urge_count,
    coalesce(s.urge_count, 0) > 0 AS is_urged,
    coalesce(s.is_suspended, false) AS is_suspended,
    -- 重办: dispatched again after it was first closed
    coalesce(s.last_reopened_at > s.first_closed_at, false) AS is_reopened,
    coalesce(s.returned_count, 0) AS returned_count,
    coalesce(s.extension_count, 0) AS extension_count,
    coalesce(s.extension_count, 0) > 0 AS is_extended,
    coalesce(s.is_supervised, false) AS is_supervised,
    s.is_reworked,
    coalesce(s.has_follow_up, false) AS has_follow_up,
    s.satisfaction,
    CASE
        WHEN s.satisfaction IS NOT NULL THEN s.satisfaction IN ('very_satisfied', 'satisfied', 'basically_satisfied')
    END AS is_satisfied,
    s.solved AS is_solved,
    -- 一次办结: resolved now, never returned, reworked or reopened
    s.resolved_at IS NOT NULL
        AND coalesce(s.returned_count, 0) = 0
        AND NOT s.is_reworked AS is_one_time_resolved,
    coalesce(s.self_resolved, false) AS self_resolved,
    d.duplicate_of,
    d.duplicate_of IS NOT NULL AS is_duplicate,
    coalesce(o.received_at - o.previous_received_at <= INTERVAL 30 DAY, false) AS is_repeat_complaint,
    coalesce(s.late_event_count, 0) AS late_event_count,
    coalesce(s.out_of_order_event_count, 0) AS out_of_order_event_count,
    -- received on a later day than the landing day that delivered it: a clock error or a future-dated export
    s.received_date > s.loaded_day AS is_received_after_delivery,
    s.source_ticket_id,
    s.deadline_date,
    s.sla_working_days,
    coalesce(s.extension_days, 0) AS extension_days,
    s._source AS source
FROM states AS s
CROSS JOIN release AS r
LEFT JOIN int_place AS p ON p.unit_id = s.grid_id
LEFT JOIN duplicates AS d ON d.ticket_id = s.ticket_id
LEFT JOIN originals AS o ON o.ticket_id = s.ticket_id

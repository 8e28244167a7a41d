-- grain: one application (application_id) in its latest state, at meta_release.as_of
-- patch: application_id
-- The rows that move with as_of and the calendar: open applications (overdue), a deadline or a completion
-- past the calendar's days.
-- moves: status IN ('received', 'in_progress') OR (legal_deadline IS NULL AND legal_days IS NOT NULL) OR (completed_at IS NOT NULL AND working_days_taken IS NULL)
-- The legal deadline counts working days on the official calendar from the day
-- of receipt (receipt on a non-working day counts from the next working day).
SELECT
    a.application_id,
    a.service_item_id,
    s.department_id,
    a.community_id,
    a.channel,
    a.status,
    a.received_at,
    CAST(a.received_at AS DATE) AS received_date,
    a.completed_at,
    CAST(a.completed_at AS DATE) AS completed_date,
    deadline.day AS legal_deadline,
    completed.workday_index - received.workday_index AS working_days_taken,
    a.status = 'completed' AS is_completed,
    CASE WHEN a.status = 'completed' THEN CAST(a.completed_at AS DATE) <= deadline.day END AS is_on_time,
    coalesce(a.status IN ('received', 'in_progress') AND deadline.day < CAST(r.as_of AS DATE), false)
        AS is_overdue_open,
    a.rating,
    CASE WHEN a.rating IS NOT NULL THEN a.rating >= 4 END AS is_good_rating,
    s.legal_days,
    a.updated_at
FROM stg_approval AS a
CROSS JOIN meta_release AS r
LEFT JOIN dim_service_item AS s ON s.service_item_id = a.service_item_id
LEFT JOIN dim_calendar AS received ON received.day = CAST(a.received_at AS DATE)
LEFT JOIN dim_calendar AS completed ON completed.day = CAST(a.completed_at AS DATE)
LEFT JOIN dim_calendar AS deadline
    ON deadline.workday_index = received.workday_index + s.legal_days AND deadline.is_workday

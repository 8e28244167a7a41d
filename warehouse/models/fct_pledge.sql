-- grain: one 揭榜领办 pledge (pledge_id) in the latest snapshot
SELECT
    pledge_id,
    community_id,
    category,
    title,
    posted_on,
    claimed_by,
    claimed_on,
    delivered_on,
    claimed_by IS NOT NULL OR claimed_on IS NOT NULL OR delivered_on IS NOT NULL AS is_claimed,
    delivered_on IS NOT NULL AS is_delivered,
    CASE
        WHEN delivered_on IS NOT NULL THEN 'delivered'
        WHEN claimed_by IS NOT NULL OR claimed_on IS NOT NULL THEN 'claimed'
        ELSE 'posted'
    END AS stage
FROM stg_pledge

-- grain: one device, metric and reporting slot (a clock hour, or the metric's reporting interval:
--        wireless gas detectors report every 4 h), every slot from the device-metric's first to its last reading
-- quality, by precedence: gap (no reading in the slot) > spike > stuck > ok.
-- spike: value_max above the metric's physical maximum, or above 3 × the
--        device-metric's median slot average (when that median is positive).
-- stuck: the same non-zero average (to 6 decimals) for 6 or more consecutive slots; zero is the
--        resting reading of a gas detector, not a fault.
-- Windows run over the observed slots only; the (few) gap slots are generated from lead() at the end,
-- which is far cheaper than filling every device's full series and joining the readings back.
WITH observed AS MATERIALIZED (
    SELECT
        r.device_id,
        r.metric,
        coalesce(m.interval_hours, 1) AS step,
        time_bucket(to_hours(coalesce(m.interval_hours, 1)), r.measured_at) AS hour,
        count(*) AS readings,
        avg(r.value) AS value_avg,
        min(r.value) AS value_min,
        max(r.value) AS value_max
    FROM stg_sensor_reading AS r
    LEFT JOIN dim_sensor_metric AS m USING (metric)
    GROUP BY ALL
),
medians AS MATERIALIZED (
    SELECT device_id, metric, median(value_avg) AS median_avg
    FROM observed
    GROUP BY ALL
),
ordered AS MATERIALIZED (
    SELECT
        *,
        lead(hour) OVER series AS next_hour,
        -- a slot continues a run when the adjacent slot holds the same value
        coalesce(
            lag(hour) OVER series = hour - to_hours(step)
                AND lag(round(value_avg, 6)) OVER series = round(value_avg, 6),
            false
        ) AS continues_previous,
        coalesce(
            lead(hour) OVER series = hour + to_hours(step)
                AND lead(round(value_avg, 6)) OVER series = round(value_avg, 6),
            false
        ) AS continues_next
    FROM observed
    WINDOW series AS (PARTITION BY device_id, metric ORDER BY hour)
),
-- Only slots with an equal neighbour can be in a stuck run (a few percent of all slots):
-- number the runs among those, not over every slot.
run_members AS (
    SELECT
        device_id,
        metric,
        hour,
        value_avg,
        sum(CASE WHEN continues_previous THEN 0 ELSE 1 END) OVER (
            PARTITION BY device_id, metric ORDER BY hour ROWS UNBOUNDED PRECEDING
        ) AS run_id
    FROM ordered
    WHERE continues_previous OR continues_next
),
stuck AS (
    SELECT device_id, metric, hour
    FROM run_members
    WHERE value_avg <> 0
    QUALIFY count(*) OVER (PARTITION BY device_id, metric, run_id) >= 6
),
observed_flagged AS (
    SELECT
        r.device_id,
        r.metric,
        r.hour,
        r.readings,
        r.value_avg,
        r.value_min,
        r.value_max,
        md.median_avg,
        coalesce(
            r.value_max > m.physical_max OR (md.median_avg > 0 AND r.value_max > 3 * md.median_avg), false
        ) AS is_spike,
        s.hour IS NOT NULL AS is_stuck,
        false AS is_gap
    FROM ordered AS r
    LEFT JOIN stuck AS s USING (device_id, metric, hour)
    JOIN medians AS md USING (device_id, metric)
    LEFT JOIN dim_sensor_metric AS m ON m.metric = r.metric
),
gaps AS (
    SELECT
        o.device_id,
        o.metric,
        CAST(unnest(range(o.hour + to_hours(o.step), o.next_hour, to_hours(o.step))) AS TIMESTAMP) AS hour,
        CAST(0 AS BIGINT) AS readings,
        CAST(NULL AS DOUBLE) AS value_avg,
        CAST(NULL AS DOUBLE) AS value_min,
        CAST(NULL AS DOUBLE) AS value_max,
        md.median_avg,
        false AS is_spike,
        false AS is_stuck,
        true AS is_gap
    FROM ordered AS o
    JOIN medians AS md USING (device_id, metric)
    WHERE o.next_hour > o.hour + to_hours(o.step)
),
flagged AS (
    SELECT * FROM observed_flagged
    UNION ALL
    SELECT * FROM gaps
)
SELECT
    f.device_id,
    d.kind,
    f.metric,
    f.hour,
    d.grid_id,
    d.community_id,
    f.readings,
    f.value_avg,
    f.value_min,
    f.value_max,
    f.is_spike,
    f.is_stuck,
    f.is_gap,
    CASE
        WHEN f.is_gap THEN 'gap'
        WHEN f.is_spike THEN 'spike'
        WHEN f.is_stuck THEN 'stuck'
        ELSE 'ok'
    END AS quality,
    f.median_avg
FROM flagged AS f
LEFT JOIN dim_device AS d ON d.device_id = f.device_id

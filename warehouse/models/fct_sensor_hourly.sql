-- grain: one device, metric and reporting slot (a clock hour, or the metric's reporting interval:
--        wireless gas detectors report every 4 h), every slot from the device-metric's first to its last reading
-- quality, by precedence: gap (no reading in the slot) > spike > stuck > ok.
-- spike: value_max above the metric's physical maximum, or above 3 × the
--        device-metric's median hourly average (when that median is positive).
-- stuck: the same non-zero average (to 6 decimals) for 6 or more consecutive slots; zero is the
--        resting reading of a gas detector, not a fault.
WITH observed AS (
    SELECT
        device_id,
        metric,
        time_bucket(to_hours(coalesce(m.interval_hours, 1)), measured_at) AS hour,
        count(*) AS readings,
        avg(value) AS value_avg,
        min(value) AS value_min,
        max(value) AS value_max
    FROM stg_sensor_reading
    LEFT JOIN dim_sensor_metric AS m USING (metric)
    GROUP BY ALL
),
series AS (
    SELECT
        device_id,
        metric,
        min(hour) AS first_hour,
        max(hour) AS last_hour,
        median(value_avg) AS median_avg
    FROM observed
    GROUP BY ALL
),
hours AS (
    SELECT
        device_id,
        metric,
        median_avg,
        unnest(range(first_hour, last_hour + to_hours(step), to_hours(step))) AS hour
    FROM (
        SELECT s.*, coalesce(m.interval_hours, 1) AS step
        FROM series AS s
        LEFT JOIN dim_sensor_metric AS m USING (metric)
    )
),
filled AS (
    SELECT
        h.device_id,
        h.metric,
        h.hour,
        h.median_avg,
        coalesce(o.readings, 0) AS readings,
        o.value_avg,
        o.value_min,
        o.value_max
    FROM hours AS h
    LEFT JOIN observed AS o USING (device_id, metric, hour)
),
changes AS (
    SELECT
        *,
        -- a gap hour (NULL average) always starts a new run, and so does the hour after it
        CASE
            WHEN round(value_avg, 6) = lag(round(value_avg, 6)) OVER series_order THEN 0
            ELSE 1
        END AS starts_run
    FROM filled
    WINDOW series_order AS (PARTITION BY device_id, metric ORDER BY hour)
),
runs AS (
    SELECT
        *,
        sum(starts_run) OVER (
            PARTITION BY device_id, metric ORDER BY hour ROWS UNBOUNDED PRECEDING
        ) AS run_id
    FROM changes
),
flagged AS (
    SELECT
        r.*,
        r.readings = 0 AS is_gap,
        coalesce(
            r.value_max > m.physical_max OR (r.median_avg > 0 AND r.value_max > 3 * r.median_avg), false
        ) AS is_spike,
        r.readings > 0
            AND r.value_avg <> 0
            AND count(*) OVER (PARTITION BY r.device_id, r.metric, r.run_id) >= 6 AS is_stuck
    FROM runs AS r
    LEFT JOIN dim_sensor_metric AS m ON m.metric = r.metric
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

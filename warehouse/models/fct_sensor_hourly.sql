-- grain: one device, metric and reporting slot (a clock hour, or the metric's reporting interval:
--        wireless gas detectors report every 4 h), every slot from the device-metric's first to its last reading
-- quality, by precedence: gap > spike > stuck > ok. The parameters come from the metric's code row
-- (dim_sensor_metric, seeded from warehouse/seeds/sensor_metric.csv; empty cells take its defaults):
-- gap:   no reading in the slot.
-- spike: a reading outside [valid_min, valid_max], or a value_max more than spike_factor × the median
--        of its neighbours (the observed slots within 3 slots either side, itself excluded) and at least
--        spike_min_delta above that median.
-- stuck: one of stuck_slots or more consecutive slots with the same value_avg (to 6 decimals), unless
--        that value lies within ±stuck_ignore_max (a gas detector's resting zero, a pollutant at its
--        detection floor).
-- Why the neighbours and not the series: pollutant and load series are heavy-tailed and drift with the
-- seasons, so a series-wide median calls every smog episode a spike; a spike is a slot that leaves its own
-- surroundings. The centred median ignores one outlier among the neighbours, and a step change (a cold
-- front, a load switched on) has neighbours on both levels, so it is not a spike.
-- Windows run over the observed slots only; the (few) gap slots are generated from lead() at the end,
-- which is far cheaper than filling every device's full series and joining the readings back.
-- A metric missing from dim_sensor_metric (the release checks reject it) gets hourly slots and no flags.
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
ordered AS MATERIALIZED (
    SELECT
        *,
        lead(hour) OVER series AS next_hour,
        -- the neighbours: up to 3 observed slots either side, each kept only when it lies within 3 slots in
        -- time (a RANGE frame of ±3 steps, excluding the slot itself). Read with lag/lead on the sort the run
        -- detection needs anyway: DuckDB's windowed median over that frame doubled the model's cost.
        list_median([
            CASE WHEN lag(hour, 1) OVER series >= hour - to_hours(3 * step) THEN lag(value_avg, 1) OVER series END,
            CASE WHEN lag(hour, 2) OVER series >= hour - to_hours(3 * step) THEN lag(value_avg, 2) OVER series END,
            CASE WHEN lag(hour, 3) OVER series >= hour - to_hours(3 * step) THEN lag(value_avg, 3) OVER series END,
            CASE WHEN lead(hour, 1) OVER series <= hour + to_hours(3 * step) THEN lead(value_avg, 1) OVER series END,
            CASE WHEN lead(hour, 2) OVER series <= hour + to_hours(3 * step) THEN lead(value_avg, 2) OVER series END,
            CASE WHEN lead(hour, 3) OVER series <= hour + to_hours(3 * step) THEN lead(value_avg, 3) OVER series END
        ]) AS neighbour_median,
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
    SELECT r.device_id, r.metric, r.hour
    FROM run_members AS r
    JOIN dim_sensor_metric AS m USING (metric)
    -- every member of a run holds the same value, so this keeps or drops whole runs
    WHERE abs(r.value_avg) > m.stuck_ignore_max
    QUALIFY count(*) OVER (PARTITION BY r.device_id, r.metric, r.run_id) >= m.stuck_slots
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
        r.neighbour_median,
        coalesce(
            r.value_max > m.valid_max
                OR r.value_min < m.valid_min
                OR (
                    r.value_max > m.spike_factor * r.neighbour_median
                    AND r.value_max - r.neighbour_median >= m.spike_min_delta
                ),
            false
        ) AS is_spike,
        s.hour IS NOT NULL AS is_stuck,
        false AS is_gap
    FROM ordered AS r
    LEFT JOIN stuck AS s USING (device_id, metric, hour)
    LEFT JOIN dim_sensor_metric AS m ON m.metric = r.metric
),
gaps AS (
    SELECT
        device_id,
        metric,
        CAST(unnest(range(hour + to_hours(step), next_hour, to_hours(step))) AS TIMESTAMP) AS hour,
        CAST(0 AS BIGINT) AS readings,
        CAST(NULL AS DOUBLE) AS value_avg,
        CAST(NULL AS DOUBLE) AS value_min,
        CAST(NULL AS DOUBLE) AS value_max,
        CAST(NULL AS DOUBLE) AS neighbour_median,
        false AS is_spike,
        false AS is_stuck,
        true AS is_gap
    FROM ordered
    WHERE next_hour > hour + to_hours(step)
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
    f.neighbour_median
FROM flagged AS f
LEFT JOIN dim_device AS d ON d.device_id = f.device_id

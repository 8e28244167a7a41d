-- grain: one sensor metric from the sensor_metric seed: unit, reporting interval, valid range and quality-rule parameters
-- Each metric's code row carries the rules fct_sensor_hourly applies to it, so onboarding a metric
-- (a source mapping may add rows with the same columns) needs one CSV row, not SQL. An empty cell
-- takes the default applied here, so the release shows the values actually in force:
--   interval_hours    slot length in hours (a device reports once a slot)                 default 1
--   valid_min/max     the range a reading can physically take; outside it is a spike     default unbounded
--   spike_factor      a slot is a spike above spike_factor × its neighbours' median      default 3
--                     (use 1 for a metric that can be zero or negative, such as a temperature:
--                     then only spike_min_delta counts)
--   spike_min_delta   ... and only when at least this far above that median (metric's unit) default 0
--   stuck_slots       this many equal consecutive slots are a stuck run                    default 6
--   stuck_ignore_max  a run whose value is within ±stuck_ignore_max is never stuck: a     default 0
--                     resting zero, or low readings where the export's resolution leaves few
--                     distinct values (about ten resolution steps: 10 for integer μg/m³)
SELECT
    code AS metric,
    name_zh,
    name_en,
    CAST(unit AS VARCHAR) AS unit,
    CAST(device_kind AS VARCHAR) AS device_kind,
    coalesce(CAST(interval_hours AS INTEGER), 1) AS interval_hours,
    CAST(valid_min AS DOUBLE) AS valid_min,
    CAST(valid_max AS DOUBLE) AS valid_max,
    coalesce(CAST(spike_factor AS DOUBLE), 3) AS spike_factor,
    coalesce(CAST(spike_min_delta AS DOUBLE), 0) AS spike_min_delta,
    coalesce(CAST(stuck_slots AS INTEGER), 6) AS stuck_slots,
    coalesce(CAST(stuck_ignore_max AS DOUBLE), 0) AS stuck_ignore_max
FROM seed_sensor_metric

-- grain: one sensor metric from the sensor_metric seed, with its unit, physical maximum and reporting interval
SELECT
    code AS metric,
    name_zh,
    name_en,
    CAST(unit AS VARCHAR) AS unit,
    device_kind,
    CAST(physical_max AS DOUBLE) AS physical_max,
    CAST(interval_hours AS INTEGER) AS interval_hours
FROM seed_sensor_metric

-- grain: one reading (device_id, metric, measured_at), as first loaded
-- materialized: view
-- A view, never a table: raw readings are not copied into the release. A hash
-- aggregate rather than row_number(): millions of rows, nearly all unique.
SELECT
    device_id,
    metric,
    measured_at,
    arg_min(value, day) AS value,
    min(day) AS loaded_day
FROM lake_sensor_reading
GROUP BY device_id, metric, measured_at

-- grain: one reading (device_id, metric, measured_at), as first loaded
-- materialized: view
-- A view, never a table: raw readings are not copied into the release. A hash
-- aggregate rather than row_number(): millions of rows, nearly all unique. A reading
-- delivered twice on one landing day (two files) is the first file's: a total order, so
-- that two builds of one lake agree (warehouse/digest.py).
SELECT
    device_id,
    metric,
    measured_at,
    arg_min(value, (day, _file, _line)) AS value,
    min(day) AS loaded_day
FROM lake_sensor_reading
GROUP BY device_id, metric, measured_at

-- grain: one reading row as it sits in the lake (not de-duplicated), for drill-down to single readings
-- materialized: view
-- A view over lake_sensor_reading, itself a view over the lake Parquet by
-- absolute path: the millions of raw readings are never copied into a release.
SELECT
    device_id,
    metric,
    measured_at,
    value,
    day AS loaded_day,
    _source AS source
FROM lake_sensor_reading

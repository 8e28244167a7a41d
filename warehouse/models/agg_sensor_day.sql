-- grain: one day (slot_date), community, grid and device kind: the sensor slots of the day summed
-- patch: from slot_date
-- A rollup of fct_sensor_hourly the catalog reads for the KPIs that declare it (catalog.yaml `rollup:`).
-- A slot belongs to the day it starts on (a 4 h slot never crosses midnight).
SELECT
    CAST(hour AS DATE) AS slot_date,
    community_id,
    grid_id,
    kind,
    count(*) AS slots,
    count(*) FILTER (WHERE quality = 'ok') AS ok_slots
FROM fct_sensor_hourly
GROUP BY ALL

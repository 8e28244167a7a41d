-- grain: the release (one row): the first day with any sensor slot
-- Its own model, not a subquery of fct_device_status: a build on a base patches the device days of a night
-- alone, and this day (where every sensor's calendar starts) must still come from every slot.
SELECT CAST(min(hour) AS DATE) AS first_day
FROM fct_sensor_hourly

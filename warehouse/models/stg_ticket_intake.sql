-- grain: one ticket as received by one channel (channel, source_ticket_id), as first loaded
-- patch: channel, source_ticket_id
-- Event table: a ticket re-sent by a later export keeps its first loaded version.
SELECT
    channel,
    source_ticket_id,
    channel || ':' || source_ticket_id AS ticket_id,
    received_at,
    category,
    title,
    content,
    address,
    -- the duplicate / repeat key: the address with all (also full-width) spaces removed; the class spelt out
    -- ([[:space:]] and the ideographic space) so that Java's regular expressions (Spark) read it alike
    nullif(regexp_replace(coalesce(address, ''), '[\t\n\x0B\f\r \x{3000}]+', '', 'g'), '') AS address_key,
    grid_id,
    lon,
    lat,
    reporter_kind,
    reporter_group,
    self_resolved,
    _source,
    day AS loaded_day
FROM lake_ticket_intake
QUALIFY row_number() OVER (
    PARTITION BY channel, source_ticket_id ORDER BY day, _loaded_at, _file, _line
) = 1

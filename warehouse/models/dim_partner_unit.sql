-- grain: one partner unit of the 邻里党建共同体
SELECT partner_id, name, kind, community_id, joined_on
FROM stg_partner_unit

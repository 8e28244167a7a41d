-- grain: one ticket channel (渠道) from the channel seed
SELECT code AS channel, name_zh, name_en
FROM seed_channel

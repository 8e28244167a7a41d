-- grain: one enforcement / safety domain from the domain seed
SELECT code AS domain, name_zh, name_en
FROM seed_domain

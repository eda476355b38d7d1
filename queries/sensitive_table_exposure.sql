-- name: sensitive_table_exposure
-- title: Tables exposed to the most users
-- purpose: Database tables ranked by how many distinct users can read data from them through any content.
-- purpose: Filter with a name pattern (e.g. %salar%) to focus on sensitive tables.
-- param: pattern string default % -- LIKE pattern on schema.table
-- param: top int default 20 -- how many tables
-- requires: table_exposure
SELECT database_name, schema_name, table_name,
       count(DISTINCT user_id)     AS users,
       count(DISTINCT via_content) AS via_content_items
FROM table_exposure
WHERE capability = 'Read'
  AND lower(coalesce(schema_name || '.', '') || table_name) LIKE lower($pattern)
GROUP BY ALL
ORDER BY users DESC, database_name, schema_name, table_name
LIMIT $top;

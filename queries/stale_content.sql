-- name: stale_content
-- title: Content not updated for N days
-- purpose: Workbooks, data sources and flows whose updated_at is older than the cut-off, with their owner;
-- purpose: candidates for archiving before they are reviewed for access.
-- param: days int default 180 -- days since the last update
-- param: as_of date -- reference date (default: today), for reproducible reports
SELECT c.content_type, c.content_id, c.name, c.project_path,
       u.name AS owner_name,
       x.updated_at,
       date_diff('day', x.updated_at, coalesce(CAST($as_of AS TIMESTAMP), now()::TIMESTAMP)) AS days_since_update
FROM content c
JOIN (
    SELECT 'workbook' AS t, id, updated_at FROM workbooks
    UNION ALL SELECT 'datasource', id, updated_at FROM datasources
    UNION ALL SELECT 'flow', id, updated_at FROM flows
) x ON x.t = c.content_type AND x.id = c.content_id
LEFT JOIN users u ON u.id = c.owner_id
WHERE x.updated_at < coalesce(CAST($as_of AS TIMESTAMP), now()::TIMESTAMP) - to_days(CAST($days AS INTEGER))
ORDER BY x.updated_at, c.project_path, c.name;

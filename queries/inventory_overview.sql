-- name: inventory_overview
-- title: Content inventory by project and type
-- purpose: How much content each project holds, by content type, with the project's permission mode.
-- purpose: A first look at a site's shape before reading access.
SELECT c.project_path,
       c.content_type,
       count(*)                                  AS items,
       any_value(p.content_permissions)          AS project_mode
FROM content c
LEFT JOIN projects p ON p.id = c.project_id
WHERE c.content_type <> 'project'
GROUP BY ALL
ORDER BY c.project_path, c.content_type;

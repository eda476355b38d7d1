-- name: project_owner_chain
-- title: Owners along each project's chain
-- purpose: For every project, the owners of it and of each ancestor: all of them hold full access
-- purpose: to the project's content (within their site role).
WITH RECURSIVE chain(project_id, ancestor_id, depth) AS (
    SELECT id, id, 0 FROM projects
    UNION ALL
    SELECT c.project_id, p.parent_project_id, c.depth + 1
    FROM chain c JOIN projects p ON p.id = c.ancestor_id
    WHERE p.parent_project_id IS NOT NULL AND c.depth < 64
)
SELECT pc.project_path,
       string_agg(coalesce(u.name, '(missing user ' || a.owner_id || ')'), ' <- ' ORDER BY ch.depth) AS owners_up_the_chain
FROM chain ch
JOIN projects a ON a.id = ch.ancestor_id
JOIN content pc ON pc.content_type = 'project' AND pc.content_id = ch.project_id
LEFT JOIN users u ON u.id = a.owner_id
GROUP BY pc.project_path
ORDER BY pc.project_path;

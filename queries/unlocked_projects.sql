-- name: unlocked_projects
-- title: Customizable (unlocked) projects
-- purpose: Projects whose content carries its own rules (ManagedByOwner) and is not under a locked ancestor.
-- purpose: Content owners there can grant access that the project's defaults do not show.
SELECT c.project_path, p.name, u.name AS owner_name, p.content_permissions,
       (SELECT count(*) FROM content x WHERE x.project_id = p.id AND x.content_type <> 'project') AS items
FROM projects p
JOIN content c ON c.content_type = 'project' AND c.content_id = p.id
LEFT JOIN users u ON u.id = p.owner_id
WHERE p.content_permissions = 'ManagedByOwner'
  AND (p.controlling_permissions_project_id IS NULL OR p.controlling_permissions_project_id = p.id)
ORDER BY c.project_path;

-- name: admins_and_leaders
-- title: Administrators, project owners and project leaders
-- purpose: Everyone who administers the site or a project: they bypass content rules within their site role.
SELECT 'administrator' AS position, u.name AS user_name, u.site_role, NULL AS project_path
FROM users u
WHERE u.site_role IN ('ServerAdministrator', 'SiteAdministratorCreator', 'SiteAdministratorExplorer', 'SiteAdministrator')
UNION ALL
SELECT CASE e.reason WHEN 'PROJECT_OWNER' THEN 'project owner' ELSE 'project leader' END,
       e.user_name, u.site_role, e.project_path
FROM effective_permissions e
JOIN users u ON u.id = e.user_id
WHERE e.content_type = 'project' AND e.capability = 'ProjectLeader' AND e.decision = 'allow'
  AND e.basis = 'current' AND e.reason IN ('PROJECT_OWNER', 'PROJECT_LEADER')
ORDER BY position, project_path NULLS FIRST, user_name;

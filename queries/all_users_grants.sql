-- name: all_users_grants
-- title: Allows granted to All Users
-- purpose: Every Allow given to the built-in All Users group, which holds every user of the site.
-- purpose: Tableau advises clearing it; each row reaches everyone within their site role.
SELECT r.object_type, coalesce(c.name, r.object_id) AS object_name, c.project_path, r.rule_set,
       string_agg(r.capability, ', ' ORDER BY r.capability) AS capabilities
FROM permission_rules r
JOIN groups g ON g.id = r.grantee_id AND r.grantee_type = 'group' AND g.is_all_users
LEFT JOIN content c ON c.content_id = r.object_id
WHERE r.mode = 'Allow'
GROUP BY ALL
ORDER BY c.project_path, object_name, r.rule_set;

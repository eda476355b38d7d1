-- name: user_level_rules
-- title: Explicit user-level rules
-- purpose: Rules granted to single users rather than groups. Tableau recommends groups;
-- purpose: user rules are hard to review and survive role changes.
SELECT r.object_type, r.object_id, coalesce(c.name, r.object_id) AS object_name, c.project_path,
       r.rule_set, u.name AS user_name, r.capability, r.mode
FROM permission_rules r
LEFT JOIN users u ON u.id = r.grantee_id
LEFT JOIN content c ON c.content_id = r.object_id
WHERE r.grantee_type = 'user'
ORDER BY c.project_path, object_name, user_name, r.capability;

-- name: deny_rules
-- title: Deny rules
-- purpose: Every explicit Deny, with its grantee. Denies are legitimate but easy to misread:
-- purpose: a group Deny beats every group Allow, and a user Allow beats a group Deny.
SELECT r.object_type, coalesce(c.name, r.object_id) AS object_name, c.project_path, r.rule_set,
       r.grantee_type,
       coalesce(g.name, u.name, gs.name, r.grantee_id) AS grantee_name,
       r.capability
FROM permission_rules r
LEFT JOIN content c ON c.content_id = r.object_id
LEFT JOIN groups g ON r.grantee_type = 'group' AND g.id = r.grantee_id
LEFT JOIN users u ON r.grantee_type = 'user' AND u.id = r.grantee_id
LEFT JOIN group_sets gs ON r.grantee_type = 'groupset' AND gs.id = r.grantee_id
WHERE r.mode = 'Deny'
ORDER BY c.project_path, object_name, grantee_name, r.capability;

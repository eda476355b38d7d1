-- name: access_of_user
-- title: Everything one user can do
-- purpose: Every allowed capability of one user (by name, email or LUID), with the reason and the deciding rule.
-- param: user string required -- user name, email or LUID
-- param: basis string default current -- current or projected (access after the next sign-in)
SELECT e.content_type, e.content_name, e.project_path, e.capability, e.reason, e.deciding_rule, e.confidence
FROM effective_permissions e
WHERE e.user_id IN (SELECT id FROM users WHERE id = $user OR name = $user OR lower(email) = lower($user))
  AND e.decision = 'allow' AND e.basis = $basis
ORDER BY e.project_path, e.content_type, e.content_name, e.capability;

-- name: access_to_item
-- title: Everyone who can do something with one item
-- purpose: Users allowed a capability on one item (by LUID or name), with the reason.
-- param: item string required -- content LUID or name
-- param: capability string default Read -- capability to check
SELECT e.content_type, e.content_name, e.user_name, e.capability, e.reason, e.deciding_rule
FROM effective_permissions e
WHERE e.content_id IN (SELECT content_id FROM content WHERE content_id = $item OR name = $item)
  AND e.capability = $capability AND e.decision = 'allow' AND e.basis = 'current'
ORDER BY e.content_name, e.user_name;

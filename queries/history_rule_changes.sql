-- name: history_rule_changes
-- title: Permission rules added and removed between two snapshots
-- purpose: Configured rules (item rules and project defaults) present in one snapshot and not the other, per site,
-- purpose: from a model built with `tabaudit model --snapshots ROOT`. For the access users actually gained or lost, use `tabaudit diff`.
-- param: from string -- earlier snapshot time, e.g. 20260901T053000Z (default: the one before the latest)
-- param: to string -- later snapshot time (default: the latest)
-- requires: history_permission_rules
WITH snaps AS (
    SELECT site, snapshot, dense_rank() OVER (PARTITION BY site ORDER BY snapshot DESC) AS age
    FROM (SELECT DISTINCT site, CAST(snapshot AS VARCHAR) AS snapshot FROM history_permission_rules)
),
pick AS (
    SELECT site,
           coalesce($from, max(snapshot) FILTER (WHERE age = 2)) AS from_snap,
           coalesce($to, max(snapshot) FILTER (WHERE age = 1)) AS to_snap
    FROM snaps GROUP BY site
),
r AS (SELECT site, CAST(snapshot AS VARCHAR) AS snapshot, object_type, object_id, rule_set, grantee_type, grantee_id, capability, mode
      FROM history_permission_rules),
a AS (SELECT r.* EXCLUDE (snapshot) FROM r JOIN pick p ON r.site = p.site AND r.snapshot = p.from_snap),
b AS (SELECT r.* EXCLUDE (snapshot) FROM r JOIN pick p ON r.site = p.site AND r.snapshot = p.to_snap),
changes AS (
    SELECT 'added' AS change, * FROM (SELECT * FROM b EXCEPT SELECT * FROM a)
    UNION ALL
    SELECT 'removed', * FROM (SELECT * FROM a EXCEPT SELECT * FROM b)
)
SELECT c.change, c.site, p.from_snap, p.to_snap, c.object_type,
       coalesce(ct.name, c.object_id) AS object_name, c.rule_set, c.grantee_type,
       coalesce(g.name, u.name, gs.name, c.grantee_id) AS grantee_name, c.capability, c.mode
FROM changes c
JOIN pick p ON p.site = c.site
LEFT JOIN (SELECT DISTINCT site, id, name FROM history_workbooks UNION SELECT DISTINCT site, id, name FROM history_views
           UNION SELECT DISTINCT site, id, name FROM history_projects UNION SELECT DISTINCT site, id, name FROM history_datasources) ct
       ON ct.site = c.site AND ct.id = c.object_id
LEFT JOIN (SELECT DISTINCT site, id, name FROM history_groups) g ON c.grantee_type = 'group' AND g.site = c.site AND g.id = c.grantee_id
LEFT JOIN (SELECT DISTINCT site, id, name FROM history_users) u ON c.grantee_type = 'user' AND u.site = c.site AND u.id = c.grantee_id
LEFT JOIN (SELECT DISTINCT site, id, name FROM history_group_sets) gs ON c.grantee_type = 'groupset' AND gs.site = c.site AND gs.id = c.grantee_id
ORDER BY c.site, c.change, object_name, c.rule_set, grantee_name, c.capability;

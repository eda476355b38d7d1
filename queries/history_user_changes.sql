-- name: history_user_changes
-- title: Users added, removed or with a new site role between two snapshots
-- purpose: Per site, from a model built with `tabaudit model --snapshots ROOT`: site-role changes
-- purpose: (promotions widen every user's ceiling), and users who joined or left the site.
-- param: from string -- earlier snapshot time (default: the one before the latest)
-- param: to string -- later snapshot time (default: the latest)
-- requires: history_users
WITH snaps AS (
    SELECT site, snapshot, dense_rank() OVER (PARTITION BY site ORDER BY snapshot DESC) AS age
    FROM (SELECT DISTINCT site, CAST(snapshot AS VARCHAR) AS snapshot FROM history_users)
),
pick AS (
    SELECT site,
           coalesce($from, max(snapshot) FILTER (WHERE age = 2)) AS from_snap,
           coalesce($to, max(snapshot) FILTER (WHERE age = 1)) AS to_snap
    FROM snaps GROUP BY site
),
a AS (SELECT h.site, h.id, h.name, h.site_role FROM history_users h JOIN pick p ON h.site = p.site AND CAST(h.snapshot AS VARCHAR) = p.from_snap),
b AS (SELECT h.site, h.id, h.name, h.site_role FROM history_users h JOIN pick p ON h.site = p.site AND CAST(h.snapshot AS VARCHAR) = p.to_snap)
SELECT CASE WHEN a.id IS NULL THEN 'added' WHEN b.id IS NULL THEN 'removed' ELSE 'role changed' END AS change,
       coalesce(b.site, a.site) AS site, p.from_snap, p.to_snap,
       coalesce(b.name, a.name) AS user_name, a.site_role AS role_before, b.site_role AS role_after
FROM a FULL JOIN b ON a.site = b.site AND a.id = b.id
JOIN pick p ON p.site = coalesce(b.site, a.site)
WHERE a.id IS NULL OR b.id IS NULL OR a.site_role IS DISTINCT FROM b.site_role
ORDER BY site, change, user_name;

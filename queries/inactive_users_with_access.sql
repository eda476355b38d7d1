-- name: inactive_users_with_access
-- title: Users with no sign-in for N days who still have access
-- purpose: Users who never signed in, or not for the given number of days, and can still view content.
-- purpose: The usual first clean-up of a quarterly review.
-- param: days int default 90 -- days without sign-in
-- param: as_of date -- reference date (default: today), for reproducible reports
WITH inactive AS (
    SELECT id, name, site_role, last_login
    FROM users
    WHERE site_role <> 'Unlicensed'
      AND (last_login IS NULL OR last_login < coalesce(CAST($as_of AS TIMESTAMP), now()::TIMESTAMP) - to_days(CAST($days AS INTEGER)))
)
SELECT i.name AS user_name, i.site_role, i.last_login,
       count(*) FILTER (WHERE e.content_type = 'workbook')   AS workbooks_readable,
       count(*) FILTER (WHERE e.content_type = 'datasource') AS datasources_readable,
       count(*)                                              AS items_readable
FROM inactive i
JOIN effective_permissions e ON e.user_id = i.id
WHERE e.capability = 'Read' AND e.decision = 'allow' AND e.basis = 'current'
GROUP BY ALL
ORDER BY items_readable DESC, user_name;

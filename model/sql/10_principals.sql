-- name: 10_principals
-- purpose: normalise users, groups and group sets (spec §4.1, §9.1-9.3) and
--   compress users into principal classes (spec §12.1).
-- inputs: users, groups, group_members, group_sets, group_set_members,
--   m_roles and m_ceiling (inserted from model/eval before this file runs).

-- Roles: a site role the engine does not know is evaluated as Unlicensed
-- (nothing) and flagged, never dropped.
CREATE OR REPLACE TABLE m_all_users AS
SELECT id AS group_id FROM groups WHERE coalesce(is_all_users, false);

-- Memberships without All Users: everybody is in All Users whatever the
-- downloaded list says (spec §9.1), so it is handled per ACL instead.
CREATE OR REPLACE TABLE m_members AS
SELECT DISTINCT gm.user_id, gm.group_id
FROM group_members gm
JOIN groups g ON g.id = gm.group_id
JOIN users u ON u.id = gm.user_id
WHERE gm.group_id NOT IN (SELECT group_id FROM m_all_users);

-- Projected role (spec §9.3): the higher of the current role and the minimum
-- site role of every member group with a grant mode, taken in group-id order
-- with the first of equal rank kept; when the server reports
-- glsi_minimum_site_role, that value replaces the group computation (as in
-- model/eval). role_order_ambiguous marks a choice made between Creator and
-- SiteAdministratorExplorer, whose order is undocumented (U11).
CREATE OR REPLACE TABLE m_users AS
WITH cur AS (
    SELECT u.id AS user_id, coalesce(u.name, u.id) AS user_name, u.site_role AS role_raw,
           coalesce(r.role, 'Unlicensed') AS role_key, r.role IS NULL AS role_unknown,
           coalesce(r.rank, -1) AS rank, coalesce(r.treated_as, '') AS treated_as, nullif(u.glsi_minimum_site_role, '') AS glsi
    FROM users u LEFT JOIN m_roles r ON r.role = u.site_role
), seq AS (
    -- The candidates in evaluation order: the current role, then either
    -- glsi or the grant-mode groups by id.
    SELECT user_id, 0 AS pos, '' AS gid, role_key AS role, rank, treated_as FROM cur
    UNION ALL
    SELECT c.user_id, 1, '', r.role, r.rank, r.treated_as
    FROM cur c JOIN m_roles r ON r.role = c.glsi
    UNION ALL
    SELECT m.user_id, 1, m.group_id, r.role, r.rank, r.treated_as
    FROM m_members m JOIN groups g ON g.id = m.group_id JOIN m_roles r ON r.role = g.minimum_site_role
    JOIN cur c ON c.user_id = m.user_id
    WHERE g.grant_license_mode IN ('onLogin', 'onSync') AND c.glsi IS NULL
    UNION ALL
    SELECT c.user_id, 1, g.id, r.role, r.rank, r.treated_as
    FROM cur c CROSS JOIN groups g JOIN m_roles r ON r.role = g.minimum_site_role
    WHERE coalesce(g.is_all_users, false) AND g.grant_license_mode IN ('onLogin', 'onSync') AND c.glsi IS NULL
), run AS (
    SELECT *, max(rank) OVER (PARTITION BY user_id ORDER BY pos, gid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS best_before
    FROM seq
), proj AS (
    SELECT user_id,
           arg_min(role, (-rank, pos, gid)) AS role,
           bool_or((treated_as = 'Creator' AND best_before = (SELECT rank FROM m_roles WHERE role = 'SiteAdministratorExplorer'))
                OR (treated_as = 'SiteAdministratorExplorer' AND best_before = (SELECT rank FROM m_roles WHERE role = 'Creator')))
             AS ambiguous
    FROM run GROUP BY user_id
)
SELECT c.user_id, c.user_name, c.role_raw, c.role_key AS role_current, c.role_unknown,
       coalesce(p.role, c.role_key) AS role_projected,
       c.role_unknown AND coalesce(p.role, c.role_key) = c.role_key AS projected_unknown,
       coalesce(p.ambiguous, false) AS role_order_ambiguous
FROM cur c LEFT JOIN proj p USING (user_id);

-- Principal classes: users with the same set of groups share every group and
-- group-set decision. Roles are joined separately (per basis), so the class
-- key is the sorted group list alone.
CREATE OR REPLACE TABLE m_user_class AS
WITH k AS (
    SELECT u.user_id, coalesce(string_agg(m.group_id, ',' ORDER BY m.group_id), '') AS gkey
    FROM m_users u LEFT JOIN m_members m USING (user_id)
    GROUP BY u.user_id
)
SELECT user_id, dense_rank() OVER (ORDER BY gkey)::INTEGER AS class_id FROM k;

CREATE OR REPLACE TABLE m_class_groups AS
SELECT DISTINCT c.class_id, m.group_id FROM m_user_class c JOIN m_members m USING (user_id);

-- Group sets (spec §9.2): a set matches a user who is in every one of its
-- groups. All Users is implicit, so a set made only of All Users matches
-- everybody ("universal"); a set with no groups matches nobody.
CREATE OR REPLACE TABLE m_set_groups AS
SELECT group_set_id AS set_id, group_id, count(*) OVER (PARTITION BY group_set_id) AS n
FROM (SELECT DISTINCT group_set_id, group_id FROM group_set_members) s
WHERE group_id NOT IN (SELECT group_id FROM m_all_users);

CREATE OR REPLACE TABLE m_universal_sets AS
SELECT DISTINCT group_set_id AS set_id FROM group_set_members
WHERE group_set_id NOT IN (SELECT set_id FROM m_set_groups);

CREATE OR REPLACE TABLE m_class_sets AS
SELECT cg.class_id, sg.set_id
FROM m_class_groups cg JOIN m_set_groups sg ON sg.group_id = cg.group_id
GROUP BY cg.class_id, sg.set_id
HAVING count(*) = max(sg.n);

-- Per class: its groups and matched group sets, sorted.
CREATE OR REPLACE TABLE m_class_lists AS
SELECT coalesce(g.class_id, s.class_id) AS class_id, coalesce(g.groups, []) AS groups, coalesce(s.sets, []) AS sets
FROM (SELECT class_id, list(group_id ORDER BY group_id) AS groups FROM m_class_groups GROUP BY class_id) g
FULL JOIN (SELECT class_id, list(set_id ORDER BY set_id) AS sets FROM m_class_sets GROUP BY class_id) s USING (class_id);

-- One row per user and basis: the role the ceiling and the administrator
-- step see (spec §9.3: group rules do not depend on the basis).
CREATE OR REPLACE TABLE m_user_basis AS
SELECT u.user_id, u.user_name, b.basis, b.role, r.admin,
       -- An unknown role is evaluated with an empty cap but keeps its name.
       CASE WHEN b.role_unknown THEN u.role_raw ELSE r.treated_as END AS treated_as, r.flag AS role_flag,
       r.confidence AS role_confidence, b.role_unknown, b.ambiguous, r.ceiling AS ceiling_column, c.class_id,
       coalesce(l.groups, []) AS groups, coalesce(l.sets, []) AS sets
FROM m_users u
JOIN m_user_class c USING (user_id)
LEFT JOIN m_class_lists l USING (class_id)
CROSS JOIN LATERAL (VALUES ('current', u.role_current, false, u.role_unknown),
                           ('projected', u.role_projected, u.role_order_ambiguous, u.projected_unknown)) b(basis, role, ambiguous, role_unknown)
JOIN m_roles r ON r.role = b.role
ORDER BY u.user_id;

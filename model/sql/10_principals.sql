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
-- site role of every member group with a grant mode; the server's own
-- glsi_minimum_site_role, when present, replaces the group computation.
CREATE OR REPLACE TABLE m_users AS
WITH cur AS (
    SELECT u.id AS user_id, coalesce(u.name, u.id) AS user_name, u.site_role AS role_raw,
           coalesce(r.role, 'Unlicensed') AS role_key, r.role IS NULL AS role_unknown,
           coalesce(r.rank, -1) AS rank, u.glsi_minimum_site_role AS glsi
    FROM users u LEFT JOIN m_roles r ON r.role = u.site_role
), grp AS (
    SELECT m.user_id, arg_max(r.role, r.rank) AS role, max(r.rank) AS rank
    FROM m_members m JOIN groups g ON g.id = m.group_id JOIN m_roles r ON r.role = g.minimum_site_role
    WHERE g.grant_license_mode IN ('onLogin', 'onSync')
    GROUP BY m.user_id
), lifted AS (
    SELECT c.*, CASE WHEN gr.role IS NOT NULL THEN gr.role ELSE g.role END AS lift_role,
           CASE WHEN gr.role IS NOT NULL THEN gr.rank ELSE g.rank END AS lift_rank,
           g.role AS group_lift_role, gr.role AS glsi_role
    FROM cur c LEFT JOIN grp g USING (user_id) LEFT JOIN m_roles gr ON gr.role = c.glsi
)
SELECT user_id, user_name, role_raw, role_key AS role_current, role_unknown,
       CASE WHEN lift_rank > rank THEN lift_role ELSE role_key END AS role_projected,
       glsi_role IS NOT NULL AND group_lift_role IS DISTINCT FROM glsi_role
         AND coalesce(group_lift_role, role_key) <> glsi_role AS glsi_mismatch
FROM lifted;

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

-- One row per user and basis: the role the ceiling and the administrator
-- step see (spec §9.3: group rules do not depend on the basis).
CREATE OR REPLACE TABLE m_user_basis AS
SELECT u.user_id, u.user_name, b.basis, b.role, r.admin, r.treated_as, r.flag AS role_flag,
       r.confidence AS role_confidence, u.role_unknown, c.class_id
FROM m_users u
JOIN m_user_class c USING (user_id)
CROSS JOIN LATERAL (VALUES ('current', u.role_current), ('projected', u.role_projected)) b(basis, role)
JOIN m_roles r ON r.role = b.role
ORDER BY u.user_id;

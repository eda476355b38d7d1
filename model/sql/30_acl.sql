-- name: 30_acl
-- purpose: resolve the rule list that governs every item (spec §7.3, §7.4),
--   key items by ACL key = (governing rule list, content type) (spec §12.2),
--   give each capability a bit per content type and fold each ACL's rules
--   into per-grantee allow/deny masks (spec §12.3).
-- inputs: m_projects, workbooks, views, datasources, flows, virtual_connections,
--   databases, tables, permission_rules, m_cap_catalog, m_ceiling, m_roles.

-- Every item, projects included. rl_* name the governing rule list as stored
-- in permission_rules (object_type, object_id, rule_set). locked_for is the
-- owner exception for ChangePermissions (spec §8.5 lockedFor); lock_cp is the
-- step-9 guard (projectLocked).
CREATE OR REPLACE TABLE m_items AS
SELECT 'project' AS content_type, p.project_id AS content_id, p.name, p.project_id, p.path AS project_path,
       p.owner_id, NULL::VARCHAR[] AS tags, 'project' AS rl_type, p.ctrl AS rl_id, 'item' AS rl_set,
       false AS locked_for, false AS lock_cp, false AS personal, p.ctrl <> p.project_id AS nested_lock,
       false AS own_acl_view, NULL AS workbook_id
FROM m_projects p
UNION ALL BY NAME
SELECT x.content_type, x.id AS content_id, x.name, x.project_id, p.path AS project_path, x.owner_id, x.tags,
       CASE WHEN p.locked THEN 'project' ELSE x.content_type END AS rl_type,
       CASE WHEN p.locked THEN p.ctrl ELSE x.id END AS rl_id,
       CASE WHEN p.locked THEN 'default:' || x.content_type ELSE 'item' END AS rl_set,
       coalesce(p.locked, false) AS locked_for, coalesce(p.locked, false) AS lock_cp, x.personal, false AS nested_lock
FROM (
    SELECT 'workbook' AS content_type, id, name, project_id, owner_id, tags, location_type = 'PersonalSpace' AS personal FROM workbooks
    UNION ALL SELECT 'datasource', id, name, project_id, owner_id, tags, location_type = 'PersonalSpace' FROM datasources
    UNION ALL SELECT 'flow', id, name, project_id, owner_id, tags, false FROM flows
    UNION ALL SELECT 'virtualconnection', id, name, project_id, owner_id, NULL, false FROM virtual_connections
) x LEFT JOIN m_projects p ON p.project_id = x.project_id
UNION ALL BY NAME
-- Views: locked project -> the controlling project's default workbook rules;
-- tabs shown -> the workbook's own rules; else the view's own (spec §7.3, §7.4).
-- The owner of a view is the owner of its workbook.
SELECT 'view' AS content_type, v.id AS content_id, v.name, coalesce(w.project_id, v.project_id) AS project_id,
       p.path AS project_path, coalesce(w.owner_id, v.owner_id) AS owner_id, v.tags,
       CASE WHEN p.locked THEN 'project' WHEN coalesce(w.show_tabs, false) THEN 'workbook' ELSE 'view' END AS rl_type,
       CASE WHEN p.locked THEN p.ctrl WHEN coalesce(w.show_tabs, false) THEN w.id ELSE v.id END AS rl_id,
       CASE WHEN p.locked THEN 'default:workbook' ELSE 'item' END AS rl_set,
       coalesce(p.locked, false) AS locked_for, coalesce(p.locked, false) AS lock_cp,
       coalesce(w.location_type = 'PersonalSpace', false) AS personal, false AS nested_lock,
       NOT coalesce(p.locked, false) AND NOT coalesce(w.show_tabs, false) AND w.id IS NOT NULL AS own_acl_view,
       w.id AS workbook_id
FROM views v
LEFT JOIN workbooks w ON w.id = v.workbook_id
LEFT JOIN m_projects p ON p.project_id = coalesce(w.project_id, v.project_id)
UNION ALL BY NAME
SELECT 'database' AS content_type, id AS content_id, name, NULL AS project_id, NULL AS project_path, contact_id AS owner_id,
       NULL::VARCHAR[] AS tags, 'database' AS rl_type, id AS rl_id, 'item' AS rl_set,
       false AS locked_for, false AS lock_cp, false AS personal, false AS nested_lock
FROM databases
UNION ALL BY NAME
-- Tables of a LockedToDatabase database follow its default table rules; only
-- the owner exception applies there, not the step-9 guard (spec §8.2, U4).
SELECT 'table' AS content_type, t.id AS content_id, t.name, NULL AS project_id, NULL AS project_path, t.contact_id AS owner_id,
       NULL::VARCHAR[] AS tags,
       CASE WHEN d.content_permissions = 'LockedToDatabase' THEN 'database' ELSE 'table' END AS rl_type,
       CASE WHEN d.content_permissions = 'LockedToDatabase' THEN d.id ELSE t.id END AS rl_id,
       CASE WHEN d.content_permissions = 'LockedToDatabase' THEN 'default:table' ELSE 'item' END AS rl_set,
       coalesce(d.content_permissions = 'LockedToDatabase', false) AS locked_for, false AS lock_cp, false AS personal,
       false AS nested_lock
FROM tables t LEFT JOIN databases d ON d.id = t.database_id;

-- ACL keys (spec §12.2).
CREATE OR REPLACE TABLE m_acl AS
SELECT row_number() OVER (ORDER BY rl_type, rl_id, rl_set, content_type)::INTEGER AS acl_id,
       rl_type, rl_id, rl_set, content_type,
       rl_type || ':' || rl_id || CASE WHEN rl_set = 'item' THEN '' ELSE '/' || rl_set END AS label
FROM (SELECT DISTINCT rl_type, rl_id, rl_set, content_type FROM m_items);

-- wb_acl_id: for a view with its own rules, the ACL of its workbook, whose
-- Read decision VIEW_WITHOUT_WORKBOOK_READ compares with (spec §7.4).
CREATE OR REPLACE TABLE m_content AS
SELECT i.* EXCLUDE (own_acl_view, workbook_id), a.acl_id, a.label AS acl_label, wa.acl_id AS wb_acl_id
FROM m_items i JOIN m_acl a USING (rl_type, rl_id, rl_set, content_type)
LEFT JOIN m_acl wa ON i.own_acl_view AND wa.rl_type = 'workbook' AND wa.rl_id = i.workbook_id AND wa.rl_set = 'item'
     AND wa.content_type = 'workbook'
ORDER BY a.acl_id;

-- The rules of every governing rule list, per ACL key.
CREATE OR REPLACE TABLE m_acl_rules AS
SELECT a.acl_id, a.content_type, a.rl_type, a.rl_set, r.grantee_type, r.grantee_id, r.capability, r.mode
FROM m_acl a
JOIN permission_rules r ON r.object_type = a.rl_type AND r.object_id = a.rl_id AND r.rule_set = a.rl_set;

-- Capability bits per content type: the catalogue, then every capability
-- that stored rules carry on a type (rules on the type's objects, or default
-- rules for it) although the catalogue does not list it there: kept and
-- flagged UNKNOWN_CAPABILITY (spec §2). Superseded rule lists count too, as
-- in model/eval: the name was observed on the type. InheritedProjectLeader is
-- never an input (spec §10.3), and rules with an unknown mode are ignored.
CREATE OR REPLACE TABLE m_type_caps AS
SELECT content_type, capability, (ord - 1)::INTEGER AS bit, true AS known, retired FROM m_cap_catalog
UNION ALL
SELECT u.content_type, u.capability,
       ((SELECT max(ord) FROM m_cap_catalog c WHERE c.content_type = u.content_type)
        + row_number() OVER (PARTITION BY u.content_type ORDER BY u.capability) - 1)::INTEGER,
       false, false
FROM (
    SELECT DISTINCT CASE WHEN r.rule_set LIKE 'default:%' THEN substr(r.rule_set, 9) ELSE r.object_type END AS content_type,
           r.capability
    FROM permission_rules r
    WHERE r.capability <> 'InheritedProjectLeader' AND r.mode IN ('Allow', 'Deny')
) u
WHERE u.content_type IN (SELECT DISTINCT content_type FROM m_cap_catalog)
  AND NOT EXISTS (SELECT 1 FROM m_cap_catalog c WHERE c.content_type = u.content_type AND c.capability = u.capability);

-- The ceiling per (REST role, content type, capability) with its bit. A
-- capability the matrix has no cell for is inside the cap of every licensed
-- role but Guest, with confidence U: an audit must rather show a possible
-- grant than hide one (the rule model/eval applies).
CREATE OR REPLACE TABLE m_ceiling_bits AS
SELECT r.role, k.content_type, k.capability, k.bit, k.known, k.retired,
       CASE WHEN c.role IS NULL THEN r.ceiling NOT IN ('-', 'Guest') ELSE c.allowed END AS allowed,
       coalesce(c.confidence, 'U') AS cell_conf,
       c.role IS NOT NULL AND c.cell_confidence = 'U' AND k.known AS unresolved
FROM m_roles r CROSS JOIN m_type_caps k
LEFT JOIN m_ceiling c ON c.role = r.role AND c.content_type = k.content_type AND c.capability = k.capability;

-- Grantees get a small integer id; labels are built only for the rows a
-- query asks to explain.
CREATE OR REPLACE TABLE m_grantees AS
SELECT row_number() OVER (ORDER BY grantee_type, grantee_id)::INTEGER AS gid, grantee_type, grantee_id,
       grantee_type || ':' || grantee_id AS label
FROM (SELECT DISTINCT grantee_type, grantee_id FROM m_acl_rules);

-- Per ACL key and grantee: allow and deny masks. One grantee holding both
-- Allow and Deny for a capability counts as Deny (spec §10.1). kind separates
-- the tiers: user, au (All Users), group, us (a set of only All Users), set.
-- Grantees that are not on the site match nobody (finding UNKNOWN_GRANTEE).
CREATE OR REPLACE TABLE m_acl_grants AS
WITH m AS (
    SELECT r.acl_id, r.grantee_type, r.grantee_id,
           bit_or(CASE WHEN r.mode = 'Allow' THEN 1::BIGINT << k.bit ELSE 0::BIGINT END) AS allow_raw,
           bit_or(CASE WHEN r.mode = 'Deny' THEN 1::BIGINT << k.bit ELSE 0::BIGINT END) AS deny
    FROM m_acl_rules r JOIN m_type_caps k ON k.content_type = r.content_type AND k.capability = r.capability
    GROUP BY r.acl_id, r.grantee_type, r.grantee_id
)
-- Virtual connections: Write and its Overwrite alias are one capability
-- (spec §2.6): a grantee stating either gets both, Deny if either is Deny.
, vc AS (
    SELECT coalesce(bit_or(1::BIGINT << bit), 0) AS wo FROM m_type_caps
    WHERE content_type = 'virtualconnection' AND capability IN ('Write', 'Overwrite')
), m2 AS (
    SELECT m.acl_id, m.grantee_type, m.grantee_id,
           CASE WHEN a.content_type = 'virtualconnection' AND (m.deny & vc.wo) <> 0 THEN m.allow_raw & ~vc.wo
                WHEN a.content_type = 'virtualconnection' AND (m.allow_raw & vc.wo) <> 0 THEN m.allow_raw | vc.wo
                ELSE m.allow_raw END AS allow_raw,
           CASE WHEN a.content_type = 'virtualconnection' AND (m.deny & vc.wo) <> 0 THEN m.deny | vc.wo
                ELSE m.deny END AS deny
    FROM m JOIN m_acl a USING (acl_id) CROSS JOIN vc
)
SELECT m.acl_id, g.gid, m.grantee_type, m.grantee_id, m.allow_raw & ~m.deny AS allow, m.deny,
       CASE WHEN m.grantee_type = 'user' THEN 'user'
            WHEN m.grantee_type = 'group' AND m.grantee_id IN (SELECT group_id FROM m_all_users) THEN 'au'
            WHEN m.grantee_type = 'group' THEN 'group'
            WHEN m.grantee_type = 'groupset' AND m.grantee_id IN (SELECT set_id FROM m_universal_sets) THEN 'us'
            WHEN m.grantee_type = 'groupset' THEN 'set'
            ELSE 'other' END AS kind
FROM m2 m JOIN m_grantees g ON g.grantee_type = m.grantee_type AND g.grantee_id = m.grantee_id;

-- name: 20_projects
-- purpose: the project tree: paths, ancestors, controlling project and lock
--   state (spec §7.1, §7.2).
-- inputs: projects.

-- A parent that is not on the site makes the project a root (finding
-- MISSING_PARENT). A project on a parent cycle is never reached from a root;
-- Build refuses such a snapshot with an error naming the cycle.
CREATE OR REPLACE TABLE m_projects AS
WITH RECURSIVE p AS (
    SELECT id, coalesce(name, id) AS name,
           CASE WHEN parent_project_id IN (SELECT id FROM projects) THEN parent_project_id END AS parent,
           parent_project_id AS parent_raw, owner_id,
           coalesce(nullif(content_permissions, ''), 'ManagedByOwner') AS mode,
           nullif(controlling_permissions_project_id, '') AS rest_ctrl
    FROM projects
), t(id, chain, path, depth, lock_root) AS (
    SELECT id, [id], name, 0, CASE WHEN mode = 'LockedToProject' THEN id END FROM p WHERE parent IS NULL
    UNION ALL
    SELECT p.id, list_append(t.chain, p.id), t.path || '/' || p.name, t.depth + 1,
           coalesce(t.lock_root, CASE WHEN p.mode = 'LockedToProject' THEN p.id END)
    FROM p JOIN t ON p.parent = t.id
)
SELECT p.id AS project_id, p.name, p.parent, p.parent_raw, p.owner_id, p.mode, p.rest_ctrl,
       t.chain, t.path, t.depth,
       coalesce(t.lock_root, p.id) AS ctrl_computed,
       -- spec §7.2: use the REST value when present (and naming a project), else the computed one.
       CASE WHEN p.rest_ctrl IN (SELECT id FROM projects) THEN p.rest_ctrl ELSE coalesce(t.lock_root, p.id) END AS ctrl
FROM p JOIN t USING (id);

ALTER TABLE m_projects ADD COLUMN locked BOOLEAN;
UPDATE m_projects SET locked = ctrl <> project_id OR mode IN ('LockedToProject', 'LockedToProjectWithoutNested');

-- Every (project, ancestor-or-self) pair with the distance between them.
CREATE OR REPLACE TABLE m_project_anc AS
SELECT project_id, chain[i] AS ancestor_id, (len(chain) - i)::INTEGER AS dist
FROM (SELECT project_id, chain, generate_subscripts(chain, 1) AS i FROM m_projects);

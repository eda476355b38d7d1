-- name: 50_positions
-- purpose: special positions (spec §8.2 step 4): project owners and project
--   leaders, closed over the project tree.
-- inputs: m_projects, m_project_anc, m_content, m_type_caps, m_user_acl,
--   m_class_acl, m_acl_default, m_user_class.

-- Direct leaders of a project Q: ProjectLeader evaluated with the rule tiers
-- (steps 5-8) on Q's project ACL (the project rules of controlling(Q)).
-- Candidates are users whose user rule, class row or ACL default allows the
-- bit; the full tier order then decides (a user or group Deny, legacy rows
-- included, blocks direct leadership at that project only, spec §10.2).
CREATE OR REPLACE TABLE m_leader_eval AS
WITH pl AS (
    SELECT 1::BIGINT << bit AS b FROM m_type_caps WHERE content_type = 'project' AND capability = 'ProjectLeader'
), pa AS (
    SELECT content_id AS q, acl_id FROM m_content WHERE content_type = 'project'
), cand AS (
    SELECT ua.user_id, pa.q, pa.acl_id FROM pa JOIN m_user_acl ua USING (acl_id), pl WHERE ((ua.u_allow | ua.u_deny) & pl.b) <> 0
    UNION
    SELECT uc.user_id, pa.q, pa.acl_id FROM pa JOIN m_class_acl ca USING (acl_id) JOIN m_user_class uc USING (class_id), pl
    WHERE ((ca.g_allow | ca.s_allow | ca.g_deny | ca.s_deny) & pl.b) <> 0
    UNION
    SELECT uc.user_id, pa.q, pa.acl_id FROM pa JOIN m_acl_default d USING (acl_id) CROSS JOIN m_user_class uc, pl
    WHERE ((d.g_allow | d.s_allow | d.g_deny | d.s_deny) & pl.b) <> 0
), t AS (
    SELECT c.user_id, c.q,
           CASE WHEN (coalesce(ua.u_deny, 0) & pl.b) <> 0 THEN 'USER_DENY'
                WHEN (coalesce(ua.u_allow, 0) & pl.b) <> 0 THEN 'USER_ALLOW'
                WHEN (coalesce(ca.g_deny, d.g_deny) & pl.b) <> 0 THEN 'GROUP_DENY'
                WHEN (coalesce(ca.g_allow, d.g_allow) & pl.b) <> 0 THEN 'GROUP_ALLOW'
                WHEN (coalesce(ca.s_deny, d.s_deny) & pl.b) <> 0 THEN 'GROUPSET_DENY'
                WHEN (coalesce(ca.s_allow, d.s_allow) & pl.b) <> 0 THEN 'GROUPSET_ALLOW'
                ELSE 'UNSPECIFIED' END AS r,
           (coalesce(ca.s_deny, d.s_deny) & pl.b) <> 0 AS sdeny
    FROM cand c
    CROSS JOIN pl
    JOIN m_user_class uc USING (user_id)
    JOIN m_acl_default d ON d.acl_id = c.acl_id
    LEFT JOIN m_class_acl ca ON ca.class_id = uc.class_id AND ca.acl_id = c.acl_id
    LEFT JOIN m_user_acl ua ON ua.user_id = c.user_id AND ua.acl_id = c.acl_id
)
SELECT user_id, q AS project_id, r LIKE '%ALLOW' AS leader, r = 'GROUP_ALLOW' AND sdeny AS shadowed,
       r LIKE '%DENY' AS blocked
FROM t WHERE r <> 'UNSPECIFIED';

CREATE OR REPLACE TABLE m_leaders AS
SELECT user_id, project_id, shadowed FROM m_leader_eval WHERE leader;

-- A legacy ProjectLeader Deny (spec §10.2, U8) that blocked direct
-- leadership somewhere in an item's chain: deny decisions there are flagged
-- LEGACY_PROJECT_LEADER_DENY.
CREATE OR REPLACE TABLE m_leader_block AS
SELECT DISTINCT e.user_id, a.project_id
FROM m_leader_eval e JOIN m_project_anc a ON a.ancestor_id = e.project_id
WHERE e.blocked;

-- Per (user, project P): the position the user holds over P through P or an
-- ancestor. Owner before leader; the nearest project names the rule. An owner
-- who is not a site user gives nobody the bypass (spec §9.5).
CREATE OR REPLACE TABLE m_position AS
WITH direct AS (
    SELECT owner_id AS user_id, project_id AS q, 1 AS pri, 'PROJECT_OWNER' AS reason, false AS shadowed
    FROM m_projects WHERE owner_id IN (SELECT user_id FROM m_users)
    UNION ALL
    SELECT user_id, project_id, 2, 'PROJECT_LEADER', shadowed FROM m_leaders
)
SELECT d.user_id, a.project_id,
       arg_min(d.reason, (d.pri, a.dist, d.q)) AS reason,
       arg_min('position:' || lower(d.reason) || ':' || d.q, (d.pri, a.dist, d.q)) AS rule,
       arg_min(d.shadowed, (d.pri, a.dist, d.q)) AS shadowed
FROM direct d JOIN m_project_anc a ON a.ancestor_id = d.q
GROUP BY d.user_id, a.project_id
ORDER BY d.user_id, a.project_id;

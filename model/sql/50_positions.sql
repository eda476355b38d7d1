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
CREATE OR REPLACE TABLE m_leaders AS
WITH pl AS (
    SELECT 1::BIGINT << bit AS b FROM m_type_caps WHERE content_type = 'project' AND capability = 'ProjectLeader'
), pa AS (
    SELECT content_id AS q, acl_id FROM m_content WHERE content_type = 'project'
), cand AS (
    SELECT ua.user_id, pa.q, pa.acl_id FROM pa JOIN m_user_acl ua USING (acl_id), pl WHERE (ua.u_allow & pl.b) <> 0
    UNION
    SELECT uc.user_id, pa.q, pa.acl_id FROM pa JOIN m_class_acl ca USING (acl_id) JOIN m_user_class uc USING (class_id), pl
    WHERE ((ca.g_allow | ca.s_allow) & pl.b) <> 0
    UNION
    SELECT uc.user_id, pa.q, pa.acl_id FROM pa JOIN m_acl_default d USING (acl_id) CROSS JOIN m_user_class uc, pl
    WHERE ((d.g_allow | d.s_allow) & pl.b) <> 0
)
SELECT c.user_id, c.q AS project_id
FROM cand c
CROSS JOIN pl
JOIN m_user_class uc USING (user_id)
JOIN m_acl_default d ON d.acl_id = c.acl_id
LEFT JOIN m_class_acl ca ON ca.class_id = uc.class_id AND ca.acl_id = c.acl_id
LEFT JOIN m_user_acl ua ON ua.user_id = c.user_id AND ua.acl_id = c.acl_id
WHERE CASE WHEN (coalesce(ua.u_deny, 0) & pl.b) <> 0 THEN false
           WHEN (coalesce(ua.u_allow, 0) & pl.b) <> 0 THEN true
           WHEN (coalesce(ca.g_deny, d.g_deny) & pl.b) <> 0 THEN false
           WHEN (coalesce(ca.g_allow, d.g_allow) & pl.b) <> 0 THEN true
           WHEN (coalesce(ca.s_deny, d.s_deny) & pl.b) <> 0 THEN false
           WHEN (coalesce(ca.s_allow, d.s_allow) & pl.b) <> 0 THEN true
           ELSE false END;

-- Per (user, project P): the position the user holds over P through P or an
-- ancestor. Owner before leader; the nearest project names the rule. An owner
-- who is not a site user gives nobody the bypass (spec §9.5).
CREATE OR REPLACE TABLE m_position AS
WITH direct AS (
    SELECT owner_id AS user_id, project_id AS q, 1 AS pri, 'PROJECT_OWNER' AS reason
    FROM m_projects WHERE owner_id IN (SELECT user_id FROM m_users)
    UNION ALL
    SELECT user_id, project_id, 2, 'PROJECT_LEADER' FROM m_leaders
)
SELECT d.user_id, a.project_id,
       arg_min(d.reason, (d.pri, a.dist, d.q)) AS reason,
       arg_min('position:' || lower(d.reason) || ':' || d.q, (d.pri, a.dist, d.q)) AS rule
FROM direct d JOIN m_project_anc a ON a.ancestor_id = d.q
GROUP BY d.user_id, a.project_id
ORDER BY d.user_id, a.project_id;

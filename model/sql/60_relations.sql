-- name: 60_relations
-- purpose: the relations consumers rely on (docs/contracts.md): content and
--   effective_permissions. effective_permissions is a view: it expands
--   users x items x capabilities only for the rows a query asks for.
-- inputs: every m_* table.

CREATE OR REPLACE VIEW content AS
SELECT content_type, content_id, name, project_id, project_path, owner_id, tags
FROM m_content;

-- Decision per (user, basis, item, capability), following spec §8.5 step by
-- step with the masks of §12.3/§12.4:
--   ceiling (step 1) -> administrator (2) -> project owner/leader, content
--   owner, personal space (4, §7.7) -> ProjectLeader query convention (§8.4)
--   -> user, group, group-set tiers (5-8) -> lock guard on
--   ChangePermissions (9).
-- The group tier reads the class row (m_class_acl) when the user's class
-- matches some grantee of the ACL, and the ACL's All Users default otherwise.
CREATE OR REPLACE VIEW effective_permissions AS
SELECT z.user_id, z.user_name, z.content_type, z.content_id, z.content_name, z.project_id, z.project_path,
       z.capability, z.decision, z.reason,
       CASE z.reason
           WHEN 'SITE_ROLE_CEILING' THEN 'ceiling:' || z.treated_as
           WHEN 'ADMIN' THEN 'position:admin'
           WHEN 'PROJECT_OWNER' THEN z.pos_rule
           WHEN 'PROJECT_LEADER' THEN z.pos_rule
           WHEN 'CONTENT_OWNER' THEN 'position:content_owner:' || z.content_id
           WHEN 'PERSONAL_SPACE' THEN 'position:personal_space'
           WHEN 'UNSPECIFIED' THEN ''
           ELSE a.label || ' ' || gr.label || CASE WHEN z.rule_reason LIKE '%DENY' THEN ' Deny' ELSE ' Allow' END
       END AS deciding_rule,
       z.basis, z.flags,
       ['U', 'I', 'T', 'D'][z.conf_rank] AS confidence
FROM (
    SELECT y.*,
           CASE WHEN y.reason IN ('ADMIN', 'PROJECT_OWNER', 'PROJECT_LEADER', 'CONTENT_OWNER', 'USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW')
                THEN 'allow' ELSE 'deny' END AS decision,
           CASE WHEN y.reason IN ('USER_ALLOW', 'USER_DENY', 'GROUP_ALLOW', 'GROUP_DENY', 'GROUPSET_ALLOW', 'GROUPSET_DENY', 'LOCKED_PROJECT')
                THEN CASE y.rule_reason
                    WHEN 'USER_DENY' THEN y.u_gid
                    WHEN 'USER_ALLOW' THEN y.u_gid
                    WHEN 'GROUP_DENY' THEN list_min(list_transform(list_filter(y.hits, lambda h: h.t = 'g' AND (h.d & y.b) <> 0), lambda h: h.gid))
                    WHEN 'GROUP_ALLOW' THEN list_min(list_transform(list_filter(y.hits, lambda h: h.t = 'g' AND (h.a & y.b) <> 0), lambda h: h.gid))
                    WHEN 'GROUPSET_DENY' THEN list_min(list_transform(list_filter(y.hits, lambda h: h.t = 's' AND (h.d & y.b) <> 0), lambda h: h.gid))
                    WHEN 'GROUPSET_ALLOW' THEN list_min(list_transform(list_filter(y.hits, lambda h: h.t = 's' AND (h.a & y.b) <> 0), lambda h: h.gid))
                END END AS dgid,
           list_filter([
               CASE WHEN y.reason = 'SITE_ROLE_CEILING' AND y.treated_as = 'Explorer' AND y.capability = 'ChangeHierarchy'
                         AND y.after IN ('PROJECT_OWNER', 'PROJECT_LEADER', 'CONTENT_OWNER', 'USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW')
                    THEN 'NO_PUBLISH_TARGET' END,
               CASE WHEN y.capability = 'VizqlDataApiAccess' AND y.reason IN ('ADMIN', 'PROJECT_OWNER', 'PROJECT_LEADER', 'CONTENT_OWNER', 'USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW')
                    THEN 'DIRECT_DATA_API' END,
               CASE WHEN y.reason = 'LOCKED_PROJECT' THEN 'INERT_IN_LOCKED_PROJECT' END,
               CASE WHEN y.shadowed THEN 'GROUPSET_DENY_SHADOWED' END,
               nullif(y.role_flag, ''),
               CASE WHEN y.role_unknown THEN 'UNKNOWN_SITE_ROLE' END,
               CASE WHEN NOT y.known THEN 'UNKNOWN_CAPABILITY' END,
               CASE WHEN y.retired THEN 'RETIRED' END
           ], lambda f: f IS NOT NULL) AS flags,
           least(
               CASE y.cell_conf WHEN 'D' THEN 4 WHEN 'T' THEN 3 WHEN 'I' THEN 2 ELSE 1 END,
               CASE y.role_confidence WHEN 'D' THEN 4 WHEN 'T' THEN 3 WHEN 'I' THEN 2 ELSE 1 END,
               CASE WHEN y.shadowed OR y.role_unknown OR y.reason = 'PERSONAL_SPACE' THEN 1
                    WHEN y.reason = 'SITE_ROLE_CEILING' AND y.treated_as = 'Explorer' AND y.capability = 'ChangeHierarchy' THEN 1
                    WHEN y.nested_lock THEN 2
                    WHEN y.content_type = 'table' AND y.rl_type = 'database' THEN 3
                    ELSE 4 END) AS conf_rank
    FROM (
        SELECT x.*,
               CASE WHEN NOT x.allowed THEN 'SITE_ROLE_CEILING' WHEN x.admin THEN 'ADMIN' ELSE x.after END AS reason,
               x.rule_reason = 'GROUP_ALLOW' AND (x.s_deny & x.b) <> 0 AND x.allowed AND NOT x.admin
                   AND x.after IN ('GROUP_ALLOW', 'LOCKED_PROJECT') AS shadowed
        FROM (
            SELECT w.*,
                   CASE WHEN w.pos_reason IS NOT NULL THEN w.pos_reason
                        WHEN w.is_owner AND NOT (w.capability = 'ChangePermissions' AND w.locked_for) THEN 'CONTENT_OWNER'
                        WHEN w.personal THEN 'PERSONAL_SPACE'
                        WHEN w.content_type = 'project' AND w.capability = 'ProjectLeader' THEN 'UNSPECIFIED'
                        WHEN w.rule_reason IN ('USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW')
                             AND w.capability = 'ChangePermissions' AND w.lock_cp THEN 'LOCKED_PROJECT'
                        ELSE w.rule_reason END AS after
            FROM (
                SELECT v.*,
                       CASE WHEN (v.u_deny & v.b) <> 0 THEN 'USER_DENY'
                            WHEN (v.u_allow & v.b) <> 0 THEN 'USER_ALLOW'
                            WHEN (v.g_deny & v.b) <> 0 THEN 'GROUP_DENY'
                            WHEN (v.g_allow & v.b) <> 0 THEN 'GROUP_ALLOW'
                            WHEN (v.s_deny & v.b) <> 0 THEN 'GROUPSET_DENY'
                            WHEN (v.s_allow & v.b) <> 0 THEN 'GROUPSET_ALLOW'
                            ELSE 'UNSPECIFIED' END AS rule_reason
                FROM (
                    SELECT ub.user_id, ub.user_name, ub.basis, ub.role, ub.admin, ub.treated_as, ub.role_flag,
                           ub.role_confidence, ub.role_unknown,
                           c.content_type, c.content_id, c.name AS content_name, c.project_id, c.project_path, c.acl_id,
                           c.locked_for, c.lock_cp, c.personal, c.nested_lock, c.rl_type,
                           c.content_type <> 'project' AND c.owner_id IS NOT DISTINCT FROM ub.user_id AS is_owner,
                           ce.capability, 1::BIGINT << ce.bit AS b, ce.allowed, ce.cell_conf, ce.known, ce.retired,
                           coalesce(ca.g_allow, ad.g_allow) AS g_allow, coalesce(ca.g_deny, ad.g_deny) AS g_deny,
                           coalesce(ca.s_allow, ad.s_allow) AS s_allow, coalesce(ca.s_deny, ad.s_deny) AS s_deny,
                           coalesce(ca.hits, ad.hits) AS hits,
                           coalesce(ua.u_allow, 0) AS u_allow, coalesce(ua.u_deny, 0) AS u_deny, ua.gid AS u_gid,
                           pos.reason AS pos_reason, pos.rule AS pos_rule
                    FROM m_user_basis ub
                    CROSS JOIN m_content c
                    JOIN m_ceiling_bits ce ON ce.role = ub.role AND ce.content_type = c.content_type
                    JOIN m_acl_default ad ON ad.acl_id = c.acl_id
                    LEFT JOIN m_class_acl ca ON ca.class_id = ub.class_id AND ca.acl_id = c.acl_id
                    LEFT JOIN m_user_acl ua ON ua.user_id = ub.user_id AND ua.acl_id = c.acl_id
                    LEFT JOIN m_position pos ON pos.user_id = ub.user_id AND pos.project_id = c.project_id
                ) v
            ) w
        ) x
    ) y
) z
JOIN m_acl a ON a.acl_id = z.acl_id
LEFT JOIN m_grantees gr ON gr.gid = z.dgid;

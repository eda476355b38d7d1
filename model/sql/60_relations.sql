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
--   ceiling (step 1) -> administrator (2) -> Personal Space (§7.7) ->
--   project owner/leader, content owner (4) -> ProjectLeader query convention
--   (§8.4) -> user, group, group-set tiers (5-8) -> lock guard on
--   ChangePermissions (9).
-- The group and group-set tiers are the ACL's grant lists (m_acl_default)
-- filtered to All Users, universal sets and the groups and sets of the
-- user's class: the sparse join of §12.3, computed only for the rows a query
-- keeps, so nothing class x ACL is ever materialised.
-- Flags and confidence follow model/eval, the reference evaluator.
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
           -- The deciding grantee is the lowest LUID of the deciding tier
           -- that says the deciding mode (the lists are in LUID order). No
           -- subquery here: a correlated one would stop DuckDB from pushing
           -- a query's user or item filter below it.
           ELSE z.acl_label || ' '
                || CASE WHEN z.rule_reason LIKE 'USER%' THEN z.u_label
                        ELSE list_transform(list_filter(CASE WHEN z.rule_reason LIKE 'GROUPSET%' THEN z.sm ELSE z.gm END,
                                 lambda x: (CASE WHEN z.rule_reason LIKE '%DENY' THEN x.d ELSE x.a END & z.b) <> 0), lambda x: x.l)[1] END
                || CASE WHEN z.rule_reason LIKE '%DENY' THEN ' Deny' ELSE ' Allow' END
       END AS deciding_rule,
       z.basis,
       list_sort(list_filter([
           CASE WHEN z.reason = 'SITE_ROLE_CEILING' AND z.treated_as = 'Explorer' AND z.capability = 'ChangeHierarchy'
                     AND list_contains(['PROJECT_OWNER', 'PROJECT_LEADER', 'CONTENT_OWNER', 'USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW'], z.after)
                THEN 'NO_PUBLISH_TARGET' END,
           CASE WHEN z.capability = 'VizqlDataApiAccess' AND z.decision = 'allow' THEN 'DIRECT_DATA_API' END,
           CASE WHEN z.reason = 'LOCKED_PROJECT' THEN 'INERT_IN_LOCKED_PROJECT' END,
           CASE WHEN z.shadowed THEN 'GROUPSET_DENY_SHADOWED' END,
           CASE WHEN z.view_wb THEN 'VIEW_WITHOUT_WORKBOOK_READ' END,
           CASE WHEN z.legacy THEN 'LEGACY_PROJECT_LEADER_DENY' END,
           CASE WHEN z.locked_db_cp THEN 'LOCKED_DATABASE_SET_PERMISSIONS' END,
           CASE WHEN z.unresolved THEN 'UNRESOLVED_CEILING' END,
           CASE WHEN z.open AND z.personal THEN 'PERSONAL_SPACE' END,
           CASE WHEN z.ambiguous THEN 'PROJECTED_ROLE_ORDER' END,
           nullif(z.role_flag, ''),
           CASE WHEN z.role_unknown THEN 'UNKNOWN_SITE_ROLE' END,
           CASE WHEN NOT z.known THEN 'UNKNOWN_CAPABILITY' END,
           CASE WHEN z.retired THEN 'RETIRED' END
       ], lambda f: f IS NOT NULL)) AS flags,
       ['U', 'I', 'T', 'D'][least(
           CASE z.role_confidence WHEN 'D' THEN 4 WHEN 'T' THEN 3 WHEN 'I' THEN 2 ELSE 1 END,
           CASE z.cell_conf WHEN 'D' THEN 4 WHEN 'T' THEN 3 WHEN 'I' THEN 2 ELSE 1 END,
           CASE WHEN NOT z.known OR z.ambiguous OR z.role_unknown THEN 1 ELSE 4 END,
           -- What steps 4-9 rest on counts only for decisions that reach them.
           CASE WHEN NOT z.open THEN 4
                WHEN z.personal OR z.shadowed OR z.view_wb OR z.legacy OR z.locked_db_cp THEN 1
                WHEN z.content_type = 'project' AND z.capability = 'ProjectLeader' AND z.after = 'UNSPECIFIED' THEN 2
                WHEN z.nested_lock THEN 2
                WHEN z.content_type IN ('table', 'database') THEN 3
                ELSE 4 END)] AS confidence
FROM (
    SELECT y.*,
           list_contains(['ADMIN', 'PROJECT_OWNER', 'PROJECT_LEADER', 'CONTENT_OWNER', 'USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW'], y.reason) AS allowed_final,
           CASE WHEN list_contains(['ADMIN', 'PROJECT_OWNER', 'PROJECT_LEADER', 'CONTENT_OWNER', 'USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW'], y.reason)
                THEN 'allow' ELSE 'deny' END AS decision,
           -- The group tier decided against a matching group-set Deny (U16),
           -- here or in the leadership that granted the position.
           y.open AND ((list_contains(['GROUP_ALLOW', 'LOCKED_PROJECT'], y.after) AND y.rule_reason = 'GROUP_ALLOW' AND (y.s_deny & y.b) <> 0)
                       OR (y.after = 'PROJECT_LEADER' AND y.pos_shadowed)) AS shadowed,
           y.open AND NOT list_contains(['ADMIN', 'PROJECT_OWNER', 'PROJECT_LEADER', 'CONTENT_OWNER', 'USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW', 'PERSONAL_SPACE'], y.after)
               AND y.blocked AS legacy,
           y.open AND y.capability = 'ChangePermissions' AND y.locked_db AND NOT list_contains(['CONTENT_OWNER', 'PERSONAL_SPACE'], y.after) AS locked_db_cp,
           -- VIEW_WITHOUT_WORKBOOK_READ: a view with its own rules allows Read
           -- through them while the workbook's rules deny it. Positions and
           -- ownership are shared by the view and its workbook.
           y.open AND y.capability = 'Read' AND y.wb_acl_id IS NOT NULL AND list_contains(['USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW'], y.after)
               AND NOT (CASE WHEN (y.wu_deny & y.b) <> 0 THEN false
                             WHEN (y.wu_allow & y.b) <> 0 THEN true
                             WHEN (y.wg_deny & y.b) <> 0 THEN false
                             WHEN (y.wg_allow & y.b) <> 0 THEN true
                             WHEN (y.ws_deny & y.b) <> 0 THEN false
                             ELSE (y.ws_allow & y.b) <> 0 END) AS view_wb,

    FROM (
        SELECT x.*,
               CASE WHEN NOT x.allowed THEN 'SITE_ROLE_CEILING' WHEN x.admin THEN 'ADMIN' ELSE x.after END AS reason,
               x.allowed AND NOT x.admin AS open
        FROM (
            SELECT w.*,
                   CASE WHEN w.personal THEN CASE WHEN w.is_owner THEN 'CONTENT_OWNER' ELSE 'PERSONAL_SPACE' END
                        WHEN w.pos_reason IS NOT NULL THEN w.pos_reason
                        WHEN w.is_owner AND NOT (w.capability = 'ChangePermissions' AND w.locked_for) THEN 'CONTENT_OWNER'
                        WHEN w.content_type = 'project' AND w.capability = 'ProjectLeader' THEN 'UNSPECIFIED'
                        WHEN list_contains(['USER_ALLOW', 'GROUP_ALLOW', 'GROUPSET_ALLOW'], w.rule_reason)
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
                SELECT r.*, ce.capability, 1::BIGINT << ce.bit AS b, ce.allowed, ce.cell_conf, ce.known, ce.retired, ce.unresolved
                FROM (
                SELECT q.*,
                       coalesce(list_aggregate(list_transform(q.gm, lambda x: x.a), 'bit_or'), 0) AS g_allow,
                       coalesce(list_aggregate(list_transform(q.gm, lambda x: x.d), 'bit_or'), 0) AS g_deny,
                       coalesce(list_aggregate(list_transform(q.sm, lambda x: x.a), 'bit_or'), 0) AS s_allow,
                       coalesce(list_aggregate(list_transform(q.sm, lambda x: x.d), 'bit_or'), 0) AS s_deny,
                       coalesce(list_aggregate(list_transform(q.wgm, lambda x: x.a), 'bit_or'), 0) AS wg_allow,
                       coalesce(list_aggregate(list_transform(q.wgm, lambda x: x.d), 'bit_or'), 0) AS wg_deny,
                       coalesce(list_aggregate(list_transform(q.wsm, lambda x: x.a), 'bit_or'), 0) AS ws_allow,
                       coalesce(list_aggregate(list_transform(q.wsm, lambda x: x.d), 'bit_or'), 0) AS ws_deny
                FROM (
                    SELECT ub.user_id, ub.user_name, ub.basis, ub.role, ub.class_id, ub.admin, ub.treated_as, ub.role_flag,
                           ub.role_confidence, ub.role_unknown, ub.ambiguous,
                           c.content_type, c.content_id, c.name AS content_name, c.project_id, c.project_path, c.acl_id,
                           c.locked_for, c.lock_cp, c.personal, c.nested_lock, c.rl_type, c.wb_acl_id, c.acl_label,
                           c.content_type = 'table' AND c.rl_type = 'database' AS locked_db,
                           c.content_type <> 'project' AND c.owner_id IS NOT DISTINCT FROM ub.user_id AS is_owner,
                           list_filter(ad.ggrants, lambda x: x.u OR list_contains(ub.groups, x.g)) AS gm,
                           list_filter(ad.sgrants, lambda x: x.u OR list_contains(ub.sets, x.g)) AS sm,
                           coalesce(ua.u_allow, 0) AS u_allow, coalesce(ua.u_deny, 0) AS u_deny, ua.label AS u_label,
                           pos.reason AS pos_reason, pos.rule AS pos_rule, coalesce(pos.shadowed, false) AS pos_shadowed,
                           lb.user_id IS NOT NULL AS blocked,
                           list_filter(coalesce(dw.ggrants, []), lambda x: x.u OR list_contains(ub.groups, x.g)) AS wgm,
                           list_filter(coalesce(dw.sgrants, []), lambda x: x.u OR list_contains(ub.sets, x.g)) AS wsm,
                           coalesce(uw.u_allow, 0) AS wu_allow, coalesce(uw.u_deny, 0) AS wu_deny
                    FROM m_user_basis ub
                    CROSS JOIN m_content c
                    JOIN m_acl_default ad ON ad.acl_id = c.acl_id
                    LEFT JOIN m_user_acl ua ON ua.user_id = ub.user_id AND ua.acl_id = c.acl_id
                    LEFT JOIN m_position pos ON pos.user_id = ub.user_id AND pos.project_id = c.project_id
                    LEFT JOIN m_leader_block lb ON lb.user_id = ub.user_id AND lb.project_id = c.project_id
                    LEFT JOIN m_acl_default dw ON dw.acl_id = c.wb_acl_id
                    LEFT JOIN m_user_acl uw ON uw.user_id = ub.user_id AND uw.acl_id = c.wb_acl_id
                ) q
                ) r
                JOIN m_ceiling_bits ce ON ce.role = r.role AND ce.content_type = r.content_type
                ) v
            ) w
        ) x
    ) y
) z;

-- name: 40_masks
-- purpose: the sparse join of principal classes with each ACL's group and
--   group-set grantees (spec §12.3), the per-ACL decision for users who match
--   no grantee but All Users, and the per-user overlays of user rules (§12.4).
-- inputs: m_acl, m_acl_grants, m_class_groups, m_class_sets.

-- Per ACL: what All Users (group tier) and sets made only of All Users
-- (group-set tier) say, which every user gets, and the list of its group and
-- group-set grants.
CREATE OR REPLACE TABLE m_acl_default AS
SELECT a.acl_id,
       coalesce(bit_or(g.allow) FILTER (WHERE g.kind = 'au'), 0)::BIGINT AS g_allow,
       coalesce(bit_or(g.deny) FILTER (WHERE g.kind = 'au'), 0)::BIGINT AS g_deny,
       coalesce(bit_or(g.allow) FILTER (WHERE g.kind = 'us'), 0)::BIGINT AS s_allow,
       coalesce(bit_or(g.deny) FILTER (WHERE g.kind = 'us'), 0)::BIGINT AS s_deny,
       -- The ACL's group and group-set grants, All Users and universal sets
       -- marked u (they match everybody), in LUID order: the rows a query
       -- keeps match them against the class's groups and sets (12.3).
       coalesce(list({'g': g.grantee_id, 'u': g.kind = 'au', 'l': g.grantee_type || ':' || g.grantee_id, 'a': g.allow, 'd': g.deny} ORDER BY g.gid)
                FILTER (WHERE g.kind IN ('au', 'group')), []) AS ggrants,
       coalesce(list({'g': g.grantee_id, 'u': g.kind = 'us', 'l': g.grantee_type || ':' || g.grantee_id, 'a': g.allow, 'd': g.deny} ORDER BY g.gid)
                FILTER (WHERE g.kind IN ('us', 'set')), []) AS sgrants
FROM m_acl a LEFT JOIN m_acl_grants g ON g.acl_id = a.acl_id
GROUP BY a.acl_id
ORDER BY a.acl_id;

-- The sparse join as a relation: one row per (class, ACL, grantee) where the
-- class holds the grantee group or matches the grantee set. It is not
-- materialised (58M (class, ACL) rows on the L preset); effective_permissions
-- computes the same matches per row from the lists above.
CREATE OR REPLACE VIEW m_class_grants AS
SELECT cg.class_id, g.acl_id, g.gid, 'g' AS t, g.allow, g.deny
FROM m_acl_grants g JOIN m_class_groups cg ON cg.group_id = g.grantee_id
WHERE g.kind = 'group'
UNION ALL
SELECT cs.class_id, g.acl_id, g.gid, 's' AS t, g.allow, g.deny
FROM m_acl_grants g JOIN m_class_sets cs ON cs.set_id = g.grantee_id
WHERE g.kind = 'set';

-- The class rows of project ACLs whose grants mention ProjectLeader, for
-- leadership (50_positions): few, so they are materialised.
CREATE OR REPLACE TABLE m_class_acl AS
WITH pl AS (
    SELECT 1::BIGINT << bit AS b FROM m_type_caps WHERE content_type = 'project' AND capability = 'ProjectLeader'
)
SELECT h.class_id, h.acl_id,
       coalesce(bit_or(h.allow) FILTER (WHERE h.t = 'g'), 0)::BIGINT | any_value(d.g_allow) AS g_allow,
       coalesce(bit_or(h.deny) FILTER (WHERE h.t = 'g'), 0)::BIGINT | any_value(d.g_deny) AS g_deny,
       coalesce(bit_or(h.allow) FILTER (WHERE h.t = 's'), 0)::BIGINT | any_value(d.s_allow) AS s_allow,
       coalesce(bit_or(h.deny) FILTER (WHERE h.t = 's'), 0)::BIGINT | any_value(d.s_deny) AS s_deny
FROM m_class_grants h CROSS JOIN pl
JOIN m_acl a ON a.acl_id = h.acl_id AND a.content_type = 'project'
JOIN m_acl_default d ON d.acl_id = h.acl_id
WHERE ((h.allow | h.deny) & pl.b) <> 0
GROUP BY h.class_id, h.acl_id;

-- User rules: the only per-user part of the rule tiers. Allow already has
-- the user's own Deny removed (spec §10.1).
CREATE OR REPLACE TABLE m_user_acl AS
SELECT g.grantee_id AS user_id, g.acl_id, g.allow AS u_allow, g.deny AS u_deny, 'user:' || g.grantee_id AS label
FROM m_acl_grants g
WHERE g.kind = 'user' AND g.grantee_id IN (SELECT user_id FROM m_users)
ORDER BY user_id, acl_id;

-- name: 40_masks
-- purpose: the sparse join of principal classes with each ACL's group and
--   group-set grantees (spec §12.3), the per-ACL decision for users who match
--   no grantee but All Users, and the per-user overlays of user rules (§12.4).
-- inputs: m_acl, m_acl_grants, m_class_groups, m_class_sets.

-- Per ACL: what All Users (group tier) and sets made only of All Users
-- (group-set tier) say. Every user gets at least this. hits keeps the
-- grantees that spoke, to name the deciding rule.
CREATE OR REPLACE TABLE m_acl_default AS
SELECT a.acl_id,
       coalesce(bit_or(g.allow) FILTER (WHERE g.kind = 'au'), 0)::BIGINT AS g_allow,
       coalesce(bit_or(g.deny) FILTER (WHERE g.kind = 'au'), 0)::BIGINT AS g_deny,
       coalesce(bit_or(g.allow) FILTER (WHERE g.kind = 'us'), 0)::BIGINT AS s_allow,
       coalesce(bit_or(g.deny) FILTER (WHERE g.kind = 'us'), 0)::BIGINT AS s_deny,
       coalesce(list({'gid': g.gid, 't': CASE g.kind WHEN 'au' THEN 'g' ELSE 's' END, 'a': g.allow, 'd': g.deny}
                     ORDER BY g.gid) FILTER (WHERE g.kind IN ('au', 'us')), []) AS hits
FROM m_acl a LEFT JOIN m_acl_grants g ON g.acl_id = a.acl_id
GROUP BY a.acl_id;

-- The sparse join: a row only where a class matches some group or group-set
-- grantee of the ACL besides All Users. Its masks already include the ACL's
-- All Users part, so a query takes the class row when there is one and the
-- ACL default otherwise. Sorted by class so that a query for one user reads
-- few row groups.
CREATE OR REPLACE TABLE m_class_acl AS
WITH hits AS (
    SELECT cg.class_id, g.acl_id, g.gid, 'g' AS t, g.allow, g.deny
    FROM m_acl_grants g JOIN m_class_groups cg ON cg.group_id = g.grantee_id
    WHERE g.kind = 'group'
    UNION ALL
    SELECT cs.class_id, g.acl_id, g.gid, 's' AS t, g.allow, g.deny
    FROM m_acl_grants g JOIN m_class_sets cs ON cs.set_id = g.grantee_id
    WHERE g.kind = 'set'
), agg AS (
    SELECT class_id, acl_id,
           coalesce(bit_or(allow) FILTER (WHERE t = 'g'), 0)::BIGINT AS g_allow,
           coalesce(bit_or(deny) FILTER (WHERE t = 'g'), 0)::BIGINT AS g_deny,
           coalesce(bit_or(allow) FILTER (WHERE t = 's'), 0)::BIGINT AS s_allow,
           coalesce(bit_or(deny) FILTER (WHERE t = 's'), 0)::BIGINT AS s_deny,
           list({'gid': gid, 't': t, 'a': allow, 'd': deny} ORDER BY gid) AS hits
    FROM hits GROUP BY class_id, acl_id
)
SELECT a.class_id, a.acl_id,
       a.g_allow | d.g_allow AS g_allow, a.g_deny | d.g_deny AS g_deny,
       a.s_allow | d.s_allow AS s_allow, a.s_deny | d.s_deny AS s_deny,
       list_concat(a.hits, d.hits) AS hits
FROM agg a JOIN m_acl_default d USING (acl_id)
ORDER BY a.class_id, a.acl_id;

-- User rules: the only per-user part of the rule tiers. Allow already has
-- the user's own Deny removed (spec §10.1).
CREATE OR REPLACE TABLE m_user_acl AS
SELECT g.grantee_id AS user_id, g.acl_id, g.allow AS u_allow, g.deny AS u_deny, g.gid
FROM m_acl_grants g
WHERE g.kind = 'user' AND g.grantee_id IN (SELECT user_id FROM m_users)
ORDER BY user_id, acl_id;

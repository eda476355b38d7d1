package model

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// AccessOptions select what ExpandAccess keeps.
type AccessOptions struct {
	// Basis is "current" (the default) or "projected" (spec §9.3).
	Basis string
	// Decision keeps only "allow" or only "deny" rows; "" keeps both.
	Decision string
	// Users, when set, is a query returning the user ids (column user_id)
	// the expansion is restricted to.
	Users string
	// Count writes, instead of one row per user, one row per (content_type,
	// content_id, capability, decision, reason) with the number of users in
	// column users, computed from the class-level answers without expanding
	// users.
	Count bool
	// PerUser, with Count, counts items instead: one row per (user_id,
	// user_name, capability, decision, reason) with the number of selected
	// items in column items, again from the class-level answers (class sums
	// plus each user's own positions and personal facts), so asking how
	// much each of ten thousand users can read costs no users × items rows.
	PerUser bool
	// Tuples, when set, is a query returning (user_id, content_type,
	// content_id, capability): only those decisions are written (items is
	// then ignored). For asking about specific pairs, e.g. the access a
	// policy expects.
	Tuples string
	// Narrow leaves deciding_rule, confidence and flags NULL, which spares
	// the evaluation computing them and keeps wide expansions small, for
	// callers that need only who holds what and why (the reason).
	Narrow bool
	// Parts, when set, is a query returning (content_type, content_id,
	// part): one part per item at most. Items of different parts never
	// share a context, so a part is a fact of every class-level answer
	// (column part of xa_answers, below).
	Parts string
	// PartGroups, when set, is a query returning (part, group_id): groups
	// added to the grantee lists of that part's contexts. They change no
	// decision, but a class's signature then tells whether it belongs to
	// them, so membership in those groups is a fact of the class-level
	// answers (column groups of xa_answers).
	PartGroups string
	// Keep, when set, selects and tags class-level answers before users are
	// joined in: a query over the temporary table xa_answers returning
	// ans_id and any further columns, which are appended to every row of
	// dst expanded from that answer (an answer kept twice gives its users'
	// rows twice, once per tag). xa_answers has one row per class-level or
	// personal answer: ans_id, part, content_type, capability, decision,
	// reason, deciding_rule, confidence, flags, and of the principal it
	// answers for, groups (at least every group of its class the context's
	// grantee list names, PartGroups included), site_role (as
	// users.site_role has it) and admin. A caller whose question is about
	// classes (a policy naming groups and site roles) so pays only for the
	// rows it keeps. Not with Count or Tuples.
	Keep string
	// KeepInto, with Keep, names a temporary table (replaced) that receives
	// the kept answers: Keep's rows with a keep_id BIGINT column first. dst
	// then holds only user_id, content_type, content_id and keep_id, so a
	// caller expanding millions of rows writes the answer-level columns
	// once per answer rather than once per user and item.
	KeepInto string
	// Logger receives one debug line per step; nil discards.
	Logger *slog.Logger
}

// AccessStats say how much work an expansion took: the class-level rows
// evaluated instead of users × items × capabilities.
type AccessStats struct {
	Selected   int64 // (item, capability) pairs asked for
	Contexts   int64 // distinct item contexts among them
	Principals int64 // (signature, position, site-role profile) combinations evaluated
	ClassPairs int64 // (principal, context) pairs evaluated
	Exceptions int64 // (user, item) pairs with personal facts
	// ExceptionGroups is how many of those pairs were evaluated: pairs with
	// the same class, context and personal facts share one evaluation.
	ExceptionGroups int64
	Rows            int64 // rows written to the destination
}

// ExpandAccess writes into the temporary table dst (replaced) the decisions
// of effective_permissions for every user and every (content_type,
// content_id, capability) the query items returns, with the columns user_id,
// user_name, content_type, content_id, capability, decision, reason,
// deciding_rule, confidence, flags (or, with Count, the number of users per
// item, capability, decision and reason). The rows are exactly those the
// effective_permissions view gives (a differential test holds it to that),
// computed the way spec §12 compresses the evaluation:
//
//   - Items are reduced to contexts: everything the evaluation reads of an
//     item but its id and owner (ACL key, workbook ACL of a view with its own
//     rules, lock and Personal Space flags, and the project when somebody
//     holds a position there).
//   - A context's rules name a short list of groups and group sets, shared by
//     many ACLs (1,570 lists for 44,872 ACLs on the L preset). A principal
//     class (users with the same groups) decides on a context through the
//     grantees of the list it matches: its signature, a bit mask over the
//     list. Classes that match nothing decide like a user with no groups.
//   - Project positions and legacy leader Denies (spec §8.2 step 4, §10.2)
//     come from the groups for everybody but project owners and holders of
//     user rules on projects: a class overlay, and a per-user overlay for
//     those users, taken from 50_positions.sql as computed.
//   - The view's own text is evaluated once per (context, signature,
//     position, site-role profile): evalVariant swaps its users × items
//     source, so the answers cannot drift from the view.
//   - A user rule on an item's ACL (or its workbook's) or owning the item
//     makes that (user, item) pair an exception, evaluated by the view for
//     that user; pairs with the same class, context and facts share one
//     evaluation.
//
// Users are joined in last, so a consumer pays for the rows it keeps, and
// counting needs no users at all. It runs on one connection because its
// working tables are temporary; it works on a read-only model database.
func ExpandAccess(ctx context.Context, conn *sql.Conn, dst, items string, opts AccessOptions) (AccessStats, error) {
	var st AccessStats
	basis := opts.Basis
	if basis == "" {
		basis = "current"
	}
	if basis != "current" && basis != "projected" {
		return st, fmt.Errorf("expanding access: basis %q: want current or projected", basis)
	}
	decision := "true"
	switch opts.Decision {
	case "":
	case "allow", "deny":
		decision = "r.decision = '" + opts.Decision + "'"
	default:
		return st, fmt.Errorf("expanding access: decision %q: want allow, deny or empty", opts.Decision)
	}
	// Answers of the other decision can be dropped at once: every user
	// lands in exactly one answer per item and capability. Counting needs
	// no rule, flags or confidence, and leaving them out spares the view
	// computing them.
	resKeep := strings.ReplaceAll(decision, "r.", "e.")
	resCols := "e.decision, e.reason, e.deciding_rule, e.confidence, e.flags"
	switch {
	case opts.Count:
		resCols = "e.decision, e.reason"
	case opts.Narrow:
		resCols = "e.decision, e.reason, NULL::VARCHAR AS deciding_rule, NULL::VARCHAR AS confidence, NULL::VARCHAR[] AS flags"
	}
	if !validIdent.MatchString(dst) {
		return st, fmt.Errorf("expanding access: bad table name %q", dst)
	}
	classView, err := evalVariant("xa_eval_class",
		`FROM xa_pairs pr JOIN xa_principal ub ON ub.user_id = pr.pid JOIN xa_ctx c ON c.content_id = pr.ctx_key`)
	if err == nil {
		classView, err = replaceOnce(classView, "LEFT JOIN m_position pos ON", "LEFT JOIN xa_ppos pos ON")
	}
	if err == nil {
		classView, err = replaceOnce(classView, "LEFT JOIN m_leader_block lb ON", "LEFT JOIN xa_pblock lb ON")
	}
	if err != nil {
		return st, err
	}
	excView, err := evalVariant("xa_eval_exc",
		`FROM xa_rep pr JOIN xa_ub ub ON ub.user_id = pr.user_id JOIN m_content c ON c.content_type = pr.content_type AND c.content_id = pr.content_id`)
	if err != nil {
		return st, err
	}
	users := "true"
	if opts.Users != "" {
		users = "user_id IN (SELECT user_id FROM (" + opts.Users + "))"
	}
	if opts.PerUser && !opts.Count {
		return st, fmt.Errorf("expanding access: PerUser goes with Count")
	}
	if opts.Keep != "" && (opts.Count || opts.Tuples != "") {
		return st, fmt.Errorf("expanding access: Keep goes with neither Count nor Tuples")
	}
	if opts.KeepInto != "" && (opts.Keep == "" || !validIdent.MatchString(opts.KeepInto)) {
		return st, fmt.Errorf("expanding access: KeepInto %q wants Keep and a table name", opts.KeepInto)
	}
	partCol, partJoin, partGroups := "NULL::VARCHAR", "", ""
	if opts.Parts != "" {
		partCol = "pp.part"
		partJoin = `LEFT JOIN (SELECT content_type, content_id, min(part)::VARCHAR AS part FROM (` + opts.Parts + `) GROUP BY ALL) pp
				ON pp.content_type = c.content_type AND pp.content_id = c.content_id`
	}
	if opts.PartGroups != "" {
		partGroups = `UNION SELECT x.content_id, 'group', pg.group_id FROM xa_ctx x JOIN (` + opts.PartGroups + `) pg ON pg.part = x.part`
	}
	var pre []struct{ what, q string }
	if opts.Tuples != "" {
		pre = append(pre, struct{ what, q string }{"selecting tuples", `CREATE OR REPLACE TEMP TABLE xa_tuples AS
			SELECT DISTINCT user_id, content_type, content_id, capability FROM (` + opts.Tuples + `)`})
		items = `SELECT DISTINCT content_type, content_id, capability FROM xa_tuples`
		users += " AND user_id IN (SELECT user_id FROM xa_tuples)"
	}
	stmts := append(pre, []struct{ what, q string }{
		{"selecting items", `CREATE OR REPLACE TEMP TABLE xa_sel AS
			SELECT DISTINCT c.content_type, c.content_id, s.capability
			FROM (` + items + `) s JOIN m_content c ON c.content_type = s.content_type AND c.content_id = s.content_id`},
		{"reducing users to classes", `CREATE OR REPLACE TEMP VIEW xa_ub AS
			SELECT * FROM m_user_basis WHERE basis = '` + basis + `' AND ` + users},
		{"reducing users to classes", `CREATE OR REPLACE TEMP TABLE xa_upc AS
			SELECT user_id, user_name, class_id, profile_id, dense_rank() OVER (ORDER BY class_id, profile_id)::INTEGER AS pclass_id
			FROM (SELECT user_id, user_name, class_id,
				dense_rank() OVER (ORDER BY {'b': basis, 'r': role, 'a': admin, 't': treated_as, 'f': role_flag,
					'c': role_confidence, 'u': role_unknown, 'm': ambiguous})::INTEGER AS profile_id FROM xa_ub)`},
		{"reducing users to classes", `CREATE OR REPLACE TEMP TABLE xa_pc AS
			SELECT pclass_id, any_value(class_id) AS class_id, any_value(profile_id) AS profile_id, count(*) AS n FROM xa_upc GROUP BY pclass_id`},
		// Project positions (spec §8.2 step 4) are personal only for users
		// who own a project or carry a user rule on a project: everybody
		// else leads exactly where their class's groups make them lead
		// (50_positions.sql), so their positions and legacy leader Denies
		// are class facts.
		{"finding class positions", `CREATE OR REPLACE TEMP TABLE xa_perpos AS
			SELECT owner_id AS user_id FROM m_projects WHERE owner_id IS NOT NULL
			UNION SELECT ua.user_id FROM m_user_acl ua JOIN m_acl a ON a.acl_id = ua.acl_id AND a.content_type = 'project'`},
		{"finding class positions", `CREATE OR REPLACE TEMP TABLE xa_cpos AS
			SELECT DISTINCT u.class_id, p.project_id, p.reason, p.rule, p.shadowed
			FROM m_position p JOIN xa_upc u ON u.user_id = p.user_id
			SEMI JOIN (SELECT DISTINCT project_id FROM m_content c SEMI JOIN xa_sel s ON s.content_type = c.content_type AND s.content_id = c.content_id) i
				ON i.project_id = p.project_id
			ANTI JOIN xa_perpos x ON x.user_id = p.user_id`},
		{"finding class positions", `CREATE OR REPLACE TEMP TABLE xa_cblock AS
			SELECT DISTINCT u.class_id, b.project_id
			FROM m_leader_block b JOIN xa_upc u ON u.user_id = b.user_id
			SEMI JOIN (SELECT DISTINCT project_id FROM m_content c SEMI JOIN xa_sel s ON s.content_type = c.content_type AND s.content_id = c.content_id) i
				ON i.project_id = b.project_id
			ANTI JOIN xa_perpos x ON x.user_id = b.user_id`},
		// The positions of users whose positions are personal, exactly as
		// 50_positions.sql computed them, on every selected project where
		// they hold one or where their class does (a row with no position
		// then says they do not).
		{"finding personal positions", `CREATE OR REPLACE TEMP TABLE xa_upos AS
			WITH pr AS (SELECT DISTINCT project_id FROM m_content c SEMI JOIN xa_sel s ON s.content_type = c.content_type AND s.content_id = c.content_id),
			pu AS (SELECT u.user_id, u.class_id FROM xa_upc u SEMI JOIN xa_perpos x ON x.user_id = u.user_id),
			k AS (
				SELECT p.user_id, p.project_id FROM m_position p SEMI JOIN pu ON pu.user_id = p.user_id SEMI JOIN pr ON pr.project_id = p.project_id
				UNION SELECT b.user_id, b.project_id FROM m_leader_block b SEMI JOIN pu ON pu.user_id = b.user_id SEMI JOIN pr ON pr.project_id = b.project_id
				UNION SELECT pu.user_id, c.project_id FROM xa_cpos c JOIN pu ON pu.class_id = c.class_id
				UNION SELECT pu.user_id, c.project_id FROM xa_cblock c JOIN pu ON pu.class_id = c.class_id)
			SELECT k.user_id, u.class_id, k.project_id, p.reason, p.rule, p.shadowed, b.user_id IS NOT NULL AS blocked
			FROM k JOIN pu u ON u.user_id = k.user_id
			LEFT JOIN m_position p ON p.user_id = k.user_id AND p.project_id = k.project_id
			LEFT JOIN m_leader_block b ON b.user_id = k.user_id AND b.project_id = k.project_id`},
		// A context carries the columns the evaluation reads from m_content;
		// its id stands in content_id. It has no owner or name, so nothing
		// personal can match it, and a project only where some class holds
		// a position there (pos_project), so class positions can.
		{"reducing items to contexts", `CREATE OR REPLACE TEMP TABLE xa_item0 AS
			SELECT c.*, ` + partCol + ` AS part, CASE WHEN c.project_id IN (SELECT project_id FROM xa_cpos UNION SELECT project_id FROM xa_cblock
					UNION SELECT project_id FROM xa_upos WHERE reason IS NOT NULL OR blocked)
				THEN c.project_id END AS pos_project
			FROM m_content c ` + partJoin + ` SEMI JOIN xa_sel s ON s.content_type = c.content_type AND s.content_id = c.content_id`},
		{"reducing items to contexts", `CREATE OR REPLACE TEMP TABLE xa_ctx AS
			SELECT (row_number() OVER (ORDER BY content_type, acl_id, wb_acl_id, locked_for, lock_cp, personal, nested_lock, pos_project, part))::VARCHAR AS content_id,
				* EXCLUDE (pos_project), NULL::VARCHAR AS name, pos_project AS project_id, NULL::VARCHAR AS project_path, NULL::VARCHAR AS owner_id
			FROM (SELECT DISTINCT content_type, acl_id, wb_acl_id, locked_for, lock_cp, personal, nested_lock, rl_type, acl_label, pos_project, part FROM xa_item0)`},
		{"reducing items to contexts", `CREATE OR REPLACE TEMP TABLE xa_item AS
			SELECT c.content_type, c.content_id, x.content_id AS ctx_key, c.project_id, c.acl_id, c.wb_acl_id, c.owner_id
			FROM xa_item0 c
			JOIN xa_ctx x ON x.content_type = c.content_type AND x.acl_id = c.acl_id AND x.wb_acl_id IS NOT DISTINCT FROM c.wb_acl_id
				AND x.locked_for = c.locked_for AND x.lock_cp = c.lock_cp AND x.personal = c.personal
				AND x.nested_lock = c.nested_lock AND x.rl_type = c.rl_type AND x.acl_label = c.acl_label
				AND x.project_id IS NOT DISTINCT FROM c.pos_project AND x.part IS NOT DISTINCT FROM c.part`},
		{"reducing items to contexts", `CREATE OR REPLACE TEMP TABLE xa_ctxcap AS
			SELECT DISTINCT i.ctx_key, s.capability FROM xa_sel s JOIN xa_item i USING (content_type, content_id)`},
		// A context's grantee list: the groups and group sets its rules name,
		// on the item's ACL or, for a view with its own rules, its
		// workbook's too. Many ACLs name the same groups (1,570 lists for
		// 44,872 ACLs on the L preset, at most 6 grantees each), and a class
		// decides alike on every context with the same list and masks,
		// through the grantees it matches there: its signature on the list
		// (a bit mask over the list's grantees), plus the position and
		// leader Deny it holds on the context's pos_project.
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_ctxg AS
			WITH a AS (SELECT content_id AS ctx_key, acl_id FROM xa_ctx
				UNION SELECT content_id, wb_acl_id FROM xa_ctx WHERE wb_acl_id IS NOT NULL),
			g AS (SELECT DISTINCT a.ctx_key, g.kind, g.grantee_id FROM a JOIN m_acl_grants g ON g.acl_id = a.acl_id AND g.kind IN ('group', 'set')
				` + partGroups + `),
			l AS (SELECT x.content_id AS ctx_key, any_value(x.project_id) AS pos_project,
				coalesce(list({'k': g.kind, 'g': g.grantee_id} ORDER BY g.kind, g.grantee_id) FILTER (WHERE g.kind IS NOT NULL), []) AS gs
				FROM xa_ctx x LEFT JOIN g ON g.ctx_key = x.content_id GROUP BY x.content_id)
			SELECT ctx_key, gs, pos_project, dense_rank() OVER (ORDER BY gs)::INTEGER AS gl_id FROM l`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_glg AS
			SELECT gl_id, idx, x.k AS k, x.g AS g FROM (
				SELECT gl_id, (generate_subscripts(gs, 1) - 1)::INTEGER AS idx, unnest(gs) AS x FROM (SELECT DISTINCT gl_id, gs FROM xa_ctxg))`},
		// Masks hold 62 grantees; a longer list keeps the rest as a list.
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_glclass AS
			WITH m AS (
				SELECT g.gl_id, cg.class_id, g.idx FROM xa_glg g JOIN m_class_groups cg ON g.k = 'group' AND cg.group_id = g.g
				UNION ALL
				SELECT g.gl_id, cs.class_id, g.idx FROM xa_glg g JOIN m_class_sets cs ON g.k = 'set' AND cs.set_id = g.g),
			c AS (SELECT gl_id, class_id, coalesce(bit_or(1::BIGINT << idx) FILTER (WHERE idx < 62), 0) AS bits,
					coalesce(list(idx ORDER BY idx) FILTER (WHERE idx >= 62), []) AS over
				FROM m SEMI JOIN xa_pc u ON u.class_id = m.class_id GROUP BY gl_id, class_id)
			SELECT gl_id, class_id, bits, over, dense_rank() OVER (ORDER BY gl_id, bits, over)::INTEGER AS sigm_id FROM c`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_sigm AS
			SELECT s.sigm_id,
				coalesce(list(g.g ORDER BY g.g) FILTER (WHERE g.k = 'group'), []) AS groups,
				coalesce(list(g.g ORDER BY g.g) FILTER (WHERE g.k = 'set'), []) AS sets
			FROM (SELECT DISTINCT sigm_id, gl_id, bits, over FROM xa_glclass) s
			JOIN xa_glg g ON g.gl_id = s.gl_id
			WHERE (g.idx < 62 AND ((s.bits >> g.idx) & 1) = 1) OR list_contains(s.over, g.idx)
			GROUP BY s.sigm_id
			UNION ALL SELECT 0, []::VARCHAR[], []::VARCHAR[]`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_gln AS
			SELECT g.gl_id, g.sigm_id, pc.profile_id, sum(pc.n)::BIGINT AS n
			FROM xa_glclass g JOIN xa_pc pc ON pc.class_id = g.class_id GROUP BY ALL`},
		// Positions per project, of classes (user_id NULL) and of users with
		// personal positions; pos_id 0 is none.
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_posrow AS
			SELECT *, CASE WHEN reason IS NULL AND NOT blocked THEN 0
				ELSE dense_rank() OVER (ORDER BY {'p': project_id, 'r': reason, 'q': rule, 's': shadowed, 'b': blocked}) END::INTEGER AS pos_id
			FROM (SELECT coalesce(p.project_id, b.project_id) AS project_id, coalesce(p.class_id, b.class_id) AS class_id,
					NULL::VARCHAR AS user_id, p.reason, p.rule, p.shadowed, b.class_id IS NOT NULL AS blocked
				FROM xa_cpos p FULL JOIN xa_cblock b ON b.project_id = p.project_id AND b.class_id = p.class_id
				UNION ALL
				SELECT project_id, class_id, user_id, reason, rule, shadowed, blocked FROM xa_upos)`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_pclass AS SELECT * EXCLUDE (user_id) FROM xa_posrow WHERE user_id IS NULL`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_puser AS SELECT * FROM xa_posrow WHERE user_id IS NOT NULL`},
		// Users holding their class's position on a project, per profile
		// (the class's users but those with personal positions there); then,
		// with the personal positions, summed per (grantee list, project) by
		// the signature the users' classes have on the list: what a context
		// with that list and project moves from its signatures' answers to
		// the positions'.
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_pclassn AS
			SELECT p.project_id, p.class_id, p.pos_id, u.profile_id, count(*) AS n
			FROM xa_pclass p JOIN xa_upc u ON u.class_id = p.class_id
			ANTI JOIN xa_puser q ON q.project_id = p.project_id AND q.user_id = u.user_id
			GROUP BY ALL`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_pcorr AS
			WITH glp AS (SELECT DISTINCT gl_id, pos_project FROM xa_ctxg WHERE pos_project IS NOT NULL),
			moves AS (
				SELECT pc.project_id, pc.class_id, pc.pos_id, pc.profile_id, pc.n FROM xa_pclassn pc
				UNION ALL
				SELECT q.project_id, u.class_id, q.pos_id, u.profile_id, 1 FROM xa_puser q JOIN xa_upc u ON u.user_id = q.user_id
				WHERE q.pos_id <> 0)
			SELECT x.gl_id, x.pos_project, coalesce(g.sigm_id, 0) AS sigm_id, m.pos_id, m.profile_id, sum(m.n)::BIGINT AS n
			FROM glp x JOIN moves m ON m.project_id = x.pos_project
			LEFT JOIN xa_glclass g ON g.gl_id = x.gl_id AND g.class_id = m.class_id
			GROUP BY ALL`},
		// The evaluated (context, signature, position, profile) combinations.
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_trip AS
			SELECT DISTINCT * FROM (
				SELECT x.ctx_key, n.sigm_id, 0 AS pos_id, n.profile_id FROM xa_ctxg x JOIN xa_gln n ON n.gl_id = x.gl_id
				UNION ALL
				SELECT x.ctx_key, 0, 0, p.profile_id FROM xa_ctxg x CROSS JOIN (SELECT DISTINCT profile_id FROM xa_pc) p
				UNION ALL
				SELECT x.ctx_key, c.sigm_id, c.pos_id, c.profile_id
				FROM xa_ctxg x JOIN xa_pcorr c ON c.gl_id = x.gl_id AND c.pos_project = x.pos_project)`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_pairs AS
			SELECT ctx_key, sigm_id || ':' || pos_id || ':' || profile_id AS pid FROM xa_trip`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_principal AS
			WITH k AS (SELECT DISTINCT sigm_id, pos_id, profile_id FROM xa_trip),
			pos AS (SELECT DISTINCT pos_id, project_id, reason, rule, shadowed, blocked FROM xa_posrow WHERE pos_id <> 0)
			SELECT k.sigm_id || ':' || k.pos_id || ':' || k.profile_id AS user_id, NULL::VARCHAR AS user_name, ub.basis, ub.role,
				NULL::INTEGER AS class_id, ub.admin, ub.treated_as, ub.role_flag, ub.role_confidence, ub.role_unknown, ub.ambiguous,
				s.groups, s.sets, pos.project_id AS pos_project, pos.reason AS pos_reason, pos.rule AS pos_rule,
				pos.shadowed AS pos_shadowed, coalesce(pos.blocked, false) AS pos_blocked
			FROM k
			JOIN (SELECT profile_id, arg_min(user_id, user_id) AS user_id FROM xa_upc GROUP BY profile_id) p ON p.profile_id = k.profile_id
			JOIN xa_ub ub ON ub.user_id = p.user_id
			JOIN xa_sigm s ON s.sigm_id = k.sigm_id
			LEFT JOIN pos ON pos.pos_id = k.pos_id`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_ppos AS
			SELECT user_id, pos_project AS project_id, pos_reason AS reason, pos_rule AS rule, pos_shadowed AS shadowed
			FROM xa_principal WHERE pos_reason IS NOT NULL`},
		{"joining classes with rules", `CREATE OR REPLACE TEMP TABLE xa_pblock AS
			SELECT user_id, pos_project AS project_id FROM xa_principal WHERE pos_blocked`},
		// Pairs with personal facts, and what those facts are. Pairs that
		// share class, context and facts decide alike, so one representative
		// per group is evaluated: the facts that name the user or the item in
		// the deciding rule (a user rule, ownership) put them in the key.
		{"finding personal facts", `CREATE OR REPLACE TEMP TABLE xa_exc AS
			SELECT e.user_id, e.content_type, e.content_id, i.ctx_key, u.pclass_id, u.class_id, u.profile_id,
				dense_rank() OVER (ORDER BY {'p': u.pclass_id, 'x': i.ctx_key, 'r': pos.reason, 'q': pos.rule, 's': pos.shadowed,
					'b': lb.user_id IS NOT NULL,
					'u': CASE WHEN ua.user_id IS NOT NULL OR uw.user_id IS NOT NULL THEN e.user_id END,
					'o': CASE WHEN i.owner_id = e.user_id THEN e.content_type || ':' || e.content_id END}) AS gkey
			FROM (SELECT DISTINCT * FROM (
				SELECT i.owner_id AS user_id, i.content_type, i.content_id FROM xa_item i WHERE i.owner_id IS NOT NULL
				UNION ALL SELECT ua.user_id, i.content_type, i.content_id FROM xa_item i JOIN m_user_acl ua ON ua.acl_id = i.acl_id
				UNION ALL SELECT ua.user_id, i.content_type, i.content_id FROM xa_item i JOIN m_user_acl ua ON ua.acl_id = i.wb_acl_id

			)) e
			JOIN xa_upc u ON u.user_id = e.user_id
			JOIN xa_item i ON i.content_type = e.content_type AND i.content_id = e.content_id
			LEFT JOIN m_position pos ON pos.user_id = e.user_id AND pos.project_id = i.project_id
			LEFT JOIN m_leader_block lb ON lb.user_id = e.user_id AND lb.project_id = i.project_id
			LEFT JOIN m_user_acl ua ON ua.user_id = e.user_id AND ua.acl_id = i.acl_id
			LEFT JOIN m_user_acl uw ON uw.user_id = e.user_id AND uw.acl_id = i.wb_acl_id`},
		{"finding personal facts", `CREATE OR REPLACE TEMP TABLE xa_rep AS
			SELECT gkey, r.u AS user_id, r.t AS content_type, r.i AS content_id
			FROM (SELECT gkey, min({'u': user_id, 't': content_type, 'i': content_id}) AS r FROM xa_exc GROUP BY gkey)`},
		// Only the capabilities asked for reach the evaluation.
		{"evaluating classes", `CREATE OR REPLACE TEMP TABLE xa_ceiling AS
			SELECT b.* FROM m_ceiling_bits b SEMI JOIN xa_sel s ON s.content_type = b.content_type AND s.capability = b.capability`},
		{"evaluating classes", classView},
		{"evaluating classes", excView},
		{"evaluating classes", `CREATE OR REPLACE TEMP TABLE xa_cres AS
			SELECT row_number() OVER ()::BIGINT AS ans_id, split_part(e.user_id, ':', 1)::INTEGER AS sigm_id, split_part(e.user_id, ':', 2)::INTEGER AS pos_id,
				split_part(e.user_id, ':', 3)::INTEGER AS profile_id, e.content_id AS ctx_key, e.capability,
				` + resCols + `
			FROM xa_eval_class e SEMI JOIN xa_ctxcap k ON k.ctx_key = e.content_id AND k.capability = e.capability
			WHERE ` + resKeep},
		{"evaluating personal facts", `CREATE OR REPLACE TEMP TABLE xa_eres AS
			SELECT -row_number() OVER ()::BIGINT AS ans_id, p.gkey, e.capability, ` + resCols + `
			FROM xa_eval_exc e JOIN xa_rep p ON p.user_id = e.user_id AND p.content_type = e.content_type AND p.content_id = e.content_id
			WHERE ` + resKeep},
	}...)
	keepJoin, keepCols := "", ""
	if opts.Keep != "" {
		keepJoin, keepCols = "JOIN xa_keep k ON k.ans_id = r.ans_id", ", k.* EXCLUDE (ans_id)"
		stmts = append(stmts, struct{ what, q string }{"keeping answers", `CREATE OR REPLACE TEMP TABLE xa_answers AS
			SELECT r.ans_id, c.part, c.content_type, r.capability, r.decision, r.reason, r.deciding_rule, r.confidence, r.flags,
				p.groups, CASE WHEN p.role_unknown THEN p.treated_as ELSE p.role END AS site_role, p.admin
			FROM xa_cres r JOIN xa_ctx c ON c.content_id = r.ctx_key
			JOIN xa_principal p ON p.user_id = r.sigm_id || ':' || r.pos_id || ':' || r.profile_id
			UNION ALL
			SELECT r.ans_id, c.part, c.content_type, r.capability, r.decision, r.reason, r.deciding_rule, r.confidence, r.flags,
				ub.groups, CASE WHEN ub.role_unknown THEN ub.treated_as ELSE ub.role END, ub.admin
			FROM xa_eres r JOIN xa_rep p ON p.gkey = r.gkey JOIN xa_ub ub ON ub.user_id = p.user_id
			JOIN xa_item i ON i.content_type = p.content_type AND i.content_id = p.content_id
			JOIN xa_ctx c ON c.content_id = i.ctx_key`},
			struct{ what, q string }{"keeping answers", `CREATE OR REPLACE TEMP TABLE xa_keep AS ` + opts.Keep})
		if opts.KeepInto != "" {
			stmts = append(stmts, struct{ what, q string }{"keeping answers", `CREATE OR REPLACE TEMP TABLE xa_keepn AS
				SELECT row_number() OVER ()::BIGINT AS keep_id, * FROM xa_keep`},
				struct{ what, q string }{"keeping answers", `CREATE OR REPLACE TEMP TABLE ` + opts.KeepInto + ` AS
				SELECT * EXCLUDE (ans_id) FROM xa_keepn`},
				struct{ what, q string }{"keeping answers", `CREATE OR REPLACE TEMP TABLE xa_keep AS SELECT ans_id, keep_id FROM xa_keepn`})
		}
	}
	cols := userCols + keepCols
	if opts.KeepInto != "" {
		cols = `SELECT u.user_id, s.content_type, s.content_id, k.keep_id`
	}
	if opts.Count && opts.Tuples != "" {
		return st, fmt.Errorf("expanding access: Count and Tuples do not go together")
	}
	switch {
	case opts.Count && opts.PerUser:
		stmts = append(stmts, countPerUserStmts(dst, decision)...)
	case opts.Count:
		stmts = append(stmts, countStmts(dst, decision)...)
	case opts.Tuples != "":
		// Driven by the tuples: each one looks up its user's class-level
		// answer, or its own when the pair has personal facts.
		stmts = append(stmts, struct{ what, q string }{"answering tuples", `CREATE OR REPLACE TEMP TABLE ` + dst + ` AS
			SELECT u.user_id, u.user_name, t.content_type, t.content_id, t.capability,
				r.decision, r.reason, r.deciding_rule, r.confidence, r.flags
			FROM xa_tuples t JOIN xa_upc u ON u.user_id = t.user_id
			JOIN xa_item i ON i.content_type = t.content_type AND i.content_id = t.content_id
			JOIN xa_ctxg x ON x.ctx_key = i.ctx_key
			` + classAnswer("u", "i.ctx_key", "t.capability") + `
			ANTI JOIN xa_exc e ON e.user_id = t.user_id AND e.content_type = t.content_type AND e.content_id = t.content_id
			WHERE ` + decision + `
			UNION ALL
			SELECT u.user_id, u.user_name, t.content_type, t.content_id, t.capability,
				r.decision, r.reason, r.deciding_rule, r.confidence, r.flags
			FROM xa_exc e JOIN xa_tuples t ON t.user_id = e.user_id AND t.content_type = e.content_type AND t.content_id = e.content_id
			JOIN xa_upc u ON u.user_id = e.user_id
			JOIN xa_eres r ON r.gkey = e.gkey AND r.capability = t.capability
			WHERE ` + decision})
	default:
		stmts = append(stmts, struct{ what, q string }{"expanding to users", `CREATE OR REPLACE TEMP TABLE ` + dst + ` AS
			` + cols + `
			` + itemContexts + `
			JOIN xa_glclass g ON g.gl_id = x.gl_id
			JOIN xa_upc u ON u.class_id = g.class_id
			ANTI JOIN xa_pclass p ON p.project_id = x.pos_project AND p.class_id = u.class_id
			ANTI JOIN xa_puser q ON q.project_id = x.pos_project AND q.user_id = u.user_id
			JOIN xa_cres r ON r.sigm_id = g.sigm_id AND r.pos_id = 0 AND r.profile_id = u.profile_id AND r.ctx_key = i.ctx_key
				AND r.capability = s.capability
			` + keepJoin + `
			` + notPersonal + `
			WHERE ` + decision + `
			UNION ALL
			` + cols + `
			` + itemContexts + `
			JOIN xa_pclass p ON p.project_id = x.pos_project
			JOIN xa_upc u ON u.class_id = p.class_id
			ANTI JOIN xa_puser q ON q.project_id = x.pos_project AND q.user_id = u.user_id
			LEFT JOIN xa_glclass g ON g.gl_id = x.gl_id AND g.class_id = p.class_id
			JOIN xa_cres r ON r.sigm_id = coalesce(g.sigm_id, 0) AND r.pos_id = p.pos_id AND r.profile_id = u.profile_id
				AND r.ctx_key = i.ctx_key AND r.capability = s.capability
			` + keepJoin + `
			` + notPersonal + `
			WHERE ` + decision + `
			UNION ALL
			` + cols + `
			` + itemContexts + `
			JOIN xa_puser q ON q.project_id = x.pos_project
			JOIN xa_upc u ON u.user_id = q.user_id
			LEFT JOIN xa_glclass g ON g.gl_id = x.gl_id AND g.class_id = u.class_id
			JOIN xa_cres r ON r.sigm_id = coalesce(g.sigm_id, 0) AND r.pos_id = q.pos_id AND r.profile_id = u.profile_id
				AND r.ctx_key = i.ctx_key AND r.capability = s.capability
			` + keepJoin + `
			` + notPersonal + `
			WHERE ` + decision + `
			UNION ALL
			` + cols + `
			` + itemContexts + `
			JOIN xa_cres r ON r.sigm_id = 0 AND r.pos_id = 0 AND r.ctx_key = i.ctx_key AND r.capability = s.capability
			` + keepJoin + `
			JOIN xa_upc u ON u.profile_id = r.profile_id
			ANTI JOIN xa_glclass g ON g.gl_id = x.gl_id AND g.class_id = u.class_id
			ANTI JOIN xa_pclass p ON p.project_id = x.pos_project AND p.class_id = u.class_id
			ANTI JOIN xa_puser q ON q.project_id = x.pos_project AND q.user_id = u.user_id
			` + notPersonal + `
			WHERE ` + decision + `
			UNION ALL
			` + cols + `
			FROM xa_exc x JOIN xa_upc u USING (user_id)
			JOIN xa_sel s ON s.content_type = x.content_type AND s.content_id = x.content_id
			JOIN xa_eres r ON r.gkey = x.gkey AND r.capability = s.capability
			` + keepJoin + `
			WHERE ` + decision})
	}
	defer func() {
		for _, t := range []string{"xa_eval_class", "xa_eval_exc", "xa_ub"} {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+t)
		}
		for _, t := range []string{"xa_eres", "xa_answers", "xa_keep", "xa_keepn", "xa_ceiling", "xa_rep", "xa_pc", "xa_pf", "xa_cres", "xa_pairs", "xa_gln", "xa_glclass",
			"xa_glg", "xa_sigm", "xa_pclass", "xa_pclassn", "xa_pcorr", "xa_puser", "xa_posrow", "xa_upos", "xa_trip", "xa_ctxg", "xa_ppos", "xa_pblock", "xa_cpos", "xa_cblock", "xa_perpos", "xa_item0", "xa_exc", "xa_principal", "xa_upc", "xa_ctxcap", "xa_item", "xa_ctx", "xa_sel", "xa_tuples"} {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+t)
		}
	}()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for i, s := range stmts {
		t0 := time.Now()
		if _, err := conn.ExecContext(ctx, s.q); err != nil {
			return st, fmt.Errorf("expanding access: %s: %w", s.what, err)
		}
		logger.Debug("expanding access", "step", i, "what", s.what, "duration", time.Since(t0).Round(time.Millisecond))
	}
	err = conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM xa_sel), (SELECT count(*) FROM xa_ctx),
		(SELECT count(*) FROM xa_principal), (SELECT count(*) FROM xa_pairs), (SELECT count(*) FROM xa_exc),
		(SELECT count(*) FROM xa_rep), (SELECT count(*) FROM `+dst+`)`).Scan(&st.Selected, &st.Contexts, &st.Principals, &st.ClassPairs,
		&st.Exceptions, &st.ExceptionGroups, &st.Rows)
	if err != nil {
		return st, fmt.Errorf("expanding access: counting: %w", err)
	}
	return st, nil
}

func replaceOnce(s, old, new string) (string, error) {
	if strings.Count(s, old) != 1 {
		return "", fmt.Errorf("reading the evaluation: want one %q in the view", old)
	}
	return strings.Replace(s, old, new, 1), nil
}

// The pieces every branch of the expansion shares: the destination's
// columns, the selected items with their contexts, and leaving the pairs
// with personal facts to the exceptions branch.
const (
	userCols = `SELECT u.user_id, u.user_name, s.content_type, s.content_id, s.capability,
				r.decision, r.reason, r.deciding_rule, r.confidence, r.flags`
	itemContexts = `FROM xa_sel s JOIN xa_item i USING (content_type, content_id)
			JOIN xa_ctxg x ON x.ctx_key = i.ctx_key`
	notPersonal = `ANTI JOIN xa_exc e ON e.user_id = u.user_id AND e.content_type = s.content_type AND e.content_id = s.content_id`
)

var validIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// evalFrom is where the effective_permissions view reads its users and
// items; evalVariant swaps it for another source of rows of the same shape.
var evalFrom = regexp.MustCompile(`FROM m_user_basis ub\s+CROSS JOIN m_content c\b`)

// evalVariant returns the effective_permissions view of 60_relations.sql as
// a temporary view named name reading its principals and items from from.
// One text, several sources: the class-level answers cannot drift from the
// view's evaluation.
func evalVariant(name, from string) (string, error) {
	b, err := sqlFiles.ReadFile("sql/60_relations.sql")
	if err != nil {
		return "", fmt.Errorf("reading the evaluation: %w", err)
	}
	const head = "CREATE OR REPLACE VIEW effective_permissions AS"
	s := string(b)
	i := strings.Index(s, head)
	if i < 0 {
		return "", fmt.Errorf("reading the evaluation: no %q in 60_relations.sql", head)
	}
	body := strings.TrimSpace(s[i+len(head):])
	if j := strings.Index(body, ";"); j >= 0 && strings.TrimSpace(body[j+1:]) == "" {
		body = body[:j]
	}
	if n := len(evalFrom.FindAllStringIndex(body, -1)); n != 1 {
		return "", fmt.Errorf("reading the evaluation: want one users × items source in the view, found %d", n)
	}
	body, err = replaceOnce(body, "JOIN m_ceiling_bits ce ON", "JOIN xa_ceiling ce ON")
	if err != nil {
		return "", err
	}
	return "CREATE OR REPLACE TEMP VIEW " + name + " AS " + evalFrom.ReplaceAllLiteralString(body, from), nil
}

// countStmts count users per (item, capability, decision) from the
// class-level answers: per context, the users of the classes its rules name
// with their class's answer plus the users of every other class with their
// profile's answer; then per item, each pair with personal facts moves one
// user from its class-level answer to its own.
func countStmts(dst, decision string) []struct{ what, q string } {
	return []struct{ what, q string }{
		{"counting users", `CREATE OR REPLACE TEMP TABLE xa_pf AS SELECT profile_id, count(*) AS n FROM xa_upc GROUP BY profile_id`},
		{"counting users", `CREATE OR REPLACE TEMP TABLE ` + dst + ` AS
			WITH ctxn AS (SELECT ctx_key, capability, decision, reason, sum(n) AS n FROM (
				-- classes the context's rules name, by signature
				SELECT x.ctx_key, r.capability, r.decision, r.reason, n.n
				FROM xa_ctxg x JOIN xa_gln n ON n.gl_id = x.gl_id
				JOIN xa_cres r ON r.sigm_id = n.sigm_id AND r.pos_id = 0 AND r.profile_id = n.profile_id AND r.ctx_key = x.ctx_key
				UNION ALL
				-- every other class, by profile
				SELECT r.ctx_key, r.capability, r.decision, r.reason, pf.n - coalesce(m.n, 0)
				FROM xa_cres r JOIN xa_pf pf ON r.sigm_id = 0 AND r.pos_id = 0 AND pf.profile_id = r.profile_id
				JOIN xa_ctxg x ON x.ctx_key = r.ctx_key
				LEFT JOIN (SELECT gl_id, profile_id, sum(n) AS n FROM xa_gln GROUP BY ALL) m ON m.gl_id = x.gl_id AND m.profile_id = r.profile_id
				UNION ALL
				-- classes and users holding a position there move from their
				-- signature's answer to the answer with the position
				SELECT x.ctx_key, r.capability, r.decision, r.reason, CASE WHEN r.pos_id = 0 THEN -c.n ELSE c.n END
				FROM xa_ctxg x JOIN xa_pcorr c ON c.gl_id = x.gl_id AND c.pos_project = x.pos_project
				JOIN xa_cres r ON r.ctx_key = x.ctx_key AND r.sigm_id = c.sigm_id AND r.profile_id = c.profile_id
					AND (r.pos_id = 0 OR r.pos_id = c.pos_id)

			) GROUP BY ALL), moved AS (` + movedSQL("e.content_type, e.content_id") + `)
			SELECT content_type, content_id, capability, decision, reason, sum(n)::BIGINT AS users
			FROM (SELECT s.content_type, s.content_id, s.capability, c.decision, c.reason, c.n
				FROM xa_sel s JOIN xa_item i USING (content_type, content_id)
				JOIN ctxn c ON c.ctx_key = i.ctx_key AND c.capability = s.capability
				UNION ALL SELECT * FROM moved) r
			WHERE ` + decision + `
			GROUP BY ALL HAVING sum(n) > 0`},
	}
}

// classAnswer joins the class-level answer r of user u (a relation with
// user_id, class_id and profile_id) on the context ctx of grantee-list row
// x, for capability: its class's signature on the list, and its own
// position on the context's project or else its class's.
func classAnswer(u, ctx, capability string) string {
	return `LEFT JOIN xa_glclass g ON g.gl_id = x.gl_id AND g.class_id = ` + u + `.class_id
		LEFT JOIN xa_pclass p ON p.project_id = x.pos_project AND p.class_id = ` + u + `.class_id
		LEFT JOIN xa_puser q ON q.project_id = x.pos_project AND q.user_id = ` + u + `.user_id
		JOIN xa_cres r ON r.sigm_id = coalesce(g.sigm_id, 0) AND r.pos_id = coalesce(q.pos_id, p.pos_id, 0)
			AND r.profile_id = ` + u + `.profile_id AND r.ctx_key = ` + ctx + ` AND r.capability = ` + capability
}

// movedSQL is what the pairs with personal facts change in a count: each
// leaves its class-level answer (-1) for its own (+1); key names the pair's
// columns the count is grouped by.
func movedSQL(key string) string {
	return `
		SELECT ` + key + `, s.capability, r.decision, r.reason, -1 AS n
		FROM xa_exc e JOIN xa_sel s ON s.content_type = e.content_type AND s.content_id = e.content_id
		JOIN xa_ctxg x ON x.ctx_key = e.ctx_key
		` + classAnswer("e", "e.ctx_key", "s.capability") + `
		UNION ALL
		SELECT ` + key + `, s.capability, r.decision, r.reason, 1
		FROM xa_exc e JOIN xa_sel s ON s.content_type = e.content_type AND s.content_id = e.content_id
		JOIN xa_eres r ON r.gkey = e.gkey AND r.capability = s.capability`
}

// countPerUserStmts count items per user, capability, decision and reason
// from the class-level answers. A user of class k and profile p answers on
// context x as principal (signature of k on x's grantee list or 0, position
// of k or of the user on x's project or 0, p). Summed over contexts, with nx
// the selected items of x:
//
//	S0(p)   every context as if k matched none of its grantees;
//	G(k,p)  where k matches: the signature's answer instead (per grantee
//	        list, summed once per list and signature, then per class);
//	P(k,p)  where k holds a position: the position's answer instead;
//	        then per user, a personal position instead of the class's, and
//	        each pair with personal facts its own answer instead.
//
// Each "instead" is a +n row for the new answer and a -n row for the old.
func countPerUserStmts(dst, decision string) []struct{ what, q string } {
	return []struct{ what, q string }{
		{"counting items", `CREATE OR REPLACE TEMP TABLE xa_nx AS
			SELECT i.ctx_key, s.capability, count(*) AS n FROM xa_sel s JOIN xa_item i USING (content_type, content_id) GROUP BY ALL`},
		// Per context, capability and profile: the none-matched answer.
		{"counting items", `CREATE OR REPLACE TEMP TABLE xa_zero AS
			SELECT r.ctx_key, r.capability, r.profile_id, r.decision, r.reason, nx.n
			FROM xa_cres r JOIN xa_nx nx ON nx.ctx_key = r.ctx_key AND nx.capability = r.capability
			WHERE r.sigm_id = 0 AND r.pos_id = 0`},
		{"counting items", `CREATE OR REPLACE TEMP TABLE xa_kp AS
			WITH
			s0 AS (SELECT profile_id, capability, decision, reason, sum(n) AS n FROM xa_zero GROUP BY ALL),
			-- per grantee list, signature and profile: the signature's answer
			-- minus the none-matched one, over the list's contexts
			t AS (SELECT x.gl_id, n.sigm_id, n.profile_id, r.capability, r.decision, r.reason, sum(nx.n) AS n
				FROM xa_ctxg x JOIN xa_gln n ON n.gl_id = x.gl_id
				JOIN xa_cres r ON r.ctx_key = x.ctx_key AND r.sigm_id = n.sigm_id AND r.pos_id = 0 AND r.profile_id = n.profile_id
				JOIN xa_nx nx ON nx.ctx_key = r.ctx_key AND nx.capability = r.capability
				GROUP BY ALL
				UNION ALL
				SELECT x.gl_id, n.sigm_id, n.profile_id, z.capability, z.decision, z.reason, -sum(z.n)
				FROM xa_ctxg x JOIN xa_gln n ON n.gl_id = x.gl_id
				JOIN xa_zero z ON z.ctx_key = x.ctx_key AND z.profile_id = n.profile_id
				GROUP BY ALL),
			g AS (SELECT pc.class_id, pc.profile_id, t.capability, t.decision, t.reason, t.n
				FROM xa_glclass gc JOIN xa_pc pc ON pc.class_id = gc.class_id
				JOIN t ON t.gl_id = gc.gl_id AND t.sigm_id = gc.sigm_id AND t.profile_id = pc.profile_id),
			-- where the class holds a position: the position's answer minus the
			-- answer without it
			p AS (SELECT pc.class_id, pc.profile_id, r.capability, r.decision, r.reason,
					CASE WHEN r.pos_id = 0 THEN -nx.n ELSE nx.n END AS n
				FROM xa_pclass cp JOIN xa_pc pc ON pc.class_id = cp.class_id
				JOIN xa_ctxg x ON x.pos_project = cp.project_id
				LEFT JOIN xa_glclass gc ON gc.gl_id = x.gl_id AND gc.class_id = cp.class_id
				JOIN xa_cres r ON r.ctx_key = x.ctx_key AND r.sigm_id = coalesce(gc.sigm_id, 0) AND r.profile_id = pc.profile_id
					AND (r.pos_id = 0 OR r.pos_id = cp.pos_id) AND cp.pos_id <> 0
				JOIN xa_nx nx ON nx.ctx_key = r.ctx_key AND nx.capability = r.capability)
			SELECT class_id, profile_id, capability, decision, reason, sum(n) AS n FROM (
				SELECT pc.class_id, pc.profile_id, s0.capability, s0.decision, s0.reason, s0.n
				FROM xa_pc pc JOIN s0 ON s0.profile_id = pc.profile_id
				UNION ALL SELECT * FROM g
				UNION ALL SELECT * FROM p)
			GROUP BY ALL`},
		{"counting items", `CREATE OR REPLACE TEMP TABLE ` + dst + ` AS
			WITH personal AS (
				-- a personal position (or none) instead of the class's
				SELECT u.user_id, r.capability, r.decision, r.reason,
					CASE WHEN r.pos_id = q.pos_id THEN nx.n ELSE -nx.n END AS n
				FROM xa_puser q JOIN xa_upc u ON u.user_id = q.user_id
				JOIN xa_ctxg x ON x.pos_project = q.project_id
				LEFT JOIN xa_glclass gc ON gc.gl_id = x.gl_id AND gc.class_id = u.class_id
				LEFT JOIN xa_pclass cp ON cp.project_id = q.project_id AND cp.class_id = u.class_id
				JOIN xa_cres r ON r.ctx_key = x.ctx_key AND r.sigm_id = coalesce(gc.sigm_id, 0) AND r.profile_id = u.profile_id
					AND (r.pos_id = q.pos_id OR r.pos_id = coalesce(cp.pos_id, 0)) AND q.pos_id <> coalesce(cp.pos_id, 0)
				JOIN xa_nx nx ON nx.ctx_key = r.ctx_key AND nx.capability = r.capability),
			moved AS (` + movedSQL("e.user_id") + `)
			SELECT r.user_id, u.user_name, r.capability, r.decision, r.reason, sum(r.n)::BIGINT AS items
			FROM (SELECT u.user_id, k.capability, k.decision, k.reason, k.n FROM xa_upc u
					JOIN xa_kp k ON k.class_id = u.class_id AND k.profile_id = u.profile_id
				UNION ALL SELECT * FROM personal
				UNION ALL SELECT * FROM moved) r
			JOIN xa_upc u ON u.user_id = r.user_id
			WHERE ` + decision + `
			GROUP BY ALL HAVING sum(r.n) > 0`},
		{"counting items", `DROP TABLE xa_nx; DROP TABLE xa_zero; DROP TABLE xa_kp`},
	}
}

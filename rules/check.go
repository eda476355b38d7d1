package rules

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/tabaudit/tabaudit/model"
)

// Options tune a check run.
type Options struct {
	// Now is the clock: waiver expiry and inactivity are measured from it.
	Now time.Time
	// SnapshotID picks the snapshot; "" is the most recent one.
	SnapshotID string
	// FailOn is the lowest severity that gates (Result.Gated); "" or "none"
	// gates nothing.
	FailOn string
	// AllowIncomplete checks a snapshot whose manifest says incomplete even
	// when the model was not built with --allow-incomplete.
	AllowIncomplete bool
	// Hygiene overrides the matrix's hygiene settings (from CLI flags).
	Hygiene map[string]*HygieneSetting
	// ToolVersion is recorded in check_runs.
	ToolVersion string
	// Logger receives one line per stage; nil discards.
	Logger *slog.Logger
}

// Result summarises a run; the rows are in the model database.
type Result struct {
	RunID       string
	SnapshotID  string
	Findings    int64
	Violations  int64
	NeedsReview int64
	Waived      int64
	// Gated counts the findings at or above Options.FailOn that are not
	// waived (violations and needs-review alike).
	Gated    int64
	Causes   []Cause
	Warnings Diagnostics
}

// Cause is one row of finding_causes: the findings one grantee, rule
// position or hygiene check produced, counted.
type Cause struct {
	ID, Kind, RuleID, CheckID, Severity, Description, Grantee, Capability, Reason string
	Items, Users, Findings, Violations, NeedsReview, Waived                       int64
}

// Check evaluates the matrix against the snapshot in db (a model database:
// see docs/contracts.md) and writes findings, finding_causes, check_runs,
// policy_rules and policy_waivers, replacing the rows an earlier run left
// for the same snapshot.
//
// The work is set-based and class-level: each rule's scope becomes an item
// set and its grantees what decides membership (groups, site roles, All
// Users, named users); effective access is compared with the rules per
// class-level answer (see drift), and only the answers that are findings
// are expanded to users. Nothing loops over users × items in Go, and
// nothing expands the allowed access in scope per user.
func Check(ctx context.Context, db *sql.DB, m *Matrix, opts Options) (*Result, error) {
	if opts.FailOn != "" && opts.FailOn != "none" && SeverityRank(opts.FailOn) < 0 {
		return nil, fmt.Errorf("fail-on %q: want one of %s or none", opts.FailOn, strings.Join(Severities, ", "))
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening a connection to the model: %w", err)
	}
	defer conn.Close()
	snap, err := ResolveSnapshot(ctx, conn, opts.SnapshotID)
	if err != nil {
		return nil, err
	}
	if !snap.Complete && !snap.AllowedIncomplete && !opts.AllowIncomplete {
		return nil, &IncompleteError{SnapshotID: snap.ID}
	}
	n, err := loadNames(ctx, conn)
	if err != nil {
		return nil, err
	}
	d := &diags{}
	validateNames(m, n, d)
	if errs := d.list.Errors(); len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	r := &run{conn: conn, m: m, n: n, opts: opts, snap: snap, log: logger,
		hygiene: resolveHygiene(m.Hygiene, opts.Hygiene), warnings: slices.Clone(m.Warnings)}
	r.runID = r.makeRunID()
	for _, st := range []struct {
		name string
		fn   func(context.Context) error
	}{
		{"policy", r.loadPolicy},
		{"drift", r.drift},
		{"waivers", r.applyWaivers},
		{"hygiene", r.runHygiene},
		{"causes", r.aggregate},
		{"persist", r.persist},
	} {
		t0 := time.Now()
		if err := st.fn(ctx); err != nil {
			return nil, err
		}
		logger.Debug("check stage", "stage", st.name, "duration", time.Since(t0).Round(time.Millisecond))
	}
	r.res.Warnings = r.warnings
	r.res.Warnings.sort()
	return &r.res, nil
}

type run struct {
	conn     *sql.Conn
	m        *Matrix
	n        *names
	opts     Options
	snap     SnapshotInfo
	log      *slog.Logger
	hygiene  map[string]HygieneSetting
	warnings Diagnostics
	runID    string
	res      Result
	// per rule: items and users in scope, for policy_rules and warnings.
	itemCount, userCount map[string]int64
}

func (r *run) makeRunID() string {
	h := sha256.Sum256([]byte(r.snap.ID + "|" + r.m.SHA256 + "|" + r.opts.Now.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(h[:8])
}

func (r *run) exec(ctx context.Context, what, q string, args ...any) error {
	t0 := time.Now()
	if _, err := r.conn.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if d := time.Since(t0); d > 100*time.Millisecond {
		r.log.Debug("check step", "what", what, "duration", d.Round(time.Millisecond))
	}
	return nil
}

// ql quotes a string as a SQL literal (standard SQL: quotes doubled, no
// backslash escapes), for values of the matrix inlined into generated SQL.
func ql(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func qlist(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = ql(v)
	}
	return strings.Join(q, ", ")
}

func jsonList(vs []string) string {
	if vs == nil {
		vs = []string{}
	}
	b, _ := json.Marshal(vs)
	return string(b)
}

// loadPolicy writes the compiled matrix into temporary tables: rules,
// capabilities per rule and type, the user set of each rule's grantees and
// the item set of each rule's scope.
func (r *run) loadPolicy(ctx context.Context) error {
	stmts := []string{
		`CREATE OR REPLACE TEMP TABLE rules_rule(rule_id VARCHAR, exclusive BOOLEAN, include_admins BOOLEAN,
			has_grantees BOOLEAN, severity VARCHAR, line INTEGER, ref VARCHAR)`,
		`CREATE OR REPLACE TEMP TABLE rules_cap(rule_id VARCHAR, mode VARCHAR, content_type VARCHAR, capability VARCHAR)`,
		`CREATE OR REPLACE TEMP TABLE rules_user_raw(rule_id VARCHAR, user_id VARCHAR, line INTEGER, ref VARCHAR)`,
		`CREATE OR REPLACE TEMP TABLE rules_item(rule_id VARCHAR, content_type VARCHAR, content_id VARCHAR)`,
		// What decides whether a user is a rule's grantee, for drift at
		// class level: kind all (All Users), group (id), role (the raw site
		// role, as users.site_role has it) or user (id).
		`CREATE OR REPLACE TEMP TABLE rules_grantee(rule_id VARCHAR, kind VARCHAR, id VARCHAR, line INTEGER, ref VARCHAR)`,
	}
	for _, s := range stmts {
		if err := r.exec(ctx, "creating policy tables", s); err != nil {
			return err
		}
	}
	paths, err := r.distinct(ctx, `SELECT DISTINCT project_path FROM content WHERE project_path IS NOT NULL`)
	if err != nil {
		return err
	}
	var itemNames []string
	for _, rule := range r.m.Rules {
		if len(rule.Scope.Names) > 0 {
			if itemNames, err = r.distinct(ctx, `SELECT DISTINCT name FROM content WHERE name IS NOT NULL`); err != nil {
				return err
			}
			break
		}
	}
	for _, rule := range r.m.Rules {
		if err := r.exec(ctx, "loading rule "+rule.ID, `INSERT INTO rules_rule VALUES (?, ?, ?, ?, ?, ?, ?)`,
			rule.ID, rule.Exclusive, rule.IncludeAdmins, len(rule.Grantees) > 0, nullIfEmpty(rule.Severity), rule.Pos.Line, rule.Pos.String()); err != nil {
			return err
		}
		var vals []string
		for _, set := range []struct {
			mode string
			caps map[string][]string
		}{{"allow", rule.AllowCaps}, {"forbid", rule.ForbidCaps}} {
			for _, t := range keys(set.caps) {
				for _, c := range set.caps[t] {
					vals = append(vals, fmt.Sprintf("(%s, %s, %s, %s)", ql(rule.ID), ql(set.mode), ql(t), ql(c)))
				}
			}
		}
		if len(vals) > 0 {
			if err := r.exec(ctx, "loading rule "+rule.ID, `INSERT INTO rules_cap VALUES `+strings.Join(vals, ", ")); err != nil {
				return err
			}
		}
		for _, g := range rule.Grantees {
			if vals := r.granteeRows(rule.ID, g); len(vals) > 0 {
				if err := r.exec(ctx, "resolving grantees of rule "+rule.ID, `INSERT INTO rules_grantee VALUES `+strings.Join(vals, ", ")); err != nil {
					return err
				}
			}
			if q := r.granteeSQL(g); q != "" {
				if err := r.exec(ctx, "resolving grantees of rule "+rule.ID,
					fmt.Sprintf(`INSERT INTO rules_user_raw SELECT %s, id, %d, %s FROM (%s)`, ql(rule.ID), g.Pos.Line, ql(g.Pos.String()), q)); err != nil {
					return err
				}
			}
		}
		where := r.scopeSQL(rule, paths, itemNames)
		if err := r.exec(ctx, "resolving the scope of rule "+rule.ID,
			fmt.Sprintf(`INSERT INTO rules_item SELECT DISTINCT %s, c.content_type, c.content_id FROM content c WHERE %s`, ql(rule.ID), where)); err != nil {
			return err
		}
	}
	if err := r.exec(ctx, "deduplicating grantees", `CREATE OR REPLACE TEMP TABLE rules_user AS
		SELECT rule_id, user_id, min(line) AS line, arg_min(ref, line) AS ref FROM rules_user_raw GROUP BY rule_id, user_id`); err != nil {
		return err
	}
	r.itemCount, err = r.counts(ctx, `SELECT rule_id, count(*) FROM rules_item GROUP BY rule_id`)
	if err != nil {
		return err
	}
	r.userCount, err = r.counts(ctx, `SELECT rule_id, count(*) FROM rules_user GROUP BY rule_id`)
	if err != nil {
		return err
	}
	for _, rule := range r.m.Rules {
		if r.itemCount[rule.ID] == 0 {
			r.warnings = append(r.warnings, &Diagnostic{Pos: rule.Pos, Code: CodeEmptyScope, Warning: true,
				Msg: fmt.Sprintf("the scope of rule %q matches no item in snapshot %s", rule.ID, r.snap.ID), Hint: "check the project path and name globs"})
		}
		if len(rule.Grantees) > 0 && r.userCount[rule.ID] == 0 {
			r.warnings = append(r.warnings, &Diagnostic{Pos: rule.Pos, Code: CodeEmptyGrantees, Warning: true,
				Msg: fmt.Sprintf("the grantees of rule %q resolve to no user", rule.ID)})
		}
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (r *run) distinct(ctx context.Context, q string) ([]string, error) {
	rs, err := r.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading content: %w", err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			return nil, fmt.Errorf("reading content: %w", err)
		}
		out = append(out, s)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reading content: %w", err)
	}
	return out, nil
}

func (r *run) counts(ctx context.Context, q string) (map[string]int64, error) {
	rs, err := r.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("counting: %w", err)
	}
	defer rs.Close()
	out := map[string]int64{}
	for rs.Next() {
		var k string
		var v int64
		if err := rs.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("counting: %w", err)
		}
		out[k] = v
	}
	return out, rs.Err()
}

// granteeSQL returns a query of user ids (column id) for one grantee.
// All Users is every user, whatever group_members lists (spec §9.1).
func (r *run) granteeSQL(g Grantee) string {
	switch g.Kind {
	case "group":
		ids := r.n.groups[g.Name]
		for _, id := range ids {
			if r.n.allUsers[id] {
				return `SELECT id FROM users`
			}
		}
		return fmt.Sprintf(`SELECT DISTINCT user_id AS id FROM group_members WHERE group_id IN (%s)`, qlist(ids))
	case "user":
		return fmt.Sprintf(`SELECT id FROM users WHERE id IN (%s)`, qlist(r.n.user(g.Name)))
	case "site_role":
		roles := r.n.rolesMatching([]string{g.Name})
		if len(roles) == 0 {
			return ""
		}
		return fmt.Sprintf(`SELECT id FROM users WHERE site_role IN (%s)`, qlist(roles))
	}
	return ""
}

// granteeRows are the rules_grantee rows of one grantee, as SQL values;
// they select the users granteeSQL lists.
func (r *run) granteeRows(ruleID string, g Grantee) []string {
	row := func(kind, id string) string {
		return fmt.Sprintf("(%s, %s, %s, %d, %s)", ql(ruleID), ql(kind), id, g.Pos.Line, ql(g.Pos.String()))
	}
	var out []string
	switch g.Kind {
	case "group":
		ids := r.n.groups[g.Name]
		for _, id := range ids {
			if r.n.allUsers[id] {
				return []string{row("all", "NULL")}
			}
		}
		for _, id := range ids {
			out = append(out, row("group", ql(id)))
		}
	case "user":
		for _, id := range r.n.user(g.Name) {
			out = append(out, row("user", ql(id)))
		}
	case "site_role":
		for _, role := range r.n.rolesMatching([]string{g.Name}) {
			out = append(out, row("role", ql(role)))
		}
	}
	return out
}

// scopeSQL is the WHERE clause selecting a rule's items from content c.
// Globs are matched in Go with doublestar against the distinct project
// paths and names, so their semantics are exactly doublestar's; the
// matching values then filter content in DuckDB.
func (r *run) scopeSQL(rule *Rule, paths, itemNames []string) string {
	s := rule.Scope
	conds := []string{fmt.Sprintf("c.content_type IN (%s)", qlist(rule.Types))}
	in := func(col string, globs, values []string) {
		var hit []string
		for _, v := range values {
			for _, g := range globs {
				if ok, _ := doublestar.Match(g, v); ok {
					hit = append(hit, v)
					break
				}
			}
		}
		if len(hit) == 0 {
			conds = append(conds, "false")
			return
		}
		conds = append(conds, fmt.Sprintf("%s IN (%s)", col, qlist(hit)))
	}
	if len(s.Projects) > 0 {
		in("c.project_path", s.Projects, paths)
	}
	if len(s.Names) > 0 {
		in("c.name", s.Names, itemNames)
	}
	if len(s.Tags) > 0 {
		lower := make([]string, len(s.Tags))
		for i, t := range s.Tags {
			lower[i] = strings.ToLower(t)
		}
		conds = append(conds, fmt.Sprintf("list_has_any(list_transform(coalesce(c.tags, []::VARCHAR[]), lambda t: lower(t)), [%s]::VARCHAR[])", qlist(lower)))
	}
	if len(s.Owners) > 0 {
		var ids []string
		for _, o := range s.Owners {
			ids = append(ids, r.n.user(o)...)
		}
		conds = append(conds, fmt.Sprintf("c.owner_id IN (%s)", qlist(ids)))
	}
	if len(s.UpstreamTables) > 0 || len(s.UpstreamDatabases) > 0 {
		var alts []string
		for _, t := range s.UpstreamTables {
			parts := strings.Split(strings.ToLower(t), ".")
			switch len(parts) {
			case 1:
				alts = append(alts, fmt.Sprintf("lower(u.table_name) = %s", ql(parts[0])))
			case 2:
				alts = append(alts, fmt.Sprintf("(lower(u.table_name) = %s AND (lower(u.schema_name) = %s OR lower(u.database_name) = %s))", ql(parts[1]), ql(parts[0]), ql(parts[0])))
			default:
				db := strings.Join(parts[:len(parts)-2], ".")
				alts = append(alts, fmt.Sprintf("(lower(u.table_name) = %s AND lower(u.schema_name) = %s AND lower(u.database_name) = %s)", ql(parts[len(parts)-1]), ql(parts[len(parts)-2]), ql(db)))
			}
		}
		for _, db := range s.UpstreamDatabases {
			alts = append(alts, fmt.Sprintf("lower(u.database_name) = %s", ql(strings.ToLower(db))))
		}
		conds = append(conds, fmt.Sprintf(`EXISTS (SELECT 1 FROM content_upstream_tables u
			WHERE u.precision = 'datasource' AND u.content_type = c.content_type AND u.content_luid = c.content_id AND (%s))`, strings.Join(alts, " OR ")))
	}
	return strings.Join(conds, " AND ")
}

// findingCols are the columns of the working table rules_fx, the findings
// written one by one; the waiver and the cause are read in findingsView.
const findingCols = `finding_id VARCHAR, kind VARCHAR, check_id VARCHAR, rule_id VARCHAR, severity VARCHAR,
	user_id VARCHAR, content_type VARCHAR, content_id VARCHAR, capability VARCHAR, decision VARCHAR, reason VARCHAR,
	deciding_rule VARCHAR, confidence VARCHAR, flags VARCHAR[], message VARCHAR, matrix_line INTEGER, matrix_ref VARCHAR`

// idExpr is a finding's stable id: a hash of what it is about, so the same
// finding keeps its id across runs and matrix forms.
func idExpr(snapshotID string, extra string) string {
	return fmt.Sprintf(`substr(md5(concat_ws('|', %s, kind, coalesce(rule_id, ''), coalesce(check_id, ''), coalesce(user_id, ''),
		coalesce(content_type, ''), coalesce(content_id, ''), coalesce(capability, ''), %s)), 1, 16)`, ql(snapshotID), extra)
}

// findingsInsert wraps a query yielding finding rows (kind, check_id,
// rule_id, severity, user_id, content_type, content_id, capability,
// decision, reason, deciding_rule, confidence, flags, message, matrix_line,
// matrix_ref) into an INSERT into rules_finding with stable ids; key adds
// to the id what else tells the rows apart.
func (r *run) findingsInsert(body, key string) string {
	return `INSERT INTO rules_fx (finding_id, kind, check_id, rule_id, severity, user_id, content_type, content_id,
		capability, decision, reason, deciding_rule, confidence, flags, message, matrix_line, matrix_ref)
		SELECT ` + idExpr(r.snap.ID, key) + `, * FROM (SELECT kind::VARCHAR AS kind, check_id::VARCHAR AS check_id,
			rule_id::VARCHAR AS rule_id, severity::VARCHAR, user_id::VARCHAR AS user_id, content_type::VARCHAR AS content_type,
			content_id::VARCHAR AS content_id, capability::VARCHAR AS capability, decision::VARCHAR, reason::VARCHAR,
			deciding_rule::VARCHAR, confidence::VARCHAR, flags::VARCHAR[], message::VARCHAR AS message,
			matrix_line::INTEGER, matrix_ref::VARCHAR
		FROM (` + body + `) t(kind, check_id, rule_id, severity, user_id, content_type, content_id, capability, decision,
			reason, deciding_rule, confidence, flags, message, matrix_line, matrix_ref))`
}

// driftKeep selects the class-level answers that are findings (see drift).
// m: the rules of the answer's part with a grantee matching its principal
// (the first such grantee in the matrix gives the line a missing finding
// points at); c: the rules of its part covering its capability.
const driftKeep = `WITH m AS (
			SELECT a.ans_id, g.rule_id, min(g.line) AS line, arg_min(g.ref, g.line) AS ref
			FROM xa_answers a JOIN rules_prule p ON p.part = a.part JOIN rules_grantee g ON g.rule_id = p.rule_id
			WHERE g.kind = 'all' OR (g.kind = 'group' AND list_contains(a.groups, g.id)) OR (g.kind = 'role' AND g.id = a.site_role)
			GROUP BY ALL),
		c AS (SELECT a.ans_id, a.decision, a.reason, k.rule_id, k.mode
			FROM xa_answers a JOIN rules_pcap k ON k.part = a.part AND k.content_type = a.content_type AND k.capability = a.capability)
		SELECT c.ans_id, 'missing' AS kind, c.rule_id, coalesce(rr.severity, 'medium') AS severity, m.line AS matrix_line, m.ref AS matrix_ref
		FROM c JOIN m ON m.ans_id = c.ans_id AND m.rule_id = c.rule_id JOIN rules_rule rr ON rr.rule_id = c.rule_id
		WHERE c.mode = 'allow' AND c.decision <> 'allow'
		UNION ALL
		SELECT c.ans_id, 'excess', c.rule_id, coalesce(rr.severity, 'high'), rr.line, rr.ref
		FROM c JOIN rules_rule rr ON rr.rule_id = c.rule_id AND rr.exclusive
		WHERE c.mode = 'allow' AND c.decision = 'allow' AND (rr.include_admins OR c.reason <> 'ADMIN')
			AND NOT EXISTS (SELECT 1 FROM c e JOIN m ON m.ans_id = e.ans_id AND m.rule_id = e.rule_id WHERE e.ans_id = c.ans_id AND e.mode = 'allow')
		UNION ALL
		SELECT c.ans_id, 'forbidden', c.rule_id, coalesce(rr.severity, 'high'), rr.line, rr.ref
		FROM c JOIN rules_rule rr ON rr.rule_id = c.rule_id
		WHERE c.mode = 'forbid' AND c.decision = 'allow' AND (rr.include_admins OR c.reason <> 'ADMIN')
			AND (NOT rr.has_grantees OR EXISTS (SELECT 1 FROM m WHERE m.ans_id = c.ans_id AND m.rule_id = c.rule_id))`

// drift computes missing, excess and forbidden findings.
//
// Expanding effective access to users first cannot work on a big site (85
// million allowed and 85 million expected (user, item, capability) triples
// in the scope of the 200-rule benchmark matrix on the L preset), and almost
// all of them agree with the policy. So drift decides at class level
// (model.ExpandAccess Keep): items are split by the set of rules whose scope
// holds them, the groups those rules name join every class signature, and
// each class-level answer is compared with the rules of its part through
// what decides a grantee match there (groups, site role, All Users). Users
// are joined in only for the answers that are findings. Rules naming users
// directly are the exception, settled per user afterwards: their grantees'
// missing and forbidden access is asked as tuples, and what they expect is
// taken out of the excess.
func (r *run) drift(ctx context.Context) error {
	stmts := []struct{ what, q string }{
		{"creating findings table", `CREATE OR REPLACE TEMP TABLE rules_fx(` + findingCols + `)`},
		// An item's part is the set of rules whose scope holds it.
		{"splitting items by rules", `CREATE OR REPLACE TEMP TABLE rules_ipart AS
			SELECT content_type, content_id, dense_rank() OVER (ORDER BY rules)::VARCHAR AS part
			FROM (SELECT content_type, content_id, list(DISTINCT rule_id ORDER BY rule_id) AS rules FROM rules_item GROUP BY ALL)`},
		{"splitting items by rules", `CREATE OR REPLACE TEMP TABLE rules_prule AS
			SELECT DISTINCT p.part, i.rule_id FROM rules_ipart p JOIN rules_item i USING (content_type, content_id)`},
		{"splitting items by rules", `CREATE OR REPLACE TEMP TABLE rules_pcap AS
			SELECT p.part, k.rule_id, k.mode, k.content_type, k.capability FROM rules_prule p JOIN rules_cap k USING (rule_id)`},
	}
	for _, s := range stmts {
		if err := r.exec(ctx, s.what, s.q); err != nil {
			return err
		}
	}
	// Users are joined to the kept answers by keep_id only: the answers'
	// columns are written once each (rules_da), not once per user and item.
	if _, err := model.ExpandAccess(ctx, r.conn, "rules_dx", `SELECT DISTINCT i.content_type, i.content_id, k.capability
		FROM rules_item i JOIN rules_cap k ON k.rule_id = i.rule_id AND k.content_type = i.content_type`,
		model.AccessOptions{Logger: r.log, KeepInto: "rules_da0",
			Keep: `SELECT k.*, a.capability, a.decision, a.reason, a.deciding_rule, a.confidence, a.flags
				FROM (` + driftKeep + `) k JOIN xa_answers a USING (ans_id)`,
			Parts:      `SELECT content_type, content_id, part FROM rules_ipart`,
			PartGroups: `SELECT DISTINCT p.part, g.id AS group_id FROM rules_prule p JOIN rules_grantee g ON g.rule_id = p.rule_id AND g.kind = 'group'`,
		}); err != nil {
		return fmt.Errorf("comparing effective access with the policy: %w", err)
	}
	// Users named as grantees: what their rules expect of them and forbid
	// them, asked per user. The answers a class-level grantee already made
	// findings are not repeated; their line is the rule's first matching
	// grantee's.
	if err := r.exec(ctx, "settling user grantees", `CREATE OR REPLACE TEMP TABLE rules_ut AS
		SELECT g.id AS user_id, i.content_type, i.content_id, k.capability, k.mode, g.rule_id, g.line, g.ref
		FROM rules_grantee g JOIN rules_item i ON i.rule_id = g.rule_id
		JOIN rules_cap k ON k.rule_id = g.rule_id AND k.content_type = i.content_type
		WHERE g.kind = 'user'`); err != nil {
		return err
	}
	if _, err := model.ExpandAccess(ctx, r.conn, "rules_ua", "", model.AccessOptions{Logger: r.log,
		Tuples: `SELECT user_id, content_type, content_id, capability FROM rules_ut`}); err != nil {
		return fmt.Errorf("comparing the access of users named in the policy: %w", err)
	}
	stmts = []struct{ what, q string }{
		{"describing drift answers", `CREATE OR REPLACE TEMP TABLE rules_da AS
			SELECT keep_id, kind, rule_id, severity, capability, decision, reason, deciding_rule, confidence, flags, ` + driftMessage + ` AS message,
				matrix_line, matrix_ref, ` + causeKeyExpr + ` AS cause_key
			FROM rules_da0 f`},
		{"settling user grantees", `CREATE OR REPLACE TEMP TABLE rules_u AS
			SELECT * FROM (
				SELECT t.user_id, t.content_type, t.content_id, t.capability, a.decision, a.reason, a.deciding_rule, a.confidence, a.flags,
					CASE WHEN t.mode = 'allow' THEN 'missing' ELSE 'forbidden' END AS kind, t.rule_id,
					CASE WHEN t.mode = 'allow' THEN coalesce(rr.severity, 'medium') ELSE coalesce(rr.severity, 'high') END AS severity,
					CASE WHEN t.mode = 'allow' THEN t.line ELSE rr.line END AS matrix_line,
					CASE WHEN t.mode = 'allow' THEN t.ref ELSE rr.ref END AS matrix_ref
				FROM rules_ut t JOIN rules_rule rr ON rr.rule_id = t.rule_id
				LEFT JOIN rules_ua a ON a.user_id = t.user_id AND a.content_type = t.content_type AND a.content_id = t.content_id
					AND a.capability = t.capability
				WHERE (t.mode = 'allow' AND a.decision IS DISTINCT FROM 'allow')
					OR (t.mode = 'forbid' AND a.decision = 'allow' AND (rr.include_admins OR a.reason <> 'ADMIN')))
			QUALIFY row_number() OVER (PARTITION BY kind, rule_id, user_id, content_type, content_id, capability ORDER BY matrix_line, matrix_ref) = 1`},
		// A finding both paths found is written once, from the user path,
		// with the rule's first matching grantee's line; the class path's
		// row is left out of rules_finding (rules_ukey).
		{"settling user grantees", `UPDATE rules_u u SET matrix_line = c.matrix_line, matrix_ref = c.matrix_ref
			FROM (SELECT d.user_id, d.content_type, d.content_id, a.capability, a.kind, a.rule_id, a.matrix_line, a.matrix_ref
				FROM rules_dx d JOIN rules_da a USING (keep_id) WHERE d.user_id IN (SELECT user_id FROM rules_u)) c
			WHERE c.kind = u.kind AND c.rule_id = u.rule_id AND c.user_id = u.user_id AND c.content_type = u.content_type
				AND c.content_id = u.content_id AND c.capability = u.capability AND c.matrix_line < u.matrix_line`},
		{"settling user grantees", `CREATE OR REPLACE TEMP TABLE rules_ukey AS
			SELECT DISTINCT kind, rule_id, user_id, content_type, content_id, capability FROM rules_u`},
		{"settling user grantees", r.findingsInsert(`SELECT f.kind, NULL::VARCHAR, f.rule_id, f.severity, f.user_id, f.content_type, f.content_id,
				f.capability, coalesce(f.decision, 'deny'), coalesce(f.reason, 'NO_DECISION'), f.deciding_rule, coalesce(f.confidence, 'D'), f.flags,
				`+driftMessage+`, f.matrix_line, f.matrix_ref
			FROM rules_u f`, `''`)},
		// What named users are expected to hold is not excess.
		{"settling user grantees", `CREATE OR REPLACE TEMP TABLE rules_ue AS
			SELECT DISTINCT user_id, content_type, content_id, capability FROM rules_ut WHERE mode = 'allow'`},
		// A capability the model has no decision for at all (none of its
		// content type's) is missing too: a gap in the model must never read
		// as compliance.
		{"finding undecided access", r.findingsInsert(`SELECT 'missing', NULL::VARCHAR, i.rule_id, coalesce(rr.severity, 'medium'),
				u.user_id, i.content_type, i.content_id, k.capability, 'deny', 'NO_DECISION', NULL, 'D', NULL::VARCHAR[],
				'expected ' || k.capability || ' but the model has no decision for it', u.line, u.ref
			FROM rules_item i JOIN rules_rule rr ON rr.rule_id = i.rule_id
			JOIN rules_cap k ON k.rule_id = i.rule_id AND k.content_type = i.content_type AND k.mode = 'allow'
			ANTI JOIN m_type_caps t ON t.content_type = k.content_type AND t.capability = k.capability
			JOIN rules_user u ON u.rule_id = i.rule_id`, `''`)},
	}
	for _, t := range []string{"rules_da0", "rules_ua", "rules_u", "rules_ut", "rules_ipart", "rules_prule", "rules_pcap"} {
		stmts = append(stmts, struct{ what, q string }{"dropping working tables", `DROP TABLE ` + t})
	}
	for _, s := range stmts {
		if err := r.exec(ctx, s.what, s.q); err != nil {
			return err
		}
	}
	return nil
}

// driftMessage is a drift finding's message, from its row f.
const driftMessage = `CASE f.kind WHEN 'missing' THEN CASE WHEN f.decision IS NULL THEN 'expected ' || f.capability || ' but the model has no decision for it'
		ELSE 'expected ' || f.capability || ', denied (' || f.reason || ')' END
	WHEN 'excess' THEN 'holds ' || f.capability || ' (' || f.reason || ') but no rule expects it'
	ELSE 'holds forbidden ' || f.capability || ' (' || f.reason || ')' END`

// findingsView creates rules_finding, every finding of the run: the class
// path's drift (users × kept answers, less what user grantees settled),
// then the rows written one by one (rules_fx: user grantees' drift,
// hygiene, waivers), with the waiver that covers each. A view, so the
// millions of drift rows of a big site are written once, into findings.
func (r *run) findingsView(ctx context.Context) error {
	return r.exec(ctx, "collecting findings", `CREATE OR REPLACE TEMP VIEW rules_finding AS
		WITH d AS (
			SELECT a.kind, NULL::VARCHAR AS check_id, a.rule_id, a.severity, d.user_id, d.content_type, d.content_id, a.capability,
				a.decision, a.reason, a.deciding_rule, a.confidence, a.flags, a.message, a.matrix_line, a.matrix_ref, a.cause_key, a.keep_id
			FROM rules_dx d JOIN rules_da a USING (keep_id)
			ANTI JOIN rules_ue u ON a.kind = 'excess' AND u.user_id = d.user_id AND u.content_type = d.content_type
				AND u.content_id = d.content_id AND u.capability = a.capability
			ANTI JOIN rules_ukey k ON k.kind = a.kind AND k.rule_id = a.rule_id AND k.user_id = d.user_id
				AND k.content_type = d.content_type AND k.content_id = d.content_id AND k.capability = a.capability),
		f AS (
			SELECT `+idExpr(r.snap.ID, `''`)+` AS finding_id, * FROM d
			UNION ALL BY NAME
			SELECT *, `+causeKeyExpr+` AS cause_key FROM rules_fx f)
		-- Of several waivers matching a finding, a valid one wins over an
		-- expired one, and a capability-specific one over a general one.
		SELECT f.*, CASE WHEN s.waiver_id IS NOT NULL AND (g.waiver_id IS NULL OR NOT (s.expired AND NOT g.expired)) THEN s.waiver_id ELSE g.waiver_id END AS waiver_id,
			CASE WHEN s.waiver_id IS NOT NULL AND (g.waiver_id IS NULL OR NOT (s.expired AND NOT g.expired)) THEN s.until ELSE g.until END AS waiver_until,
			CASE WHEN s.waiver_id IS NOT NULL AND (g.waiver_id IS NULL OR NOT (s.expired AND NOT g.expired)) THEN s.expired ELSE g.expired END AS waiver_expired
		FROM f
		LEFT JOIN rules_wspec s ON f.kind IN ('missing', 'excess', 'forbidden') AND s.rule_id = f.rule_id AND s.user_id = f.user_id AND s.capability = f.capability
		LEFT JOIN rules_wgen g ON f.kind IN ('missing', 'excess', 'forbidden') AND g.rule_id = f.rule_id AND g.user_id = f.user_id`)
}

// applyWaivers marks the findings a valid waiver covers, notes expired
// waivers on the findings they would have covered, and reports expired and
// unused waivers.
func (r *run) applyWaivers(ctx context.Context) error {
	if err := r.exec(ctx, "loading waivers", `CREATE OR REPLACE TEMP TABLE rules_waiver(waiver_id VARCHAR, rule_id VARCHAR,
		user_key VARCHAR, user_id VARCHAR, capability VARCHAR, until DATE, reason VARCHAR, owner VARCHAR, expired BOOLEAN,
		line INTEGER, ref VARCHAR)`); err != nil {
		return err
	}
	today := r.opts.Now.UTC().Format(time.DateOnly)
	for _, w := range r.m.Waivers {
		expired := w.Until.Format(time.DateOnly) < today
		for _, uid := range r.n.user(w.User) {
			if err := r.exec(ctx, "loading waiver "+w.ID, `INSERT INTO rules_waiver VALUES (?, ?, ?, ?, ?, ?::DATE, ?, ?, ?, ?, ?)`,
				w.ID, w.Rule, w.User, uid, nullIfEmpty(w.Capability), w.Until.Format(time.DateOnly), w.Reason, w.Owner, expired,
				w.Pos.Line, w.Pos.String()); err != nil {
				return err
			}
		}
	}
	// The best waiver per rule, user and capability, and per rule and user
	// among the waivers naming no capability; rules_finding picks between
	// them (findingsView).
	stmts := []string{
		`CREATE OR REPLACE TEMP TABLE rules_wspec AS
		SELECT rule_id, user_id, capability, arg_min(waiver_id, (expired, waiver_id)) AS waiver_id,
			arg_min(until, (expired, waiver_id)) AS until, min(expired) AS expired
		FROM rules_waiver WHERE capability IS NOT NULL GROUP BY ALL`,
		`CREATE OR REPLACE TEMP TABLE rules_wgen AS
		SELECT rule_id, user_id, arg_min(waiver_id, (expired, waiver_id)) AS waiver_id,
			arg_min(until, (expired, waiver_id)) AS until, min(expired) AS expired
		FROM rules_waiver WHERE capability IS NULL GROUP BY ALL`,
	}
	for _, s := range stmts {
		if err := r.exec(ctx, "applying waivers", s); err != nil {
			return err
		}
	}
	if err := r.findingsView(ctx); err != nil {
		return err
	}
	// The findings each waiver covers, read from the rows of the users
	// waivers name only.
	stmts = []string{`CREATE OR REPLACE TEMP TABLE rules_wused AS
		SELECT waiver_id, count(*) FILTER (WHERE NOT waiver_expired) AS findings FROM rules_finding
		WHERE user_id IN (SELECT DISTINCT user_id FROM rules_waiver) AND waiver_id IS NOT NULL GROUP BY waiver_id`}
	if h := r.hygiene["expired_waivers"]; *h.Enabled {
		stmts = append(stmts, r.findingsInsert(fmt.Sprintf(`
			SELECT 'waiver', 'expired_waivers', rule_id, %s, min(user_id), NULL, NULL, NULL, NULL, NULL, NULL, 'D', NULL::VARCHAR[],
				'waiver ' || waiver_id || ' (owner ' || owner || ', "' || reason || '") expired on ' || strftime(until, '%%Y-%%m-%%d'),
				line, ref
			FROM rules_waiver WHERE expired GROUP BY rule_id, waiver_id, owner, reason, until, line, ref`, ql(h.Severity)), "message"))
	}
	if h := r.hygiene["unused_waivers"]; *h.Enabled {
		stmts = append(stmts, r.findingsInsert(fmt.Sprintf(`
			SELECT 'waiver', 'unused_waivers', w.rule_id, %s, min(w.user_id), NULL, NULL, NULL, NULL, NULL, NULL, 'D', NULL::VARCHAR[],
				'waiver ' || w.waiver_id || ' covers no finding in this snapshot; remove it or check its rule and user',
				w.line, w.ref
			FROM rules_waiver w WHERE NOT w.expired
				AND w.waiver_id NOT IN (SELECT waiver_id FROM rules_wused)
			GROUP BY w.rule_id, w.waiver_id, w.line, w.ref`, ql(h.Severity)), "message"))
	}
	for _, s := range stmts {
		if err := r.exec(ctx, "applying waivers", s); err != nil {
			return err
		}
	}
	return nil
}

// statusExpr decides a finding's status: a valid waiver waives it; a
// decision resting on an unresolved [U] fact needs review rather than being
// a violation (spec §13).
const statusExpr = `CASE WHEN f.waiver_id IS NOT NULL AND NOT coalesce(f.waiver_expired, false) THEN 'waived'
	WHEN f.confidence = 'U' THEN 'needs_review' ELSE 'violation' END`

// causeKeyExpr is what granted (or, for missing access, denied) a drift
// finding: the grantee of the deciding rule, the position, or the reason.
const causeKeyExpr = `CASE WHEN f.kind IN ('missing', 'excess', 'forbidden') THEN coalesce(
		nullif(regexp_extract(coalesce(f.deciding_rule, ''), '(^|\s)((user|group|groupset):\S+)', 2), ''),
		nullif(regexp_extract(coalesce(f.deciding_rule, ''), '^(position:[A-Za-z_]+)', 1), ''),
		'reason:' || f.reason) END`

func severityRankSQL(col string) string {
	var b strings.Builder
	b.WriteString("CASE " + col)
	for i, s := range Severities {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", s, i)
	}
	b.WriteString(" ELSE 9 END")
	return b.String()
}

// aggregate groups findings by cause and builds each cause's description.
func (r *run) aggregate(ctx context.Context) error {
	q := fmt.Sprintf(`SELECT kind, coalesce(rule_id, ''), coalesce(check_id, ''), coalesce(capability, ''), coalesce(cause_key, ''),
			coalesce(min(reason), ''), min(%s) AS sev,
			count(DISTINCT (content_type, content_id)) FILTER (WHERE content_id IS NOT NULL),
			count(DISTINCT user_id), count(*),
			count(*) FILTER (WHERE status = 'violation'), count(*) FILTER (WHERE status = 'needs_review'),
			count(*) FILTER (WHERE status = 'waived')
		FROM (SELECT f.*, %s AS status FROM rules_finding f) f
		GROUP BY ALL`, severityRankSQL("severity"), statusExpr)
	rs, err := r.conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("grouping findings by cause: %w", err)
	}
	var causes []Cause
	for rs.Next() {
		var c Cause
		var sev int
		var key string
		if err := rs.Scan(&c.Kind, &c.RuleID, &c.CheckID, &c.Capability, &key, &c.Reason, &sev, &c.Items, &c.Users, &c.Findings,
			&c.Violations, &c.NeedsReview, &c.Waived); err != nil {
			rs.Close()
			return fmt.Errorf("grouping findings by cause: %w", err)
		}
		c.Severity = Severities[min(sev, len(Severities)-1)]
		c.Grantee = key
		c.ID = shortHash(r.snap.ID, c.Kind, c.RuleID, c.CheckID, c.Capability, key)
		causes = append(causes, c)
	}
	if err := rs.Err(); err != nil {
		rs.Close()
		return fmt.Errorf("grouping findings by cause: %w", err)
	}
	rs.Close()
	display, err := r.granteeNames(ctx, causes)
	if err != nil {
		return err
	}
	if err := r.exec(ctx, "grouping findings by cause", `CREATE OR REPLACE TEMP TABLE rules_cause(cause_id VARCHAR, kind VARCHAR,
		rule_id VARCHAR, check_id VARCHAR, severity VARCHAR, description VARCHAR, grantee VARCHAR, item_count BIGINT,
		user_count BIGINT, finding_count BIGINT, capability VARCHAR, reason VARCHAR, violations BIGINT, needs_review BIGINT,
		waived BIGINT, cause_key VARCHAR)`); err != nil {
		return err
	}
	rules := map[string]*Rule{}
	for _, rule := range r.m.Rules {
		rules[rule.ID] = rule
	}
	for i := range causes {
		c := &causes[i]
		key := c.Grantee
		c.Grantee = display[key]
		c.Description = describeCause(c, rules[c.RuleID])
		if err := r.exec(ctx, "grouping findings by cause", `INSERT INTO rules_cause VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Kind, nullIfEmpty(c.RuleID), nullIfEmpty(c.CheckID), c.Severity, c.Description, nullIfEmpty(c.Grantee),
			c.Items, c.Users, c.Findings, nullIfEmpty(c.Capability), nullIfEmpty(c.Reason), c.Violations, c.NeedsReview, c.Waived, key); err != nil {
			return err
		}
	}
	slices.SortFunc(causes, func(a, b Cause) int {
		return cmp.Or(cmp.Compare(SeverityRank(a.Severity), SeverityRank(b.Severity)), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.RuleID+a.CheckID, b.RuleID+b.CheckID), cmp.Compare(b.Findings, a.Findings), cmp.Compare(a.Description, b.Description))
	})
	r.res.Causes = causes
	return nil
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return hex.EncodeToString(h[:8])
}

// granteeNames turns cause keys ("group:<luid>", "position:project_owner",
// "reason:UNSPECIFIED") into what a reader recognises.
func (r *run) granteeNames(ctx context.Context, causes []Cause) (map[string]string, error) {
	out := map[string]string{}
	groupName := map[string]string{}
	for name, ids := range r.n.groups {
		for _, id := range ids {
			groupName[id] = name
		}
	}
	userName := map[string]string{}
	for _, u := range r.n.users {
		userName[u.id] = u.name
	}
	var setName map[string]string
	for _, c := range causes {
		key := c.Grantee
		if _, done := out[key]; done || key == "" {
			continue
		}
		kind, id, _ := strings.Cut(key, ":")
		switch kind {
		case "group":
			out[key] = fmt.Sprintf("group %q", cmp.Or(groupName[id], id))
		case "user":
			out[key] = "user " + cmp.Or(userName[id], id)
		case "groupset":
			if setName == nil {
				setName = map[string]string{}
				if ok, _ := relationExists(ctx, r.conn, "group_sets"); ok {
					rs, err := r.conn.QueryContext(ctx, `SELECT id, coalesce(name, id) FROM group_sets`)
					if err != nil {
						return nil, fmt.Errorf("reading group_sets: %w", err)
					}
					for rs.Next() {
						var i, n string
						if err := rs.Scan(&i, &n); err != nil {
							rs.Close()
							return nil, fmt.Errorf("reading group_sets: %w", err)
						}
						setName[i] = n
					}
					rs.Close()
				}
			}
			out[key] = fmt.Sprintf("group set %q", cmp.Or(setName[id], id))
		case "position":
			out[key] = strings.ReplaceAll(id, "_", " ") + " position"
		case "reason":
			out[key] = id
		default:
			out[key] = key
		}
	}
	return out, nil
}

func describeCause(c *Cause, rule *Rule) string {
	scope := ""
	if rule != nil {
		scope = " in scope of " + rule.ID
		if len(rule.Scope.Projects) > 0 {
			scope += " (" + strings.Join(rule.Scope.Projects, ", ") + ")"
		}
	}
	switch c.Kind {
	case "excess":
		return fmt.Sprintf("%s grants %s on %s%s → %s not expected", c.Grantee, c.Capability, plural(c.Items, "item"), scope, plural(c.Users, "user"))
	case "forbidden":
		return fmt.Sprintf("%s grants forbidden %s on %s%s → %s", c.Grantee, c.Capability, plural(c.Items, "item"), scope, plural(c.Users, "user"))
	case "missing":
		return fmt.Sprintf("%s expected by %s lack %s on %s (%s)", plural(c.Users, "user"), c.RuleID, c.Capability, plural(c.Items, "item"), c.Grantee)
	}
	title := hygieneTitles[c.CheckID]
	if title == "" {
		title = c.CheckID
		if code, ok := strings.CutPrefix(c.CheckID, "spec:"); ok {
			title = "model finding " + code
		}
	}
	s := fmt.Sprintf("%s: %s", title, plural(c.Findings, "finding"))
	if c.Items > 0 {
		s += " on " + plural(c.Items, "item")
	}
	if c.Users > 0 {
		s += ", " + plural(c.Users, "user")
	}
	return s
}

// plural writes "1 item" or "9,812 items".
func plural(n int64, noun string) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if n != 1 {
		noun += "s"
	}
	return s + " " + noun
}

// persist replaces the snapshot's rows in the findings-side tables.
func (r *run) persist(ctx context.Context) error {
	for _, s := range findingsDDL {
		if err := r.exec(ctx, "creating findings tables", s); err != nil {
			return err
		}
	}
	var old bool
	if err := r.conn.QueryRowContext(ctx, `SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = 'findings' AND NOT temporary`).Scan(&old); err != nil {
		return fmt.Errorf("reading the findings tables: %w", err)
	}
	if old {
		for _, s := range migrateFindings {
			if err := r.exec(ctx, "moving findings of an earlier release", s); err != nil {
				return err
			}
		}
	}
	if err := r.exec(ctx, "creating the findings view", findingsViewDDL); err != nil {
		return err
	}
	if err := r.exec(ctx, "starting the findings transaction", `BEGIN TRANSACTION`); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			r.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	for _, t := range findingsTables {
		if err := r.exec(ctx, "replacing "+t, `DELETE FROM `+t+` WHERE snapshot_id = ?`, r.snap.ID); err != nil {
			return err
		}
	}
	file := r.m.File
	causeOf := func(f string) string {
		return `LEFT JOIN rules_cause k ON k.kind = ` + f + `.kind AND coalesce(k.rule_id, '') = coalesce(` + f + `.rule_id, '')
			AND coalesce(k.check_id, '') = coalesce(` + f + `.check_id, '') AND coalesce(k.capability, '') = coalesce(` + f + `.capability, '')
			AND coalesce(k.cause_key, '') = coalesce(` + f + `.cause_key, '')`
	}
	stmts := []struct {
		what string
		q    string
		args []any
	}{
		// A group per kept answer of the drift (its keep_id), then one per
		// row written one by one.
		{"numbering findings", `CREATE OR REPLACE TEMP TABLE rules_fxg AS
			SELECT (SELECT coalesce(max(keep_id), 0) FROM rules_da) + row_number() OVER (ORDER BY finding_id) AS group_id,
				f.*, ` + causeKeyExpr + ` AS cause_key
			FROM rules_fx f`, nil},
		{"writing finding groups", `INSERT INTO finding_groups
			SELECT ?, ?, f.keep_id, f.kind, NULL, f.rule_id, f.severity, f.capability, f.decision, f.reason, f.deciding_rule, f.confidence,
				k.cause_id, f.message, ?, f.matrix_line, f.matrix_ref, f.flags
			FROM (SELECT *, NULL::VARCHAR AS check_id FROM rules_da) f ` + causeOf("f") + `
			UNION ALL
			SELECT ?, ?, f.group_id, f.kind, f.check_id, f.rule_id, f.severity, f.capability, f.decision, f.reason, f.deciding_rule,
				f.confidence, k.cause_id, f.message, ?, f.matrix_line, f.matrix_ref, f.flags
			FROM rules_fxg f ` + causeOf("f"), []any{r.snap.ID, r.runID, file, r.snap.ID, r.runID, file}},
		{"writing findings", `INSERT INTO finding_rows
			SELECT f.finding_id, ?, f.keep_id, f.user_id, f.content_type, f.content_id, f.waiver_id, f.waiver_until, f.waiver_expired
			FROM rules_finding f WHERE f.keep_id IS NOT NULL`, []any{r.snap.ID}},
		{"writing findings", `INSERT INTO finding_rows
			SELECT f.finding_id, ?, g.group_id, f.user_id, f.content_type, f.content_id, f.waiver_id, f.waiver_until, f.waiver_expired
			FROM rules_finding f JOIN rules_fxg g USING (finding_id) WHERE f.keep_id IS NULL`, []any{r.snap.ID}},
		// Kept answers whose every row a user grantee settled, or that no
		// user holds, leave no group behind.
		{"writing finding groups", `DELETE FROM finding_groups WHERE snapshot_id = ?
			AND group_id NOT IN (SELECT DISTINCT group_id FROM finding_rows WHERE snapshot_id = ?)`, []any{r.snap.ID, r.snap.ID}},
		{"writing finding names", `INSERT INTO finding_users SELECT ?, id, name FROM users`, []any{r.snap.ID}},
		{"writing finding names", `INSERT INTO finding_items SELECT ?, content_type, content_id, name, project_path FROM content`, []any{r.snap.ID}},
		{"writing finding_causes", `INSERT INTO finding_causes SELECT cause_id, kind, rule_id, check_id, severity, description, grantee,
			item_count, user_count, finding_count, capability, reason, violations, needs_review, waived, ?, ? FROM rules_cause`,
			[]any{r.snap.ID, r.runID}},
		{"writing policy_waivers", `INSERT INTO policy_waivers
			SELECT w.waiver_id, w.rule_id, w.user_key, string_agg(DISTINCT w.user_id, ',' ORDER BY w.user_id), any_value(w.capability),
				any_value(w.until), any_value(w.reason), any_value(w.owner), any_value(w.expired),
				coalesce((SELECT findings FROM rules_wused u WHERE u.waiver_id = w.waiver_id), 0),
				?, any_value(w.line), any_value(w.ref), ?, ?
			FROM rules_waiver w GROUP BY w.waiver_id, w.rule_id, w.user_key`, []any{file, r.snap.ID, r.runID}},
	}
	for _, s := range stmts {
		if err := r.exec(ctx, s.what, s.q, s.args...); err != nil {
			return err
		}
	}
	for _, rule := range r.m.Rules {
		grantees := rule.Grantees
		if len(grantees) == 0 {
			grantees = []Grantee{{Pos: rule.Pos}}
		}
		for _, g := range grantees {
			sc := rule.Scope
			if err := r.exec(ctx, "writing policy_rules", `INSERT INTO policy_rules VALUES (?, ?, ?, ?, ?,
				from_json(?, '["VARCHAR"]'), from_json(?, '["VARCHAR"]'), from_json(?, '["VARCHAR"]'), from_json(?, '["VARCHAR"]'),
				from_json(?, '["VARCHAR"]'), from_json(?, '["VARCHAR"]'), from_json(?, '["VARCHAR"]'),
				?, ?, ?, ?, from_json(?, '["VARCHAR"]'), from_json(?, '["VARCHAR"]'), ?, ?, ?, ?, ?, ?, ?)`,
				rule.ID, nullIfEmpty(rule.Description), rule.Exclusive, rule.IncludeAdmins, nullIfEmpty(rule.Severity),
				jsonList(sc.Projects), jsonList(rule.Types), jsonList(sc.Names), jsonList(sc.Tags), jsonList(sc.Owners),
				jsonList(sc.UpstreamTables), jsonList(sc.UpstreamDatabases),
				nullIfEmpty(g.Kind), nullIfEmpty(g.Name), nullIfEmpty(strings.Join(rule.Allow, ", ")), nullIfEmpty(strings.Join(rule.Forbid, ", ")),
				jsonList(flatCaps(rule.AllowCaps)), jsonList(flatCaps(rule.ForbidCaps)),
				r.itemCount[rule.ID], r.userCount[rule.ID], file, g.Pos.Line, g.Pos.String(), r.snap.ID, r.runID); err != nil {
				return err
			}
		}
	}
	failOn := cmp.Or(r.opts.FailOn, "none")
	gate := SeverityRank(failOn)
	if failOn == "none" {
		gate = -1
	}
	err := r.conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE status = 'violation'),
			count(*) FILTER (WHERE status = 'needs_review'), count(*) FILTER (WHERE status = 'waived'),
			count(*) FILTER (WHERE status <> 'waived' AND %s <= %d)
		FROM (SELECT CASE WHEN r.waiver_id IS NOT NULL AND NOT coalesce(r.waiver_expired, false) THEN 'waived'
				WHEN g.confidence = 'U' THEN 'needs_review' ELSE 'violation' END AS status, g.severity
			FROM finding_rows r JOIN finding_groups g ON g.snapshot_id = r.snapshot_id AND g.group_id = r.group_id
			WHERE r.snapshot_id = ?)`, severityRankSQL("severity"), gate), r.snap.ID).
		Scan(&r.res.Findings, &r.res.Violations, &r.res.NeedsReview, &r.res.Waived, &r.res.Gated)
	if err != nil {
		return fmt.Errorf("counting findings: %w", err)
	}
	if err := r.exec(ctx, "writing check_runs", `INSERT INTO check_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.runID, r.snap.ID, r.m.Name, file, r.m.SHA256, r.opts.Now.UTC(), failOn, r.res.Findings, r.res.Violations,
		r.res.NeedsReview, r.res.Waived, r.res.Gated, r.opts.Now.UTC(), nullIfEmpty(r.opts.ToolVersion)); err != nil {
		return err
	}
	if err := r.exec(ctx, "committing findings", `COMMIT`); err != nil {
		return err
	}
	committed = true
	r.res.RunID, r.res.SnapshotID = r.runID, r.snap.ID
	r.conn.ExecContext(ctx, `DROP VIEW IF EXISTS rules_finding`)
	for _, t := range []string{"rules_rule", "rules_cap", "rules_user_raw", "rules_user", "rules_grantee", "rules_item", "rules_fx", "rules_dx",
		"rules_da", "rules_fxg", "rules_ue", "rules_ukey", "rules_waiver", "rules_wspec", "rules_wgen", "rules_wused", "rules_cause"} {
		r.conn.ExecContext(ctx, `DROP TABLE IF EXISTS `+t)
	}
	return nil
}

func flatCaps(m map[string][]string) []string {
	var out []string
	for _, t := range keys(m) {
		for _, c := range m[t] {
			out = append(out, t+":"+c)
		}
	}
	return out
}

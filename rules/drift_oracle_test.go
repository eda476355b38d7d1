package rules

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

// The drift of the previous release, kept as the oracle of
// TestDriftMatchesOracle: it expands every allowed access in scope and every
// expected (user, item, capability) to users and compares them row by row.
// Simple and obviously right, but at the L preset those are 85 million rows
// each; drift computes the same findings at class level.

// driftByUsers computes missing, excess and forbidden findings user by user.
func (r *run) driftByUsers(ctx context.Context) error {
	if err := r.exec(ctx, "creating findings table", `CREATE OR REPLACE TEMP TABLE rules_fx(`+findingCols+`)`); err != nil {
		return err
	}
	sel := func(body string) string { return r.findingsInsert(body, `''`) }
	// The allowed effective access every drift query reads, expanded once:
	// the items some rule scopes, for the capabilities some rule names.
	if err := r.exec(ctx, "reading effective permissions in scope", `CREATE OR REPLACE TEMP TABLE rules_e(user_id VARCHAR,
		content_type VARCHAR, content_id VARCHAR, capability VARCHAR, decision VARCHAR, reason VARCHAR, deciding_rule VARCHAR,
		confidence VARCHAR, flags VARCHAR[])`); err != nil {
		return err
	}
	if err := r.fillEffective(ctx, "rules_e", `SELECT DISTINCT i.content_type, i.content_id, k.capability, NULL AS user_id
		FROM rules_item i JOIN rules_cap k ON k.rule_id = i.rule_id AND k.content_type = i.content_type`, "allow"); err != nil {
		return err
	}
	// Expected access that is not allowed; then the decisions that denied
	// it. A triple with no effective permission row at all is reported too
	// (reason NO_DECISION): a gap in the model must never read as
	// compliance.
	stmts := []string{
		`CREATE OR REPLACE TEMP TABLE rules_missing AS
		SELECT i.rule_id, coalesce(rr.severity, 'medium') AS severity, u.user_id, i.content_type, i.content_id, k.capability, u.line, u.ref
		FROM rules_item i
		JOIN rules_rule rr ON rr.rule_id = i.rule_id
		JOIN rules_cap k ON k.rule_id = i.rule_id AND k.content_type = i.content_type AND k.mode = 'allow'
		JOIN rules_user u ON u.rule_id = i.rule_id
		ANTI JOIN rules_e e ON e.user_id = u.user_id AND e.content_type = i.content_type
			AND e.content_id = i.content_id AND e.capability = k.capability`,
		`CREATE OR REPLACE TEMP TABLE rules_denied AS SELECT * FROM rules_e LIMIT 0`,
	}
	for _, q := range stmts {
		if err := r.exec(ctx, "computing missing access", q); err != nil {
			return err
		}
	}
	if err := r.fillEffective(ctx, "rules_denied", `SELECT DISTINCT content_type, content_id, capability, user_id FROM rules_missing`, "deny"); err != nil {
		return err
	}
	missing := `SELECT 'missing' AS kind, NULL::VARCHAR AS check_id, m.rule_id, m.severity,
			m.user_id, m.content_type, m.content_id, m.capability,
			coalesce(e.decision, 'deny'), coalesce(e.reason, 'NO_DECISION'), e.deciding_rule, coalesce(e.confidence, 'D'), e.flags,
			CASE WHEN e.decision IS NULL THEN 'expected ' || m.capability || ' but the model has no decision for it'
			     ELSE 'expected ' || m.capability || ', denied (' || e.reason || ')' END,
			m.line, m.ref
		FROM rules_missing m
		LEFT JOIN rules_denied e ON e.user_id = m.user_id AND e.content_type = m.content_type
			AND e.content_id = m.content_id AND e.capability = m.capability`
	if err := r.exec(ctx, "computing missing access", sel(missing)); err != nil {
		return err
	}
	// Allowed in the scope of an exclusive rule: candidates, then those some
	// allow rule expects are removed (by joining the candidates' keys with
	// the rules, never by expanding every rule's users × items).
	stmts = []string{
		`CREATE OR REPLACE TEMP TABLE rules_excess AS
		SELECT i.rule_id, rr.severity, rr.line, rr.ref, e.user_id, e.content_type, e.content_id, e.capability,
			e.decision, e.reason, e.deciding_rule, e.confidence, e.flags
		FROM rules_item i
		JOIN rules_rule rr ON rr.rule_id = i.rule_id AND rr.exclusive
		JOIN rules_cap k ON k.rule_id = i.rule_id AND k.content_type = i.content_type AND k.mode = 'allow'
		JOIN rules_e e ON e.content_type = i.content_type AND e.content_id = i.content_id AND e.capability = k.capability
		WHERE e.decision = 'allow' AND (rr.include_admins OR e.reason <> 'ADMIN')`,
		// In two steps so the join order is fixed: candidates to the rules
		// whose scope and capabilities cover them (few per item), then to
		// those rules' users. Joining the rules' items and users first would
		// expand every rule's users × items.
		`CREATE OR REPLACE TEMP TABLE rules_cover AS
		SELECT DISTINCT x.user_id, x.content_type, x.content_id, x.capability, i.rule_id
		FROM (SELECT DISTINCT user_id, content_type, content_id, capability FROM rules_excess) x
		JOIN rules_item i ON i.content_type = x.content_type AND i.content_id = x.content_id
		JOIN rules_cap k ON k.rule_id = i.rule_id AND k.content_type = x.content_type AND k.capability = x.capability AND k.mode = 'allow'`,
		`CREATE OR REPLACE TEMP TABLE rules_expected AS
		SELECT DISTINCT c.user_id, c.content_type, c.content_id, c.capability
		FROM rules_cover c SEMI JOIN rules_user u ON u.rule_id = c.rule_id AND u.user_id = c.user_id`,
		sel(`SELECT 'excess', NULL::VARCHAR, x.rule_id, coalesce(x.severity, 'high'), x.user_id, x.content_type, x.content_id, x.capability,
			x.decision, x.reason, x.deciding_rule, x.confidence, x.flags,
			'holds ' || x.capability || ' (' || x.reason || ') but no rule expects it', x.line, x.ref
		FROM rules_excess x
		ANTI JOIN rules_expected y ON y.user_id = x.user_id AND y.content_type = x.content_type
			AND y.content_id = x.content_id AND y.capability = x.capability`),
		sel(`SELECT 'forbidden', NULL::VARCHAR, i.rule_id, coalesce(rr.severity, 'high'), e.user_id, e.content_type, e.content_id, e.capability,
			e.decision, e.reason, e.deciding_rule, e.confidence, e.flags,
			'holds forbidden ' || e.capability || ' (' || e.reason || ')', rr.line, rr.ref
		FROM rules_item i
		JOIN rules_rule rr ON rr.rule_id = i.rule_id
		JOIN rules_cap k ON k.rule_id = i.rule_id AND k.content_type = i.content_type AND k.mode = 'forbid'
		JOIN rules_e e ON e.content_type = i.content_type AND e.content_id = i.content_id AND e.capability = k.capability
		WHERE e.decision = 'allow' AND (rr.include_admins OR e.reason <> 'ADMIN')
			AND (NOT rr.has_grantees OR EXISTS (SELECT 1 FROM rules_user u WHERE u.rule_id = i.rule_id AND u.user_id = e.user_id))`),
		`DROP TABLE rules_excess`,
		`DROP TABLE rules_expected`,
		`DROP TABLE rules_cover`,
		`DROP TABLE rules_e`,
		`DROP TABLE rules_missing`,
		`DROP TABLE rules_denied`,
	}
	for _, s := range stmts {
		if err := r.exec(ctx, "computing excess and forbidden access", s); err != nil {
			return err
		}
	}
	return nil
}

// fillEffective copies rows of effective access (current basis, decision
// allow or deny as decision says) into dst for the (content_type,
// content_id, capability, user_id) tuples of query q; a NULL user_id means
// every user. model.ExpandAccess evaluates them at class level (items
// reduced to contexts, users to principal classes) and expands users only
// for the rows kept, so nothing loops over users × items.
func (r *run) fillEffective(ctx context.Context, dst, q, decision string) error {
	if err := r.exec(ctx, "reading effective permissions in scope", `CREATE OR REPLACE TEMP TABLE rules_q AS `+q); err != nil {
		return err
	}
	// Tuples that all name a user are answered as tuples; otherwise every
	// user of the items (ExpandAccess writes exactly what it is asked for).
	var tuples sql.NullBool
	if err := r.conn.QueryRowContext(ctx, `SELECT bool_or(user_id IS NOT NULL) AND NOT bool_or(user_id IS NULL) FROM rules_q`).Scan(&tuples); err != nil {
		return fmt.Errorf("reading effective permissions in scope: %w", err)
	}
	opts := model.AccessOptions{Decision: decision, Logger: r.log}
	if tuples.Valid && tuples.Bool {
		opts.Tuples = `SELECT user_id, content_type, content_id, capability FROM rules_q`
	}
	if _, err := model.ExpandAccess(ctx, r.conn, "rules_x", `SELECT DISTINCT content_type, content_id, capability FROM rules_q`, opts); err != nil {
		return fmt.Errorf("reading effective permissions in scope: %w", err)
	}
	return r.exec(ctx, "reading effective permissions in scope", `INSERT INTO `+dst+`
		SELECT user_id, content_type, content_id, capability, decision, reason, deciding_rule, confidence, flags FROM rules_x;
		DROP TABLE rules_x; DROP TABLE rules_q`)
}

var driftSites = flag.Int("drift-sites", 12, "random sites and matrices TestDriftMatchesOracle compares (e.g. -drift-sites=300)")

// TestDriftMatchesOracle holds the class-level drift to the user-level one
// on random sites with random matrices: every finding, column for column.
func TestDriftMatchesOracle(t *testing.T) {
	ctx := t.Context()
	total := 0
	for i := range *driftSites {
		seed := uint64(i)
		s := site.Random(rand.New(rand.NewPCG(seed, seed^0xd71f7)), site.RandomParams{})
		db := modeltest.New(t, s)
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := randomMatrix(t, ctx, conn, rand.New(rand.NewPCG(seed, 11)))
		findings := func(drift func(*run, context.Context) error, from string) []string {
			r := policyRun(t, conn, m, now, noHygiene())
			if err := drift(r, ctx); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if from == "rules_finding" {
				if err := r.applyWaivers(ctx); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			}
			return lines(t, conn, `SELECT concat_ws('|', finding_id, kind, rule_id, severity, user_id, content_type, content_id, capability,
				decision, reason, coalesce(deciding_rule, '∅'), confidence, array_to_string(flags, ','), message, matrix_line, matrix_ref)
				FROM `+from)
		}
		got := findings((*run).drift, "rules_finding")
		want := findings((*run).driftByUsers, "rules_fx")
		if !slices.Equal(got, want) {
			var diffs []string
			for _, l := range got {
				if !slices.Contains(want, l) && len(diffs) < 8 {
					diffs = append(diffs, "class level only: "+l)
				}
			}
			for _, l := range want {
				if !slices.Contains(got, l) && len(diffs) < 16 {
					diffs = append(diffs, "user level only:  "+l)
				}
			}
			var buf bytes.Buffer
			_ = WriteYAML(&buf, m, nil)
			t.Fatalf("seed %d: %d findings at class level, %d at user level:\n%s\nmatrix:\n%s", seed, len(got), len(want),
				strings.Join(diffs, "\n"), buf.String())
		}
		total += len(got)
		conn.Close()
	}
	// Random matrices that yield nothing would compare nothing.
	if *driftSites >= 5 && total < 100 {
		t.Errorf("only %d findings over %d sites: the random matrices test too little", total, *driftSites)
	}
	t.Logf("%d findings compared over %d sites", total, *driftSites)
}

// policyRun is a check run on conn with m's policy loaded, for tests that
// drive the stages themselves.
func policyRun(t *testing.T, conn *sql.Conn, m *Matrix, now time.Time, hygiene map[string]*HygieneSetting) *run {
	t.Helper()
	ctx := t.Context()
	snap, err := ResolveSnapshot(ctx, conn, "")
	if err != nil {
		t.Fatal(err)
	}
	n, err := loadNames(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{conn: conn, m: m, n: n, opts: Options{Now: now}, snap: snap, log: slog.New(slog.DiscardHandler),
		hygiene: resolveHygiene(m.Hygiene, hygiene)}
	if err := r.loadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

func lines(t *testing.T, conn *sql.Conn, q string) []string {
	t.Helper()
	rs, err := conn.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// randomMatrix writes rules over what the site has: project globs, content
// types and names, group (All Users included), user and site-role grantees,
// templates and capabilities, exclusive or not, forbids, admins included or
// not.
func randomMatrix(t *testing.T, ctx context.Context, conn *sql.Conn, r *rand.Rand) *Matrix {
	t.Helper()
	pick := func(q string) []string { return lines(t, conn, q) }
	paths := pick(`SELECT DISTINCT project_path FROM content WHERE project_path IS NOT NULL`)
	groups := pick(`SELECT DISTINCT name FROM groups WHERE name IS NOT NULL`)
	users := pick(`SELECT DISTINCT name FROM users WHERE name IS NOT NULL`)
	roles := pick(`SELECT DISTINCT site_role FROM users WHERE site_role IS NOT NULL`)
	names := pick(`SELECT DISTINCT name FROM content WHERE name IS NOT NULL`)
	one := func(l []string) string {
		if len(l) == 0 {
			return ""
		}
		return l[r.IntN(len(l))]
	}
	types := []string{"workbook", "view", "datasource", "flow", "project"}
	allows := [][]string{{"View"}, {"Explore"}, {"Publish"}, {"Administer"}, {"Read"}, {"Read", "Write"}, {"ExportData", "Filter"}}
	forbids := [][]string{{"ExportXml"}, {"ViewUnderlyingData", "ExportXml"}, {"Delete"}, {"ChangePermissions"}}
	m := &Matrix{Version: 1, Name: "random", Hygiene: map[string]*HygieneSetting{}}
	for len(m.Rules) < 4+r.IntN(8) {
		rule := &Rule{ID: fmt.Sprintf("r%02d", len(m.Rules)), Exclusive: r.IntN(2) == 0, IncludeAdmins: r.IntN(4) == 0}
		if p := one(paths); p != "" && r.IntN(4) > 0 {
			g := escapeGlob(p)
			if r.IntN(2) == 0 {
				g += "/**"
			}
			rule.Scope.Projects = []string{g}
		}
		if r.IntN(2) == 0 {
			rule.Scope.Types = []string{types[r.IntN(len(types))]}
		}
		if n := one(names); n != "" && r.IntN(6) == 0 {
			rule.Scope.Names = []string{escapeGlob(n)}
		}
		for range r.IntN(4) {
			switch r.IntN(6) {
			case 0, 1, 2:
				if g := one(groups); g != "" {
					rule.Grantees = append(rule.Grantees, Grantee{Kind: "group", Name: g})
				}
			case 3, 4:
				if u := one(users); u != "" {
					rule.Grantees = append(rule.Grantees, Grantee{Kind: "user", Name: u})
				}
			default:
				if ro := one(roles); ro != "" {
					rule.Grantees = append(rule.Grantees, Grantee{Kind: "site_role", Name: ro})
				}
			}
		}
		if len(rule.Grantees) > 0 || r.IntN(3) == 0 {
			rule.Allow = allows[r.IntN(len(allows))]
		}
		if len(rule.Allow) == 0 || r.IntN(3) == 0 {
			rule.Forbid = forbids[r.IntN(len(forbids))]
		}
		m.Rules = append(m.Rules, rule)
	}
	// Rules that cannot compile (a capability on none of the rule's types,
	// allowed and forbidden at once) are dropped, not fixed.
	var kept []*Rule
	for _, rule := range m.Rules {
		one := &Matrix{Version: 1, Name: "one", Rules: []*Rule{rule}, Hygiene: map[string]*HygieneSetting{}}
		d := &diags{}
		one.compile(d)
		if len(d.list.Errors()) == 0 {
			kept = append(kept, rule)
		}
	}
	m.Rules = kept
	d := &diags{}
	m.compile(d)
	if errs := d.list.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return m
}

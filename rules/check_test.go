package rules

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/demo"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

var now = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

// noHygiene switches every built-in check off, for tests about drift.
func noHygiene() map[string]*HygieneSetting {
	h := map[string]*HygieneSetting{}
	if err := ParseHygieneFlag(h, "all=off"); err != nil {
		panic(err)
	}
	return h
}

// demoDB is the demo site's model plus the lineage rows the upstream-table
// rule reads (modeltest builds no lineage).
func demoDB(t *testing.T) *model.DB {
	t.Helper()
	s, err := demo.Site()
	if err != nil {
		t.Fatal(err)
	}
	db := modeltest.New(t, s)
	exec(t, db.SQL(), `CREATE TABLE content_upstream_tables(content_type VARCHAR, content_luid VARCHAR, precision VARCHAR,
		table_id VARCHAR, table_luid VARCHAR, database_name VARCHAR, schema_name VARCHAR, table_name VARCHAR,
		table_obfuscated BOOLEAN, column_name VARCHAR, path VARCHAR, via_published_datasource VARCHAR)`)
	for _, it := range [][2]string{{"datasource", "ds-salaries"}, {"workbook", "wb-salary"}, {"view", "v-salary"},
		{"workbook", "wb-pipeline"}, {"view", "v-headcount"}} {
		exec(t, db.SQL(), `INSERT INTO content_upstream_tables (content_type, content_luid, precision, database_name, schema_name, table_name)
			VALUES (?, ?, 'datasource', 'hrdb', 'hr', 'salaries')`, it[0], site.LUID(it[0], it[1]))
	}
	return db
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
}

// rows returns a query's rows as strings (NULL is "").
func rows(t *testing.T, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rs, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out [][]string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

const findingsQuery = `SELECT finding_id, kind, check_id, rule_id, severity, status, user_name, content_type, content_name,
	project_path, capability, decision, reason, deciding_rule, waiver_id, waiver_until, confidence, cause_id, message
	FROM findings ORDER BY finding_id`

// TestFormsAgree: the YAML, CSV and Excel forms of the same matrix give
// identical findings (everything but the matrix position).
func TestFormsAgree(t *testing.T) {
	var want [][]string
	for _, name := range []string{"matrix.yaml", "matrix.csv", "matrix.xlsx"} {
		m, err := Load(filepath.Join("..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		db := demoDB(t)
		res, err := Check(context.Background(), db.SQL(), m, Options{Now: now, FailOn: "high"})
		if err != nil {
			t.Fatal(err)
		}
		got := rows(t, db.SQL(), findingsQuery)
		if len(got) == 0 || res.Findings != int64(len(got)) {
			t.Fatalf("%s: %d findings, result says %d", name, len(got), res.Findings)
		}
		if want == nil {
			want = got
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s findings differ from matrix.yaml's (-yaml +%s):\n%s", name, name, diff)
		}
		if name == "matrix.xlsx" {
			refs := rows(t, db.SQL(), `SELECT DISTINCT matrix_ref FROM findings WHERE rule_id = 'hr-content' AND kind = 'excess'`)
			if diff := cmp.Diff([][]string{{"../examples/matrix.xlsx:Rules!5"}}, refs); diff != "" {
				t.Errorf("xlsx positions (-want +got):\n%s", diff)
			}
		}
	}
}

// TestRerunReplaces: a second run on the same snapshot replaces the first
// run's rows rather than adding to them.
func TestRerunReplaces(t *testing.T) {
	db := demoDB(t)
	m, err := ParseYAML("matrix.yaml", demo.Matrix)
	if err != nil {
		t.Fatal(err)
	}
	var counts [][][]string
	for i := range 2 {
		if _, err := Check(context.Background(), db.SQL(), m, Options{Now: now.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, rows(t, db.SQL(), `SELECT (SELECT count(*) FROM findings), (SELECT count(*) FROM finding_causes),
			(SELECT count(*) FROM check_runs), (SELECT count(*) FROM policy_rules), (SELECT count(*) FROM policy_waivers),
			(SELECT count(DISTINCT run_id) FROM findings)`))
	}
	if diff := cmp.Diff(counts[0], counts[1]); diff != "" {
		t.Errorf("second run changed the row counts (-first +second):\n%s", diff)
	}
	if got := counts[1][0][2]; got != "1" {
		t.Errorf("check_runs has %s rows for one snapshot, want 1", got)
	}
	// Every finding names its cause, and causes count their findings.
	bad := rows(t, db.SQL(), `SELECT k.cause_id, k.finding_count, count(f.finding_id) FROM finding_causes k
		LEFT JOIN findings f ON f.cause_id = k.cause_id GROUP BY ALL HAVING k.finding_count <> count(f.finding_id)
		UNION ALL SELECT finding_id, 0, 0 FROM findings WHERE cause_id IS NULL`)
	if len(bad) > 0 {
		t.Errorf("findings and causes disagree: %v", bad)
	}
}

// findingKeys lists drift findings as "kind rule user content capability".
func findingKeys(t *testing.T, db *sql.DB, kinds ...string) []string {
	var out []string
	for _, r := range rows(t, db, fmt.Sprintf(`SELECT kind, rule_id, user_name, content_name, capability FROM findings
		WHERE kind IN ('%s') ORDER BY ALL`, strings.Join(kinds, "', '"))) {
		out = append(out, strings.Join(r, " "))
	}
	return out
}

// TestInitProperty: a matrix derived from a site's own effective access
// (--init) yields no excess and no missing finding on that site, on
// hand-made and random sites, and survives a YAML round trip.
func TestInitProperty(t *testing.T) {
	sites := map[string]*site.Site{}
	var err error
	if sites["scopes"], err = site.Load(filepath.Join("..", "testdata", "cases", "check-scopes", "site.yaml")); err != nil {
		t.Fatal(err)
	}
	if sites["demo"], err = demo.Site(); err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(6) {
		sites[fmt.Sprintf("random-%d", seed)] = site.Random(rand.New(rand.NewPCG(seed, 7)), site.RandomParams{})
	}
	for name, s := range sites {
		t.Run(name, func(t *testing.T) {
			db := modeltest.New(t, s)
			m, err := Init(context.Background(), db.SQL(), "")
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteYAML(&buf, m, []string{"starter"}); err != nil {
				t.Fatal(err)
			}
			back, err := ParseYAML("init.yaml", buf.Bytes())
			if err != nil {
				t.Fatalf("the starter matrix does not load: %v\n%s", err, buf.String())
			}
			if diff := cmp.Diff(m, back, matrixCmp...); diff != "" {
				t.Errorf("YAML round trip changed the matrix:\n%s", diff)
			}
			if _, err := Check(context.Background(), db.SQL(), back, Options{Now: now, Hygiene: noHygiene()}); err != nil {
				t.Fatal(err)
			}
			if got := findingKeys(t, db.SQL(), "excess", "missing"); len(got) > 0 {
				t.Errorf("%d drift findings on the site the matrix was derived from, want 0:\n%s\n%s", len(got),
					strings.Join(got[:min(len(got), 20)], "\n"), buf.String())
			}
			if len(m.Rules) == 0 {
				t.Errorf("no rules derived for %s", name)
			}
			// A few projects at a time gives the same matrix as all at once.
			small, err := initMatrix(context.Background(), db.SQL(), "", 3)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(m, small, matrixCmp...); diff != "" {
				t.Errorf("derived in chunks of 3 items, the matrix differs:\n%s", diff)
			}
		})
	}
}

// TestInitFlip: after one rule of the site changes, the starter matrix of
// the original site reports exactly the changed access.
func TestInitFlip(t *testing.T) {
	orig, err := site.Load(filepath.Join("..", "testdata", "cases", "check-scopes", "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Init(context.Background(), modeltest.New(t, orig).SQL(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		item  string
		rule  site.Rule
		kinds []string
		want  []string
	}{
		{
			// A user Deny takes Filter from cy on Pipeline East: the rule
			// expecting Viewers to hold View there reports it missing.
			name: "deny", item: "wb-pipe2", rule: site.Rule{Grantee: "user:cy", Deny: []string{"Filter"}},
			kinds: []string{"missing", "excess"},
			want:  []string{"missing sales-workbook-viewers cy Pipeline East Filter"},
		},
		{
			// A user Allow gives ben Read on the ETL flow: both exclusive
			// rules of Ops flows report it as excess.
			name: "allow", item: "fl-etl", rule: site.Rule{Grantee: "user:ben", Allow: []string{"Read"}},
			kinds: []string{"missing", "excess"},
			want:  []string{"excess ops-flow-ops ben ETL Read", "excess ops-flow-viewers ben ETL Read"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := orig.Clone()
			it := s.ItemByID(tc.item)
			it.Rules = append(it.Rules, tc.rule)
			db := modeltest.New(t, s)
			if _, err := Check(context.Background(), db.SQL(), m, Options{Now: now, Hygiene: noHygiene()}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, findingKeys(t, db.SQL(), tc.kinds...)); diff != "" {
				t.Errorf("findings after the flip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIncomplete: an incomplete snapshot is refused unless allowed.
func TestIncomplete(t *testing.T) {
	db := demoDB(t)
	exec(t, db.SQL(), `UPDATE snapshot_info SET complete = false, allowed_incomplete = false`)
	m, err := ParseYAML("m.yaml", []byte("version: 1\nrules: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Check(context.Background(), db.SQL(), m, Options{Now: now})
	if _, ok := err.(*IncompleteError); !ok {
		t.Fatalf("err = %v, want *IncompleteError", err)
	}
	if _, err := Check(context.Background(), db.SQL(), m, Options{Now: now, AllowIncomplete: true}); err != nil {
		t.Fatalf("with AllowIncomplete: %v", err)
	}
}

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bne", `did you mean "ben"?`},
		{"Viewr", `did you mean "Viewer"?`},
		{"finance analysts", `did you mean "Finance Analysts"?`},
		{"zzzzzz", ""},
	} {
		if got := didYouMean(tc.in, []string{"ana", "ben", "Viewer", "Finance Analysts"}); got != tc.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseHygieneFlag(t *testing.T) {
	h := map[string]*HygieneSetting{}
	for _, f := range []string{"deny_rules=off", "inactive_users.days=30", "inactive_users=high", "admins_count.max=2"} {
		if err := ParseHygieneFlag(h, f); err != nil {
			t.Fatal(err)
		}
	}
	got := resolveHygiene(h)
	if *got["deny_rules"].Enabled || got["inactive_users"].Days != 30 || got["inactive_users"].Severity != "high" ||
		got["admins_count"].Max != 2 || !*got["user_rules"].Enabled || got["user_rules"].Severity != "low" {
		t.Errorf("resolved settings wrong: deny_rules %v, inactive_users %+v, admins_count %+v", *got["deny_rules"].Enabled,
			got["inactive_users"], got["admins_count"])
	}
	for _, bad := range []string{"deny_rule=off", "deny_rules", "deny_rules=loud", "inactive_users.days=x"} {
		if err := ParseHygieneFlag(map[string]*HygieneSetting{}, bad); err == nil {
			t.Errorf("ParseHygieneFlag(%q) accepted a bad value", bad)
		}
	}
}

// TestEscapeGlob: a project path with glob characters, escaped by Init,
// matches only itself.
func TestEscapeGlob(t *testing.T) {
	for _, p := range []string{"Sales [EMEA]", "Q*", "a{b,c}/d?", `back\slash`} {
		r := &Rule{ID: "x", Scope: Scope{Projects: []string{escapeGlob(p)}}}
		run := &run{n: &names{}}
		where := run.scopeSQL(r, []string{p, "Sales E", "Qx", "ab/d1", "a{b,c}/dd", "backslash"}, nil)
		if !strings.Contains(where, "IN ("+ql(p)+")") {
			t.Errorf("escaped %q: %s", p, where)
		}
	}
}

// TestMigratesFindingsTable: a findings table written by an earlier release
// (one wide row per finding) becomes rows of the findings view, values and
// status unchanged, and the check's own snapshot is written beside them.
func TestMigratesFindingsTable(t *testing.T) {
	db := demoDB(t)
	exec(t, db.SQL(), `CREATE TABLE findings(
		finding_id VARCHAR, kind VARCHAR, check_id VARCHAR, rule_id VARCHAR, severity VARCHAR, status VARCHAR,
		user_id VARCHAR, user_name VARCHAR, content_type VARCHAR, content_id VARCHAR, content_name VARCHAR,
		project_path VARCHAR, capability VARCHAR, decision VARCHAR, reason VARCHAR, deciding_rule VARCHAR,
		waiver_id VARCHAR, waiver_until DATE, confidence VARCHAR, cause_id VARCHAR, message VARCHAR,
		snapshot_id VARCHAR, matrix_file VARCHAR, matrix_line INTEGER,
		matrix_ref VARCHAR, flags VARCHAR[], run_id VARCHAR)`)
	old := `('f1', 'excess', NULL, 'r1', 'high', 'violation', 'u1', 'Ana', 'workbook', 'w1', 'Pipeline', 'Sales', 'Read', 'allow',
			'GROUP_ALLOW', 'wb:w1 group:g1 Allow', 'w9', DATE '2026-01-31', 'D', 'c1',
			'holds Read (GROUP_ALLOW) but no rule expects it (waiver w9 expired 2026-01-31)', 'old-snap', 'm.yaml', 12, 'm.yaml:12',
			['DIRECT_DATA_API'], 'run0'),
		('f2', 'hygiene', 'deny_rules', NULL, 'low', 'needs_review', NULL, NULL, 'project', 'p1', 'Sales', 'Sales', NULL, NULL,
			NULL, 'group:g1', NULL, NULL, 'U', 'c2', 'a Deny rule', 'old-snap', 'm.yaml', NULL, NULL, NULL, 'run0')`
	exec(t, db.SQL(), `INSERT INTO findings VALUES `+old)
	want := rows(t, db.SQL(), `SELECT * REPLACE (array_to_string(flags, ',') AS flags) FROM findings ORDER BY finding_id`)
	m, err := ParseYAML("matrix.yaml", demo.Matrix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(context.Background(), db.SQL(), m, Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	got := rows(t, db.SQL(), `SELECT * REPLACE (array_to_string(flags, ',') AS flags) FROM findings WHERE snapshot_id = 'old-snap' ORDER BY finding_id`)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("migrated findings differ (-before +after):\n%s", diff)
	}
	if n := rows(t, db.SQL(), `SELECT count(*) FROM findings WHERE snapshot_id <> 'old-snap'`); n[0][0] == "0" {
		t.Errorf("the check wrote no findings of its own beside the migrated ones")
	}
}

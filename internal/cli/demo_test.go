package cli

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the README's first command in-process and checks that the
// demo shows what it promises: a group with more access than approved, a
// forbidden download right, a salary table exposed through a dashboard and
// an expired waiver.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("full pipeline")
	}
	out := filepath.Join(t.TempDir(), "demo-out")
	var stdout, stderr bytes.Buffer
	f := &Factory{
		IO:      IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr},
		Now:     func() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) },
		Getenv:  func(string) string { return "" },
		Version: "test",
	}
	if code := RunWith(context.Background(), f, []string{"demo", "--out", out, "--log-level", "error"}); code != ExitOK {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, name := range []string{"report.xlsx", "findings.md", "audit.duckdb", "matrix.yaml", "report-findings.csv", "report.json"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(out, "snapshots", "site=acme", "snapshot=*", "manifest.json")); len(m) != 1 {
		t.Errorf("snapshot manifests: %v", m)
	}
	for _, want := range []string{"findings.md", "tabaudit explain", "tabaudit exposure", "tabaudit sql"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	db, err := sql.Open("duckdb", filepath.Join(out, "audit.duckdb")+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checks := []struct{ what, query string }{
		{"Sales holds more than approved in Finance",
			`SELECT count(*) FROM findings WHERE kind = 'excess' AND rule_id = 'finance-viewers' AND user_name = 'sam@acme.example' AND capability = 'Read'`},
		{"a contractor holds a forbidden full-data download",
			`SELECT count(*) FROM findings WHERE kind = 'forbidden' AND user_name = 'kim@acme.example' AND capability = 'ViewUnderlyingData'`},
		{"hr.salaries reaches Sales through the Headcount dashboard",
			`SELECT count(*) FROM findings WHERE kind = 'excess' AND rule_id = 'hr-salaries-exposure' AND content_name = 'Headcount and Cost' AND user_name = 'sam@acme.example'`},
		{"the migration waiver has expired",
			`SELECT count(*) FROM findings WHERE kind = 'waiver' AND rule_id = 'hr-content' AND status <> 'waived'`},
		{"sue's Q4 waiver covers her excess",
			`SELECT count(*) FROM findings WHERE rule_id = 'finance-viewers' AND user_name = 'sue@acme.example' AND status = 'waived'`},
		{"table exposure through the hidden sheet's dashboard",
			`SELECT count(*) FROM table_exposure WHERE table_name = 'salaries' AND via_content_name = 'Headcount and Cost' AND user_name = 'sam@acme.example'`},
	}
	for _, c := range checks {
		var n int
		if err := db.QueryRow(c.query).Scan(&n); err != nil {
			t.Errorf("%s: %v", c.what, err)
		} else if n == 0 {
			t.Errorf("%s: no rows for %s", c.what, c.query)
		}
	}
}

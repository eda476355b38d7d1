package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/cases/check-*")

// TestCheckCases runs every testdata/cases/check-* directory: it builds a
// model database from the case's site.yaml (model/modeltest), applies the
// case's optional extra.sql (lineage rows, a broken manifest; {{kind:id}}
// becomes site.LUID(kind, id)), runs the CLI in-process with the arguments
// in args ($DB is the database) from inside the case directory, and
// compares stdout, stderr, the exit code and the findings written
// (findings.csv) with the files there. -update rewrites them.
func TestCheckCases(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "cases")
	dirs, err := filepath.Glob(filepath.Join(root, "check-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no check cases under %s: %v", root, err)
	}
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(dir), func(t *testing.T) { runCheckCase(t, abs) })
	}
}

var luidRef = regexp.MustCompile(`\{\{([a-z]+):([^}]+)\}\}`)

func runCheckCase(t *testing.T, dir string) {
	ctx := context.Background()
	argsText, err := os.ReadFile(filepath.Join(dir, "args"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	dbPath := filepath.Join(tmp, "audit.duckdb")
	if _, err := os.Stat(filepath.Join(dir, "site.yaml")); err == nil {
		s, err := site.Load(filepath.Join(dir, "site.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		db, err := model.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := modeltest.Load(ctx, db, s); err != nil {
			db.Close()
			t.Fatal(err)
		}
		if extra, err := os.ReadFile(filepath.Join(dir, "extra.sql")); err == nil {
			q := luidRef.ReplaceAllStringFunc(string(extra), func(m string) string {
				p := luidRef.FindStringSubmatch(m)
				return site.LUID(p[1], p[2])
			})
			if _, err := db.SQL().ExecContext(ctx, q); err != nil {
				db.Close()
				t.Fatalf("extra.sql: %v", err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var args []string
	for _, a := range splitArgs(strings.TrimSpace(string(argsText))) {
		args = append(args, strings.ReplaceAll(a, "$DB", dbPath))
	}
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	f := &Factory{
		IO:      IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr},
		Now:     func() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) },
		Getenv:  func(string) string { return "" },
		Version: "test",
	}
	code := RunWith(ctx, f, args)
	clean := func(s string) string { return strings.ReplaceAll(s, tmp, "$TMP") }
	got := map[string]string{
		"stdout":    clean(stdout.String()),
		"stderr":    clean(stderr.String()),
		"exit_code": strconv.Itoa(code) + "\n",
	}
	if fc, ok := findingsCSV(t, dbPath); ok {
		got["findings.csv"] = fc
	}
	for name, g := range got {
		path := filepath.Join(dir, name)
		if *update {
			if err := os.WriteFile(path, []byte(g), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run with -update to create it)", name, err)
			continue
		}
		if diff := cmp.Diff(string(want), g); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	if !*update {
		if _, err := os.Stat(filepath.Join(dir, "findings.csv")); err == nil && got["findings.csv"] == "" {
			t.Errorf("findings.csv expected but the run wrote no findings table")
		}
	}
}

// findingsCSV reads the findings table in a stable order, without the
// columns that only repeat what other columns say (ids of names shown).
func findingsCSV(t *testing.T, dbPath string) (string, bool) {
	if _, err := os.Stat(dbPath); err != nil {
		return "", false
	}
	db, err := sql.Open("duckdb", dbPath+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM duckdb_views() WHERE view_name = 'findings'`).Scan(&n); err != nil || n == 0 {
		return "", false
	}
	rs, err := db.Query(`SELECT kind, coalesce(rule_id, check_id) AS rule_or_check, severity, status, user_name, content_type,
			content_name, project_path, capability, decision, reason, waiver_id, strftime(waiver_until, '%Y-%m-%d') AS waiver_until,
			confidence, message, matrix_ref, finding_id, cause_id
		FROM findings ORDER BY kind, rule_or_check, user_name, content_type, project_path, content_name, capability, message`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(cols)
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		rec := make([]string, len(cols))
		for i, v := range vals {
			rec[i] = v.String
		}
		w.Write(rec)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return b.String(), true
}

// splitArgs splits on spaces, keeping "double quoted" words together.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ = !inQ
			have = true
		case (r == ' ' || r == '\n' || r == '\t') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

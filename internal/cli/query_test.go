package cli

import (
	"slices"

	"bytes"
	"context"
	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest"
	"github.com/tabaudit/tabaudit/internal/demo"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/queries"
)

var demoModel struct {
	once sync.Once
	dir  string
	err  error
}

// demoDB runs the demo once per test binary (simulator → extract → model →
// check → report) and returns the model it built: a real fixture for the
// commands that read a model.
func demoDB(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the demo pipeline")
	}
	demoModel.once.Do(func() {
		dir, err := os.MkdirTemp("", "tabaudit-demo-model-")
		if err != nil {
			demoModel.err = err
			return
		}
		demoModel.dir = dir
		var out bytes.Buffer
		if code := RunWith(context.Background(), testFactory(&out, &out), []string{"demo", "--out", dir, "--log-level", "error"}); code != 0 {
			demoModel.err = &ExitError{Code: code, Err: errorString(out.String())}
		}
	})
	if demoModel.err != nil {
		t.Fatal(demoModel.err)
	}
	return filepath.Join(demoModel.dir, "audit.duckdb")
}

type errorString string

func (e errorString) Error() string { return string(e) }

func testFactory(stdout, stderr *bytes.Buffer) *Factory {
	return &Factory{
		IO:      IOStreams{In: strings.NewReader(""), Out: stdout, ErrOut: stderr},
		Now:     func() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) },
		Getenv:  func(string) string { return "" },
		Version: "test",
	}
}

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = RunWith(context.Background(), testFactory(&o, &e), args)
	return o.String(), e.String(), code
}

var historyModel struct {
	once sync.Once
	db   string
	err  error
}

// historyDB extracts the demo site twice, with a role change, a new rule and
// a user who left in between, and builds a history model of both.
func historyDB(t *testing.T) string {
	t.Helper()
	historyModel.once.Do(func() {
		dir, err := os.MkdirTemp("", "tabaudit-history-")
		if err != nil {
			historyModel.err = err
			return
		}
		root := filepath.Join(dir, "snapshots")
		for i := range 2 {
			s, err := demo.Site()
			if err != nil {
				historyModel.err = err
				return
			}
			if i == 1 {
				for j := range s.Users {
					if s.Users[j].ID == "sam" {
						s.Users[j].Role = "Explorer"
					}
				}
				s.Users = slices.DeleteFunc(s.Users, func(u site.User) bool { return u.ID == "sue" })
				for j := range s.Groups {
					s.Groups[j].Members = slices.DeleteFunc(s.Groups[j].Members, func(m string) bool { return m == "sue" })
				}
				p := s.ProjectByID("sales")
				p.Rules = append(p.Rules, site.Rule{Grantee: "group:contractors", Allow: []string{"Read"}})
				time.Sleep(1100 * time.Millisecond) // snapshot folders are named to the second
			}
			srv, err := tableautest.Start(s)
			if err != nil {
				historyModel.err = err
				return
			}
			var out bytes.Buffer
			f := testFactory(&out, &out)
			f.Now = time.Now
			f.Getenv = func(k string) string {
				return map[string]string{"TABLEAU_PAT_NAME": tableautest.DefaultPATName, "TABLEAU_PAT_SECRET": tableautest.DefaultPATSecret}[k]
			}
			code := RunWith(context.Background(), f, []string{"extract", "--server", srv.URL, "--site", "acme", "--out", root, "--log-level", "error"})
			srv.Close()
			if code != 0 {
				historyModel.err = errorString(out.String())
				return
			}
		}
		historyModel.db = filepath.Join(dir, "history.duckdb")
		var out bytes.Buffer
		if code := RunWith(context.Background(), testFactory(&out, &out), []string{"model", "--snapshots", root, "--db", historyModel.db, "--log-level", "error"}); code != 0 {
			historyModel.err = errorString(out.String())
		}
	})
	if historyModel.err != nil {
		t.Fatal(historyModel.err)
	}
	return historyModel.db
}

// Every query in queries/ runs against the demo model and matches its golden
// CSV. Parameters that need a value get one from the demo site.
func TestQueriesGolden(t *testing.T) {
	db := demoDB(t)
	all, err := queries.All()
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{
		"user": "sam@acme.example", "item": "Headcount and Cost", "as_of": "2026-11-27",
		"pattern": "%salar%",
	}
	for _, q := range all {
		t.Run(q.Name, func(t *testing.T) {
			qdb := db
			if slices.ContainsFunc(q.Requires, func(r string) bool { return strings.HasPrefix(r, "history_") }) {
				qdb = historyDB(t)
			}
			args := []string{"query", q.Name, "--db", qdb, "--format", "csv"}
			for _, p := range q.Params {
				if v, ok := params[p.Name]; ok {
					args = append(args, "--param", p.Name+"="+v)
				}
			}
			out, errOut, code := runCmd(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if strings.Count(out, "\n") < 2 {
				t.Errorf("query %s returned no rows on the demo site; the golden would prove nothing:\n%s", q.Name, out)
			}
			golden(t, filepath.Join("..", "queries", q.Name+".csv"), snapTimes.ReplaceAllString(out, "<time>"))
		})
	}
}

func TestQueryErrors(t *testing.T) {
	db := demoDB(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"query", "acces_of_user", "--db", db}, `unknown query "acces_of_user" (did you mean access_of_user?)`},
		{[]string{"query", "access_of_user", "--db", db}, "needs --param user=<string>"},
		{[]string{"query", "deny_rules", "--db", db, "--param", "x=1"}, "takes no parameters"},
		{[]string{"query", "deny_rules", "--db", filepath.Join(t.TempDir(), "none.duckdb")}, "build it with `tabaudit model`"},
		{[]string{"sql", "--db", db, "SELEC 1"}, "syntax error at or near \"SELEC\""},
		{[]string{"sql", "--db", db, "SELECT * FROM no_such_table"}, "Table with name no_such_table does not exist"},
	}
	for _, tt := range tests {
		_, errOut, code := runCmd(t, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestSQLFormats(t *testing.T) {
	db := demoDB(t)
	q := "SELECT name, site_role FROM users WHERE name IN ('sam@acme.example', 'ana@acme.example') ORDER BY name"
	out, _, code := runCmd(t, "sql", "--db", db, "--format", "csv", q)
	if code != 0 || out != "name,site_role\nana@acme.example,Explorer\nsam@acme.example,Viewer\n" {
		t.Errorf("csv: exit %d\n%s", code, out)
	}
	out, _, _ = runCmd(t, "sql", "--db", db, "--format", "json", q)
	if !strings.Contains(out, `{"name":"ana@acme.example","site_role":"Explorer"}`) {
		t.Errorf("json:\n%s", out)
	}
	out, _, _ = runCmd(t, "sql", "--db", db, "--format", "table", q)
	if !strings.Contains(out, "name              site_role\n----") {
		t.Errorf("table:\n%s", out)
	}
	// The prompt reads statements ending in ';' when stdin is not a terminal.
	var o, e bytes.Buffer
	f := testFactory(&o, &e)
	f.IO.In = strings.NewReader("SELECT count(*) AS n\nFROM users;\n.quit\n")
	if code := RunWith(context.Background(), f, []string{"sql", "--db", db}); code != 0 || !strings.Contains(o.String(), "n\n---\n10") {
		t.Errorf("prompt: exit %d\n%s%s", code, o.String(), e.String())
	}
}

func TestExposureCommand(t *testing.T) {
	db := demoDB(t)
	out, errOut, code := runCmd(t, "exposure", "--db", db, "--table", "hr.salaries", "--capability", "Read", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "../exposure/salaries-read.csv", out)
	out, _, code = runCmd(t, "exposure", "--db", db, "--user", "sam@acme.example", "--format", "csv")
	if code != 0 || !strings.Contains(out, "hrdb,hr,salaries,") {
		t.Errorf("--user: exit %d\n%s", code, out)
	}
	// Several tables at once: the rows of each, together.
	both, _, code := runCmd(t, "exposure", "--db", db, "--table", "hr.salaries,hr.employees", "--format", "csv")
	one, _, _ := runCmd(t, "exposure", "--db", db, "--table", "hr.salaries", "--format", "csv")
	two, _, _ := runCmd(t, "exposure", "--db", db, "--table", "hr.employees", "--format", "csv")
	lines := func(s string) []string { l := strings.Split(strings.TrimSpace(s), "\n")[1:]; slices.Sort(l); return l }
	if want := slices.Sorted(slices.Values(append(lines(one), lines(two)...))); code != 0 || !slices.Equal(lines(both), want) {
		t.Errorf("two tables: exit %d\n%s\nwant\n%s", code, both, strings.Join(want, "\n"))
	}
	_, errOut, code = runCmd(t, "exposure", "--db", db, "--table", "hr.salary")
	if code != ExitUsage || !strings.Contains(errOut, `no table "hr.salary"`) {
		t.Errorf("unknown table: exit %d %q", code, errOut)
	}
}

// TestExposureMatchesView holds the class-level exposure command to the
// table_exposure view (which evaluates every user through
// effective_permissions) for every table of the demo's lineage.
func TestExposureMatchesView(t *testing.T) {
	db := demoDB(t)
	tables, _, code := runCmd(t, "sql", "--db", db, "--format", "csv",
		`SELECT DISTINCT schema_name || '.' || table_name FROM content_upstream_tables WHERE table_name IS NOT NULL ORDER BY 1`)
	if code != 0 {
		t.Fatalf("listing tables: exit %d", code)
	}
	names := strings.Split(strings.TrimSpace(tables), "\n")[1:]
	if len(names) < 3 {
		t.Fatalf("only %d tables in the demo lineage", len(names))
	}
	for _, tbl := range names {
		out, errOut, code := runCmd(t, "exposure", "--db", db, "--table", tbl, "--detail", "--format", "csv")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tbl, code, errOut)
		}
		parts := strings.SplitN(tbl, ".", 2)
		want, _, _ := runCmd(t, "sql", "--db", db, "--format", "csv", `SELECT DISTINCT database_name, schema_name, table_name, user_name, capability,
			via_content_type, via_content_name, via_project_path, decision_reason, coalesce(datasource_connect, '')
			FROM table_exposure WHERE precision = 'datasource' AND column_name IS NULL AND schema_name = '`+parts[0]+`' AND table_name = '`+parts[1]+`' ORDER BY ALL`)
		got := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Split(l, ",")
			// drop via_path (index 8): the view lists every path
			got[strings.Join(append(f[:8:8], f[9:]...), ",")] = true
		}
		wl := strings.Split(strings.TrimSpace(want), "\n")[1:]
		if len(wl) != len(got) {
			t.Errorf("%s: exposure lists %d user rows, table_exposure %d", tbl, len(got), len(wl))
		}
		for _, l := range wl {
			if !got[l] {
				t.Errorf("%s: table_exposure has %q, exposure does not", tbl, l)
			}
		}
	}
}

// TestExposureSiteFile runs the exposure case of issue #6 end to end: the
// site file is served by the simulator, extracted over HTTP (REST and
// Metadata API), modelled, and asked "who can see data from hr.salaries".
//
// What Tableau shows and why the rows are what they are:
//   - ana and ben can open the dashboard "People overview" (group People
//     Viewers, template View on the workbook, views follow it with tabs
//     shown). Its hidden sheet "Pay by grade" draws hr.salaries through the
//     published source HR Pay, so both see salary data through the
//     dashboard. ben holds Connect on HR Pay; ana does not: Tableau may then
//     refuse her the data unless the workbook embeds credentials (spec §11,
//     an [I] fact), so her row says datasource_connect=deny rather than
//     dropping her: an audit must show the possible exposure.
//   - The custom SQL query over hr.employees and hr.departments feeds
//     "Headcount", not salaries: neither table appears for salaries.
//   - dee reaches hr.salaries only through the virtual connection HR VC and
//     the data source and workbook built on it (group VC Users).
//   - The owner and the Creator cy appear through ownership and cy's user
//     rule on HR Pay.
func TestExposureSiteFile(t *testing.T) {
	s, err := site.Load("testdata/exposure/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := tableautest.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	var out bytes.Buffer
	f := testFactory(&out, &out)
	f.Now = time.Now
	f.Getenv = func(k string) string {
		return map[string]string{"TABLEAU_PAT_NAME": tableautest.DefaultPATName, "TABLEAU_PAT_SECRET": tableautest.DefaultPATSecret}[k]
	}
	root := filepath.Join(dir, "snapshots")
	if code := RunWith(context.Background(), f, []string{"extract", "--server", srv.URL, "--site", "exposure", "--out", root, "--log-level", "error"}); code != 0 {
		t.Fatalf("extract: exit %d\n%s", code, out.String())
	}
	db := filepath.Join(dir, "audit.duckdb")
	if _, errOut, code := runCmd(t, "model", "--snapshots", root, "--db", db, "--log-level", "error"); code != 0 {
		t.Fatalf("model: exit %d\n%s", code, errOut)
	}
	got, errOut, code := runCmd(t, "exposure", "--db", db, "--table", "hr.salaries", "--capability", "Read", "--detail", "--format", "csv")
	if code != 0 {
		t.Fatalf("exposure: exit %d\n%s", code, errOut)
	}
	golden(t, "../exposure/site-salaries-detail.csv", got)
	for _, want := range []string{
		"hrdb,hr,salaries,ana,Read,view,People overview,HR,",
		",GROUP_ALLOW,deny\n", // ana through the dashboard, without Connect on HR Pay
		"hrdb,hr,salaries,ben,Read,view,People overview,HR,",
		",GROUP_ALLOW,allow\n", // ben holds Connect
		"hrdb,hr,salaries,dee,Read,virtualconnection,HR VC,HR,",
		"hrdb,hr,salaries,dee,Read,view,Pay from VC,HR,",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("exposure lacks %q:\n%s", want, got)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if strings.Contains(l, "Headcount") {
			t.Errorf("the custom SQL over employees and departments does not read salaries: %s", l)
		}
	}
	// The custom SQL query exposes both of its tables through Headcount.
	for _, tbl := range []string{"hr.employees", "hr.departments"} {
		got, _, _ := runCmd(t, "exposure", "--db", db, "--table", tbl, "--capability", "Read", "--format", "csv")
		if !strings.Contains(got, ",view,Headcount,HR,Read,3,") {
			t.Errorf("%s: want Headcount read by 3 users (ana, ben, the project owner):\n%s", tbl, got)
		}
	}
}

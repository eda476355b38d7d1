package reports

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/demo"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
	"github.com/tabaudit/tabaudit/rules"
)

// modelDB builds a real model (model.Build through modeltest) of s in a
// file and opens it read-only, as `tabaudit report` does.
func modelDB(t *testing.T, s *site.Site) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.duckdb")
	m, err := model.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modeltest.Load(t.Context(), m, s); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY&autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestReportOnModel writes the report of the demo site's real model (no
// check run) and checks the Summary against the model's own counts.
func TestReportOnModel(t *testing.T) {
	s, err := demo.Site()
	if err != nil {
		t.Fatal(err)
	}
	db := modelDB(t, s)
	dir := t.TempDir()
	res, err := Write(context.Background(), db, Options{Out: filepath.Join(dir, "demo.xlsx"), Formats: []string{"xlsx", "csv"}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, filepath.Join(dir, "demo.xlsx"))
	for label, q := range map[string]string{
		"Users":     "SELECT count(*) FROM users",
		"Groups":    "SELECT count(*) FROM groups",
		"Projects":  "SELECT count(*) FROM content WHERE content_type = 'project'",
		"Workbooks": "SELECT count(*) FROM content WHERE content_type = 'workbook'",
		"Views":     "SELECT count(*) FROM content WHERE content_type = 'view'",
	} {
		var n string
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got := findRow(t, f, "Summary", label); got[1] != n || n == "0" {
			t.Errorf("Summary %s = %q, model says %s", label, got[1], n)
		}
	}
	var allows, pairs int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT (user_id, content_type, content_id)) FROM effective_permissions
		WHERE decision = 'allow' AND basis = 'current'`).Scan(&allows, &pairs); err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Sections {
		switch st.Key {
		case "access-by-user":
			if st.Rows != pairs || st.XLSXRows != pairs {
				t.Errorf("access by user: %d rows (%d in xlsx), model has %d user-item pairs with an allow", st.Rows, st.XLSXRows, pairs)
			}
		case "findings":
			if st.Missing == "" {
				t.Errorf("findings section without a check run: %+v", st)
			}
		}
	}
	// Users allowed per item and capability add up to the model's allows.
	rows := readCSV(t, filepath.Join(dir, "demo-access-by-content.csv"))
	var sum int64
	for _, r := range rows[1:] {
		var n int64
		for _, c := range r[4] {
			n = n*10 + int64(c-'0')
		}
		sum += n
	}
	if sum != allows {
		t.Errorf("access by content adds up to %d allows, model has %d", sum, allows)
	}
}

// TestFormulaInjectionThroughModel runs a site whose user, group, project and
// workbook names start with = + - @ TAB and CR through the real model.
func TestFormulaInjectionThroughModel(t *testing.T) {
	s, err := site.Load("testdata/hostile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range s.Users {
		names = append(names, u.Name)
	}
	for _, g := range s.Groups {
		names = append(names, g.Name)
	}
	for _, p := range s.Projects {
		names = append(names, p.Name)
	}
	for _, it := range s.Items {
		names = append(names, it.Name)
	}
	db := modelDB(t, s)
	dir := t.TempDir()
	if _, err := Write(context.Background(), db, Options{Out: filepath.Join(dir, "h.xlsx"), Formats: []string{"xlsx", "csv", "md"}, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, filepath.Join(dir, "h.xlsx"))
	found := map[string]bool{}
	for _, sheet := range f.GetSheetList() {
		rows, _ := f.GetRows(sheet)
		for r, row := range rows {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if formula, _ := f.GetCellFormula(sheet, cell); formula != "" {
					t.Errorf("%s!%s holds formula %q", sheet, cell, formula)
				}
				if typ, _ := f.GetCellType(sheet, cell); typ == excelize.CellTypeFormula {
					t.Errorf("%s!%s is a formula cell", sheet, cell)
				}
				found[v] = true
			}
		}
	}
	csvs, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	csvFound := map[string]bool{}
	for _, p := range csvs {
		for _, rec := range readCSV(t, p) {
			for _, field := range rec {
				if NeedsGuard(field) {
					t.Errorf("%s: %q would be evaluated", filepath.Base(p), field)
				}
				csvFound[field] = true
			}
		}
	}
	for _, n := range names {
		if !found[n] {
			t.Errorf("the workbook never shows %q exactly", n)
		}
		if NeedsGuard(n) && !csvFound["'"+n] {
			t.Errorf("no CSV shows %q guarded", n)
		}
	}
	md := readFile(t, filepath.Join(dir, "h.md"))
	if !bytes.Contains(md, []byte("'=Hostile")) || strings.Contains(string(md), "| =") {
		t.Errorf("markdown does not guard the site name:\n%s", md)
	}
}

// TestReportOnCheckedDemo runs the demo policy with the real rules stage and
// checks the report's findings against the findings table.
func TestReportOnCheckedDemo(t *testing.T) {
	s, err := demo.Site()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.duckdb")
	m, err := model.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modeltest.Load(t.Context(), m, s); err != nil {
		t.Fatal(err)
	}
	matrix, err := rules.Load("testdata/demo-matrix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rules.Check(t.Context(), m.SQL(), matrix, rules.Options{Now: fixedNow(), FailOn: "high"}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY&autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	res, err := Write(context.Background(), db, Options{Out: filepath.Join(dir, "d.xlsx"), Formats: []string{"xlsx", "json", "md"}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	var matrixFile string
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM findings), (SELECT any_value(matrix_file) FROM check_runs)`).Scan(&n, &matrixFile); err != nil {
		t.Fatal(err)
	}
	if n == 0 || res.Findings != n || res.Check == nil || res.Check.MatrixFile != matrixFile {
		t.Fatalf("report: %d findings, check %+v; findings table has %d, matrix %s", res.Findings, res.Check, n, matrixFile)
	}
	f := openXLSX(t, filepath.Join(dir, "d.xlsx"))
	rows, _ := f.GetRows("Findings")
	if int64(len(rows)-1) != n {
		t.Errorf("Findings sheet has %d rows, findings table %d", len(rows)-1, n)
	}
	if got := findRow(t, f, "Summary", "Policy"); !strings.Contains(got[1], "Acme FY26-Q4 access policy — testdata/demo-matrix.yaml") {
		t.Errorf("Policy line = %q", got[1])
	}
	doc := validateFindingsJSON(t, readFile(t, filepath.Join(dir, "d.json")))
	if got := len(doc["findings"].([]any)); int64(got) != n {
		t.Errorf("JSON has %d findings, want %d", got, n)
	}
}

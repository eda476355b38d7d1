package reports

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

var fixedNow = func() time.Time { return time.Date(2026, 1, 3, 12, 0, 0, 0, time.UTC) }

func writeReport(t *testing.T, checked bool, mod func(*Options)) (*Result, string) {
	t.Helper()
	db := openDB(t)
	buildFixture(t, db, checked)
	dir := t.TempDir()
	opts := Options{Out: filepath.Join(dir, "report.xlsx"), Formats: []string{"xlsx", "csv", "json", "md"},
		ToolVersion: "v-test", CommandLine: "tabaudit report --db audit.duckdb", Now: fixedNow}
	if mod != nil {
		mod(&opts)
	}
	res, err := Write(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, dir
}

func openXLSX(t *testing.T, path string) *excelize.File {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// findRow returns the row (1-based) whose column A is label on the sheet.
func findRow(t *testing.T, f *excelize.File, sheet, label string) []string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 0 && r[0] == label {
			return r
		}
	}
	t.Fatalf("sheet %s has no row %q", sheet, label)
	return nil
}

func TestWorkbookSheetsAndSummary(t *testing.T) {
	res, dir := writeReport(t, true, nil)
	f := openXLSX(t, filepath.Join(dir, "report.xlsx"))
	want := []string{"Summary", "Findings", "Causes", "Access by content", "Access by user", "Hygiene",
		"Inventory - Users", "Inventory - Groups", "Inventory - Projects", "Inventory - Workbooks", "Inventory - Views",
		"Inventory - Data sources", "Inventory - Flows", "Policy", "Policy waivers", "Provenance"}
	if diff := cmp.Diff(want, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	// Summary counts match the model.
	db := openDB(t)
	buildFixture(t, db, true)
	for label, q := range map[string]string{
		"Users":                  "SELECT count(*) FROM users",
		"Groups":                 "SELECT count(*) FROM groups",
		"Projects":               "SELECT count(*) FROM content WHERE content_type = 'project'",
		"Workbooks":              "SELECT count(*) FROM content WHERE content_type = 'workbook'",
		"Views":                  "SELECT count(*) FROM content WHERE content_type = 'view'",
		"Published data sources": "SELECT count(*) FROM content WHERE content_type = 'datasource'",
		"Flows":                  "SELECT count(*) FROM content WHERE content_type = 'flow'",
	} {
		var n string
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got := findRow(t, f, "Summary", label); len(got) < 2 || got[1] != n {
			t.Errorf("Summary %s = %v, want %s", label, got, n)
		}
	}
	for label, want := range map[string]string{
		"Snapshot":         "acme/20260101T000000Z",
		"Site":             "Acme (acme)",
		"Manifest verdict": "Complete: every table was read in full and every request succeeded (42 requests, 1 retries, 0 throttled).",
		"Policy":           "FY26-Q4 access policy — policy.yaml (sha256 abc123), checked 2026-01-02T09:00:00Z",
	} {
		if got := findRow(t, f, "Summary", label); got[1] != want {
			t.Errorf("Summary %s = %q, want %q", label, got[1], want)
		}
	}
	// Findings by rule and severity: rows per rule, columns per severity.
	if got, want := findRow(t, f, "Summary", "finance-viewers"), []string{"finance-viewers", "0", "6", "0", "0", "1", "7"}; !slices.Equal(got, want) {
		t.Errorf("finance-viewers row = %q, want %q", got, want)
	}
	if got := findRow(t, f, "Summary", "all-users-grants"); got[3] != "1" || got[6] != "1" {
		t.Errorf("hygiene check row = %q", got)
	}
	charts := 0
	for _, name := range zipNames(t, filepath.Join(dir, "report.xlsx")) {
		if strings.HasPrefix(name, "xl/charts/chart") {
			charts++
		}
	}
	if charts != 1 {
		t.Errorf("%d charts, want 1 on the Summary", charts)
	}
	if res.Findings != 9 {
		t.Errorf("Result.Findings = %d, want 9", res.Findings)
	}
}

func zipNames(t *testing.T, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	return out
}

func TestFindingsSheet(t *testing.T) {
	_, dir := writeReport(t, true, nil)
	f := openXLSX(t, filepath.Join(dir, "report.xlsx"))
	rows, err := f.GetRows("Findings")
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"Severity", "Status", "Kind", "Rule", "Check", "User", "Type", "Item", "Project", "Capability",
		"Decision", "Reason", "Deciding rule", "Confidence", "Message", "Waiver", "Waiver until", "Cause", "User LUID",
		"Item LUID", "Matrix file", "Matrix line", "Finding", "Snapshot"}
	if diff := cmp.Diff(wantHeader, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if len(rows) != 10 {
		t.Fatalf("%d rows, want header + 9", len(rows))
	}
	// Worst first.
	if got := rows[1][:5]; !slices.Equal(got, []string{"critical", "violation", "forbidden", "no-downloads", ""}) {
		t.Errorf("first finding = %q", got)
	}
	if got := rows[9]; got[0] != "info" || got[16] != "2027-03-31" || got[21] != "30" {
		t.Errorf("last finding = %q", got)
	}
	// Severity fill on the severity cell.
	for row, sev := range map[int]string{2: "critical", 3: "high", 9: "medium", 10: "info"} {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		v, _ := f.GetCellValue("Findings", cell)
		if v != sev {
			t.Fatalf("%s = %q, want %s", cell, v, sev)
		}
		id, err := f.GetCellStyle("Findings", cell)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Fill.Color) != 1 || !strings.EqualFold(st.Fill.Color[0], severityFill[sev][0]) {
			t.Errorf("%s (%s) fill = %+v, want %s", cell, sev, st.Fill, severityFill[sev][0])
		}
	}
	// Autofilter through a table over the whole sheet, header frozen.
	tables, err := f.GetTables("Findings")
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Range != "A1:X10" {
		t.Errorf("tables = %+v, want one over A1:X10", tables)
	}
	panes, err := f.GetPanes("Findings")
	if err != nil {
		t.Fatal(err)
	}
	if !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
		t.Errorf("panes = %+v, want the header row frozen", panes)
	}
	// Column widths fit: Message is wider than Severity.
	wSev, _ := f.GetColWidth("Findings", "A")
	wMsg, _ := f.GetColWidth("Findings", "O")
	if wSev < 10 || wMsg <= wSev || wMsg > 60 {
		t.Errorf("widths: Severity %.0f, Message %.0f", wSev, wMsg)
	}
}

func TestSplitAndCap(t *testing.T) {
	defer func(n int64) { batchRows = n }(batchRows)
	batchRows = 2 // rows come back from DuckDB in several batches
	res, dir := writeReport(t, true, func(o *Options) { o.MaxSheetRows = 4; o.AccessRows = 5 })
	f := openXLSX(t, filepath.Join(dir, "report.xlsx"))
	sheets := f.GetSheetList()
	for _, s := range []string{"Findings", "Findings (2)", "Findings (3)"} {
		if !slices.Contains(sheets, s) {
			t.Errorf("no sheet %q in %q", s, sheets)
		}
	}
	var got []string
	for _, s := range []string{"Findings", "Findings (2)", "Findings (3)"} {
		rows, _ := f.GetRows(s)
		if rows[0][0] != "Severity" {
			t.Errorf("%s has no header: %q", s, rows[0])
		}
		for _, r := range rows[1:] {
			got = append(got, r[22])
		}
		tables, _ := f.GetTables(s)
		if len(tables) != 1 {
			t.Errorf("%s: %d tables", s, len(tables))
		}
	}
	want := []string{"f-x1", "f-u0", "f-u1", "f-u2", "f-u3", "f-u4", "f-u5", "f-h1", "f-w1"}
	slices.Sort(got[1:7]) // same severity: ordered by user name, whose collation is DuckDB's
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings across split sheets (-want +got):\n%s", diff)
	}
	var acc SectionStats
	for _, st := range res.Sections {
		if st.Key == "access-by-user" {
			acc = st
		}
	}
	// 9 users x 2 workbooks; the projected allow is not current access.
	if !acc.Capped || acc.XLSXRows != 5 || acc.Rows != 18 {
		t.Errorf("access by user stats = %+v, want 5 of 18 rows, capped", acc)
	}
	rows1, _ := f.GetRows("Access by user")
	rows2, _ := f.GetRows("Access by user (2)")
	if len(rows1) != 5 || len(rows2) != 2 {
		t.Errorf("Access by user sheets have %d and %d rows, want header + 4 and header + 1", len(rows1), len(rows2))
	}
	where := findRow(t, f, "Summary", acc.Title)
	if !strings.Contains(where[len(where)-1], "CAPPED: the workbook shows the first 5 of 18 rows; all rows are in report-access-by-user.csv") {
		t.Errorf("Summary line for access by user = %q", where)
	}
	fr := findRow(t, f, "Summary", "Findings (one row per finding)")
	if !strings.Contains(fr[len(fr)-1], "split over 3 sheets") {
		t.Errorf("Summary line for findings = %q", fr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report-access-by-user.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != 19 {
		t.Errorf("CSV has %d lines, want all 18 rows + header", n)
	}
}

func TestNoCheckRun(t *testing.T) {
	res, dir := writeReport(t, false, nil)
	f := openXLSX(t, filepath.Join(dir, "report.xlsx"))
	if got := findRow(t, f, "Summary", "Policy"); got[1] != "No policy check was run on this snapshot." {
		t.Errorf("Policy line = %q", got)
	}
	if v, _ := f.GetCellValue("Findings", "A1"); v != "No policy check was run on this snapshot." {
		t.Errorf("Findings A1 = %q", v)
	}
	if res.Check != nil || res.Findings != 0 {
		t.Errorf("result = %+v", res)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "No policy check was run on this snapshot") {
		t.Errorf("markdown does not say no check was run:\n%s", md)
	}
	js, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	doc := validateFindingsJSON(t, js)
	if doc["policy"].(map[string]any)["checked"] != false || len(doc["findings"].([]any)) != 0 {
		t.Errorf("json policy/findings = %v / %v", doc["policy"], doc["findings"])
	}
}

func TestIncompleteVerdict(t *testing.T) {
	db := openDB(t)
	buildFixture(t, db, false)
	execAll(t, db, `UPDATE snapshot_info SET complete = false, allowed_incomplete = true, manifest_json = `+sqlString(manifestJSON(t, false)))
	dir := t.TempDir()
	_, err := Write(context.Background(), db, Options{Out: filepath.Join(dir, "r.xlsx"), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, filepath.Join(dir, "r.xlsx"))
	want := "INCOMPLETE: this snapshot is missing data, so access and findings may be understated. 1 request(s) failed after every retry. Tables not read in full: permission_rules. Reasons: 1 request failed. It was loaded with --allow-incomplete."
	if got := findRow(t, f, "Summary", "Manifest verdict"); got[1] != want {
		t.Errorf("verdict = %q\nwant %q", got[1], want)
	}
	if got := findRow(t, f, "Provenance", "Failed request"); !strings.Contains(got[1], "permissions of workbook w1") {
		t.Errorf("Provenance failed request = %q", got)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestFormulaInjection(t *testing.T) {
	_, dir := writeReport(t, true, nil)
	xlsx := filepath.Join(dir, "report.xlsx")
	// No cell of any sheet holds a formula, in the parsed workbook or the XML.
	f := openXLSX(t, xlsx)
	seen := map[string]bool{}
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if formula, _ := f.GetCellFormula(sheet, cell); formula != "" {
					t.Errorf("%s!%s holds formula %q", sheet, cell, formula)
				}
				for _, h := range hostile {
					if v == h {
						seen[h] = true
						if typ, _ := f.GetCellType(sheet, cell); typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
							t.Errorf("%s!%s %q has cell type %v, want a string", sheet, cell, v, typ)
						}
					}
				}
			}
		}
	}
	for _, h := range hostile {
		if !seen[h] {
			t.Errorf("the workbook does not show %q exactly", h)
		}
	}
	zr, err := zip.OpenReader(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") {
			continue
		}
		rc, _ := zf.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(b, []byte("<f>")) || bytes.Contains(b, []byte("<f ")) {
			t.Errorf("%s contains a formula element", zf.Name)
		}
	}
	// CSV: no field a spreadsheet would evaluate; hostile names appear guarded.
	csvs, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(csvs) < 10 {
		t.Fatalf("only %d CSV files: %q", len(csvs), csvs)
	}
	guarded := map[string]bool{}
	for _, p := range csvs {
		for _, rec := range readCSV(t, p) {
			for _, field := range rec {
				if NeedsGuard(field) {
					t.Errorf("%s: field %q would be evaluated", filepath.Base(p), field)
				}
				for _, h := range hostile {
					if field == "'"+h {
						guarded[h] = true
					}
				}
			}
		}
	}
	for _, h := range hostile {
		if !guarded[h] {
			t.Errorf("no CSV shows %q guarded", h)
		}
	}
	// Markdown: no line of a table cell starts a formula, pipes escaped.
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, line := range strings.Split(string(md), "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "| --- |") || strings.HasPrefix(line, "| --- ") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := splitMDRow(line)
		for _, c := range cells {
			if NeedsGuard(strings.TrimSpace(c)) {
				t.Errorf("markdown cell %q would be evaluated", c)
			}
		}
	}
}

// splitMDRow splits a Markdown table row on unescaped pipes.
func splitMDRow(line string) []string {
	var out []string
	var cur strings.Builder
	esc := false
	for _, r := range strings.Trim(line, "|") {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\':
			esc = true
			cur.WriteRune(r)
		case r == '|':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, cur.String())
}

func TestSafeText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Finance", "Finance"},
		{"=1+1", "'=1+1"},
		{"+cmd", "'+cmd"},
		{"-1+1", "'-1+1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"\nx", "'\nx"},
		{"＝1+1", "'＝1+1"},
		{"a=b", "a=b"},
		{"'quoted", "'quoted"},
	} {
		if got := SafeText(tc.in); got != tc.want {
			t.Errorf("SafeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestXLSXTextCut(t *testing.T) {
	long := strings.Repeat("é", maxCellChars+10)
	got := xlsxText(long)
	if utf16Len(got) > maxCellChars {
		t.Fatalf("cut value has %d UTF-16 units", utf16Len(got))
	}
	if !strings.HasSuffix(got, "[cut: 32777 characters in total; the CSV and JSON hold the whole value]") {
		t.Errorf("cut value ends %q", got[len(got)-80:])
	}
	if s := strings.Repeat("x", maxCellChars); xlsxText(s) != s {
		t.Error("a value that fits was changed")
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Without CSV, a capped section reads only the rows the workbook shows, and
// still states the total.
func TestCapWithoutCSV(t *testing.T) {
	res, dir := writeReport(t, true, func(o *Options) { o.Formats = []string{"xlsx"}; o.AccessRows = 5 })
	var acc SectionStats
	for _, st := range res.Sections {
		if st.Key == "access-by-user" {
			acc = st
		}
	}
	if !acc.Capped || acc.XLSXRows != 5 || acc.Rows != 18 || acc.CSVFile != "" {
		t.Errorf("access by user stats = %+v, want 5 of 18 rows, capped, no CSV", acc)
	}
	f := openXLSX(t, filepath.Join(dir, "report.xlsx"))
	where := findRow(t, f, "Summary", acc.Title)
	if want := "CAPPED: the workbook shows the first 5 of 18 rows; write the report with --format csv to get all rows"; !strings.Contains(where[len(where)-1], want) {
		t.Errorf("Summary line = %q, want it to contain %q", where, want)
	}
	rows, _ := f.GetRows("Access by user")
	if len(rows) != 6 || rows[1][0] != rows[2][0] {
		t.Errorf("Access by user rows = %q", rows)
	}
}

// Past the user × item budget Access by user covers the first users, and
// says so; Access by content still covers everything.
func TestAccessPairBudget(t *testing.T) {
	res, dir := writeReport(t, true, func(o *Options) { o.AccessPairs = 20 })
	f := openXLSX(t, filepath.Join(dir, "report.xlsx"))
	rows, _ := f.GetRows("Access by user")
	users := map[string]bool{}
	for _, r := range rows[1:] {
		users[r[7]] = true
	}
	// The first 2 users by name: the names starting with a tab and a CR.
	if len(users) != 2 || !users["u4"] || !users["u5"] {
		t.Errorf("Access by user covers %v, want the first 2 users by name (20 pairs / 7 items)", users)
	}
	// Access by content counts users without expanding them: the budget
	// does not apply, every item with an allow is there.
	items := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(dir, "report-access-by-content.csv"))[1:] {
		items[r[6]] = true
	}
	if len(items) != 2 || !items["w0"] || !items["w1"] {
		t.Errorf("Access by content covers %v, want every item with an allow (w0, w1)", items)
	}
	for _, st := range res.Sections {
		if st.Key == "access-by-user" && !strings.HasPrefix(st.Note, "COVERS the first 2 of 9 users by name (a budget of 20 user × item pairs") {
			t.Errorf("note = %q", st.Note)
		}
	}
	where := findRow(t, f, "Summary", "Access by content (one row per item and capability: users allowed, and why)")
	if strings.Contains(where[len(where)-1], "COVERS") {
		t.Errorf("Summary line = %q, want no coverage note on Access by content", where)
	}
}

// Findings past --finding-rows stay out of the workbook, the most severe
// first in it; the Summary says so and CSV and JSON hold every one.
func TestFindingsCap(t *testing.T) {
	var sheets [][][]string
	for _, formats := range [][]string{{"xlsx"}, {"xlsx", "csv", "json"}} {
		res, dir := writeReport(t, true, func(o *Options) { o.Formats = formats; o.FindingRows = 3 })
		var st SectionStats
		for _, s := range res.Sections {
			if s.Key == "findings" {
				st = s
			}
		}
		if !st.Capped || st.XLSXRows != 3 || st.Rows != 9 {
			t.Errorf("%v: findings stats = %+v, want 3 of 9 rows, capped", formats, st)
		}
		f := openXLSX(t, filepath.Join(dir, "report.xlsx"))
		rows, _ := f.GetRows("Findings")
		sheets = append(sheets, rows)
		if len(rows) != 4 || rows[1][22] != "f-x1" {
			t.Errorf("%v: Findings sheet = %d rows, first %q; want header + 3, the critical one first", formats, len(rows), rows[1])
		}
		where := findRow(t, f, "Summary", st.Title)
		want := "CAPPED: the workbook shows the first 3 of 9 rows; write the report with --format csv to get all rows"
		if len(formats) > 1 {
			want = "CAPPED: the workbook shows the first 3 of 9 rows; all rows are in report-findings.csv"
			b, err := os.ReadFile(filepath.Join(dir, "report-findings.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(b, []byte("\n")); n != 10 {
				t.Errorf("findings CSV has %d lines, want 9 rows + header", n)
			}
		}
		if !strings.Contains(where[len(where)-1], want) {
			t.Errorf("%v: Summary line = %q, want it to contain %q", formats, where, want)
		}
	}
	// Read capped (counted per prefix, only the first prefixes sorted) or
	// whole, the workbook shows the same first rows.
	if diff := cmp.Diff(sheets[1], sheets[0]); diff != "" {
		t.Errorf("capped read differs from the whole read (-whole +capped):\n%s", diff)
	}
}

// The report's folder is created before any work; one that cannot be
// written fails at once, naming it.
func TestOutFolder(t *testing.T) {
	res, dir := writeReport(t, true, func(o *Options) { o.Out = filepath.Join(filepath.Dir(o.Out), "q4", "audit", "report.xlsx") })
	if _, err := os.Stat(filepath.Join(dir, "q4", "audit", "report.xlsx")); err != nil || len(res.Files) == 0 {
		t.Errorf("report in a new folder: %v (files %v)", err, res.Files)
	}
	db := openDB(t)
	buildFixture(t, db, true)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Write(context.Background(), db, Options{Out: filepath.Join(blocker, "report.xlsx"), Now: fixedNow})
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("report under a file: err = %v, want one naming %s", err, blocker)
	}
}

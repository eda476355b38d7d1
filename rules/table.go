package rules

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// The tabular forms (CSV, xlsx) carry the same fields as YAML, one rule per
// row. Several rows may share an id to list more grantees; on such rows the
// other cells are either empty or equal to the first row's.
var (
	ruleColumns   = []string{"id", "description", "project", "types", "name", "tag", "owner", "upstream_table", "upstream_database", "groups", "users", "site_roles", "allow", "forbid", "exclusive", "include_admins", "severity"}
	waiverColumns = []string{"id", "rule", "user", "capability", "until", "reason", "owner"}
	hygieneCols   = []string{"check", "enabled", "severity", "days", "max"}
)

// columnAliases maps accepted header spellings to the canonical column.
var columnAliases = map[string]string{
	"projects": "project", "type": "types", "names": "name", "tags": "tag", "owners": "owner",
	"upstream_tables": "upstream_table", "upstream_databases": "upstream_database",
	"group": "groups", "user": "users", "site_role": "site_roles",
}

// sheetRow is one data row of a table with its position.
type sheetRow struct {
	pos   Pos
	cells map[string]string
}

// table is a parsed sheet: canonical column names and rows.
type table struct {
	rows []sheetRow
}

func readTable(d *diags, file, sheet string, records [][]string, lines []int, allowed []string) table {
	var t table
	if len(records) == 0 {
		return t
	}
	header := make([]string, len(records[0]))
	for i, h := range records[0] {
		h = strings.ToLower(strings.TrimSpace(strings.ReplaceAll(strings.TrimSpace(h), " ", "_")))
		if a, ok := columnAliases[h]; ok && slices.Contains(allowed, a) {
			h = a
		}
		if h != "" && !slices.Contains(allowed, h) {
			d.errorf(Pos{File: file, Sheet: sheet, Line: lines[0]}, CodeUnknownField, "columns: "+strings.Join(allowed, ", "), "unknown column %q", records[0][i])
			h = ""
		}
		header[i] = h
	}
	for ri, rec := range records[1:] {
		row := sheetRow{pos: Pos{File: file, Sheet: sheet, Line: lines[ri+1]}, cells: map[string]string{}}
		empty := true
		for i, v := range rec {
			v = strings.TrimSpace(v)
			if i < len(header) && header[i] != "" && v != "" {
				row.cells[header[i]] = v
				empty = false
			}
		}
		if !empty {
			t.rows = append(t.rows, row)
		}
	}
	return t
}

// splitNames splits a cell of names or globs on ';' and newlines (names and
// globs may contain commas: "{a,b}").
func splitNames(s string) []string {
	return splitOn(s, func(r rune) bool { return r == ';' || r == '\n' })
}

// splitWords splits a cell of types, capabilities or roles, which never
// contain commas, on ';', ',' and newlines.
func splitWords(s string) []string {
	return splitOn(s, func(r rune) bool { return r == ';' || r == ',' || r == '\n' })
}

func splitOn(s string, f func(rune) bool) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, f) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// buildTabular turns the sheets of a tabular matrix into a Matrix.
func buildTabular(d *diags, m *Matrix, rules, waivers, hygiene table) {
	byID := map[string]*Rule{}
	first := map[string]map[string]string{}
	for _, row := range rules.rows {
		c := row.cells
		id := c["id"]
		if id == "" {
			d.errorf(row.pos, CodeMissingField, "every row names the rule it belongs to", "row has no id")
			continue
		}
		r := byID[id]
		if r == nil {
			r = &Rule{ID: id, Pos: row.pos, Description: c["description"], Severity: c["severity"]}
			setScope(&r.Scope, "project", splitNames(c["project"]))
			setScope(&r.Scope, "types", splitWords(c["types"]))
			setScope(&r.Scope, "name", splitNames(c["name"]))
			setScope(&r.Scope, "tag", splitNames(c["tag"]))
			setScope(&r.Scope, "owner", splitNames(c["owner"]))
			setScope(&r.Scope, "upstream_table", splitNames(c["upstream_table"]))
			setScope(&r.Scope, "upstream_database", splitNames(c["upstream_database"]))
			r.Allow = splitWords(c["allow"])
			r.Forbid = splitWords(c["forbid"])
			for _, f := range []struct {
				col string
				dst *bool
			}{{"exclusive", &r.Exclusive}, {"include_admins", &r.IncludeAdmins}} {
				b, err := parseBool(c[f.col])
				if err != nil {
					d.errorf(row.pos, CodeBadValue, "want true or false", "%s: %v", f.col, err)
				}
				*f.dst = b
			}
			byID[id] = r
			first[id] = c
			m.Rules = append(m.Rules, r)
		} else {
			for _, col := range ruleColumns {
				if col == "id" || col == "groups" || col == "users" || col == "site_roles" {
					continue
				}
				if v := c[col]; v != "" && !sameCell(col, v, first[id][col]) {
					d.errorf(row.pos, CodeDuplicateID, "rows sharing an id may only add grantees; leave the other cells empty",
						"rows for rule %q disagree on %s: %q here, %q at %s", id, col, v, first[id][col], r.Pos)
				}
			}
		}
		for _, g := range []struct{ col, kind string }{{"groups", "group"}, {"users", "user"}, {"site_roles", "site_role"}} {
			split := splitNames
			if g.kind == "site_role" {
				split = splitWords
			}
			for _, name := range split(c[g.col]) {
				r.Grantees = append(r.Grantees, Grantee{Kind: g.kind, Name: name, Pos: row.pos})
			}
		}
	}
	for _, row := range waivers.rows {
		c := row.cells
		w := &Waiver{Pos: row.pos, ID: c["id"], Rule: c["rule"], User: c["user"], Capability: c["capability"], Reason: c["reason"], Owner: c["owner"]}
		until := c["until"]
		if n, err := strconv.ParseFloat(until, 64); err == nil && n > 1000 {
			// An xlsx date cell read raw is an Excel serial day number.
			if t, err := excelize.ExcelDateToTime(n, false); err == nil {
				until = t.Format("2006-01-02")
			}
		}
		w.Until = parseUntil(d, row.pos, until)
		m.Waivers = append(m.Waivers, w)
	}
	for _, row := range hygiene.rows {
		name := row.cells["check"]
		if name == "" {
			d.errorf(row.pos, CodeMissingField, "", "hygiene row has no check name")
			continue
		}
		h := &HygieneSetting{Pos: row.pos}
		for _, col := range hygieneCols[1:] {
			setHygieneField(d, h, col, row.cells[col], row.pos)
		}
		m.Hygiene[name] = h
	}
}

func sameCell(col, a, b string) bool {
	split := splitNames
	switch col {
	case "types", "allow", "forbid":
		split = splitWords
	case "exclusive", "include_admins":
		x, e1 := parseBool(a)
		y, e2 := parseBool(b)
		return e1 == nil && e2 == nil && x == y
	case "description", "severity":
		return a == b
	}
	return slices.Equal(split(a), split(b))
}

func loadCSV(path string) (*Matrix, error) {
	d := &diags{}
	data, ok, err := readOptional(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("reading matrix: %s does not exist", path)
	}
	base := strings.TrimSuffix(path, filepath.Ext(path))
	wpath, hpath := base+".waivers.csv", base+".hygiene.csv"
	wdata, _, err := readOptional(wpath)
	if err != nil {
		return nil, err
	}
	hdata, _, err := readOptional(hpath)
	if err != nil {
		return nil, err
	}
	m := &Matrix{Version: 1, File: path, SHA256: digest(data, wdata, hdata), Hygiene: map[string]*HygieneSetting{},
		Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))}
	rules := csvTable(d, path, data, ruleColumns)
	waivers := csvTable(d, wpath, wdata, waiverColumns)
	hygiene := csvTable(d, hpath, hdata, hygieneCols)
	buildTabular(d, m, rules, waivers, hygiene)
	return finish(m, d)
}

func csvTable(d *diags, file string, data []byte, cols []string) table {
	if len(data) == 0 {
		return table{}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	var recs [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			d.errorf(Pos{File: file, Line: line}, CodeSyntax, "", "invalid CSV: %v", err)
			return table{}
		}
		line, _ := r.FieldPos(0)
		recs = append(recs, rec)
		lines = append(lines, line)
	}
	return readTable(d, file, "", recs, lines, cols)
}

func loadXLSX(path string) (*Matrix, error) {
	d := &diags{}
	data, ok, err := readOptional(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("reading matrix: %s does not exist", path)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		d.errorf(Pos{File: path}, CodeSyntax, "", "not a readable xlsx workbook: %v", err)
		return nil, d.list
	}
	defer f.Close()
	m := &Matrix{Version: 1, File: path, SHA256: digest(data), Hygiene: map[string]*HygieneSetting{},
		Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))}
	sheets := f.GetSheetList()
	find := func(name string) string {
		for _, s := range sheets {
			if strings.EqualFold(s, name) {
				return s
			}
		}
		return ""
	}
	read := func(sheet string, cols []string) table {
		if sheet == "" {
			return table{}
		}
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			d.errorf(Pos{File: path, Sheet: sheet}, CodeSyntax, "", "reading sheet: %v", err)
			return table{}
		}
		lines := make([]int, len(rows))
		for i := range rows {
			lines[i] = i + 1
		}
		return readTable(d, path, sheet, rows, lines, cols)
	}
	rulesSheet := find("Rules")
	if rulesSheet == "" && len(sheets) > 0 {
		rulesSheet = sheets[0]
	}
	for _, s := range sheets {
		if s != rulesSheet && !strings.EqualFold(s, "Waivers") && !strings.EqualFold(s, "Hygiene") && !strings.EqualFold(s, "README") {
			d.errorf(Pos{File: path, Sheet: s}, CodeUnknownField, "sheets: Rules, Waivers, Hygiene, README", "unknown sheet %q", s)
		}
	}
	buildTabular(d, m, read(rulesSheet, ruleColumns), read(find("Waivers"), waiverColumns), read(find("Hygiene"), hygieneCols))
	return finish(m, d)
}

// ruleRows renders a rule as tabular rows: the first carries every field
// and the first grantee; the others one grantee each.
func ruleRows(r *Rule) [][]string {
	join := func(v []string) string { return strings.Join(v, ";") }
	first := map[string]string{
		"id": r.ID, "description": r.Description, "project": join(r.Scope.Projects), "types": join(r.Scope.Types),
		"name": join(r.Scope.Names), "tag": join(r.Scope.Tags), "owner": join(r.Scope.Owners),
		"upstream_table": join(r.Scope.UpstreamTables), "upstream_database": join(r.Scope.UpstreamDatabases),
		"allow": join(r.Allow), "forbid": join(r.Forbid), "severity": r.Severity,
	}
	if r.Exclusive {
		first["exclusive"] = "true"
	}
	if r.IncludeAdmins {
		first["include_admins"] = "true"
	}
	var rows []map[string]string
	rows = append(rows, first)
	for i, g := range r.Grantees {
		cell := map[string]string{"group": "groups", "user": "users", "site_role": "site_roles"}[g.Kind]
		if i == 0 {
			first[cell] = g.Name
			continue
		}
		rows = append(rows, map[string]string{"id": r.ID, cell: g.Name})
	}
	out := make([][]string, len(rows))
	for i, row := range rows {
		rec := make([]string, len(ruleColumns))
		for j, c := range ruleColumns {
			rec[j] = row[c]
		}
		out[i] = rec
	}
	return out
}

func waiverRow(w *Waiver) []string {
	return []string{w.ID, w.Rule, w.User, w.Capability, w.Until.Format(time.DateOnly), w.Reason, w.Owner}
}

func hygieneRow(name string, h *HygieneSetting) []string {
	rec := []string{name, "", h.Severity, "", ""}
	if h.Enabled != nil {
		rec[1] = strconv.FormatBool(*h.Enabled)
	}
	if h.Days > 0 {
		rec[3] = strconv.Itoa(h.Days)
	}
	if h.Max > 0 {
		rec[4] = strconv.Itoa(h.Max)
	}
	return rec
}

// WriteCSV writes m in the CSV form: the rules to w, and waivers and
// hygiene settings to the writers given (nil skips them). Load reads the
// waivers from NAME.waivers.csv and hygiene from NAME.hygiene.csv.
func WriteCSV(m *Matrix, rules, waivers, hygiene io.Writer) error {
	cw := csv.NewWriter(rules)
	cw.Write(ruleColumns)
	for _, r := range m.Rules {
		cw.WriteAll(ruleRows(r))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing rules CSV: %w", err)
	}
	if waivers != nil && len(m.Waivers) > 0 {
		cw := csv.NewWriter(waivers)
		cw.Write(waiverColumns)
		for _, w := range m.Waivers {
			cw.Write(waiverRow(w))
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("writing waivers CSV: %w", err)
		}
	}
	if hygiene != nil && len(m.Hygiene) > 0 {
		cw := csv.NewWriter(hygiene)
		cw.Write(hygieneCols)
		for _, name := range keys(m.Hygiene) {
			cw.Write(hygieneRow(name, m.Hygiene[name]))
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("writing hygiene CSV: %w", err)
		}
	}
	return nil
}

// WriteXLSX writes m as an xlsx workbook with sheets Rules, Waivers and
// Hygiene. Every cell is a text cell, so nothing in a name can become a
// formula.
func WriteXLSX(m *Matrix, w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	write := func(sheet string, header []string, rows [][]string) error {
		if sheet == "Rules" {
			if err := f.SetSheetName("Sheet1", sheet); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(sheet); err != nil {
			return err
		}
		for i, rec := range append([][]string{header}, rows...) {
			for j, v := range rec {
				if v == "" {
					continue
				}
				cell, err := excelize.CoordinatesToCellName(j+1, i+1)
				if err != nil {
					return err
				}
				if err := f.SetCellStr(sheet, cell, v); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var rules, waivers, hyg [][]string
	for _, r := range m.Rules {
		rules = append(rules, ruleRows(r)...)
	}
	for _, wv := range m.Waivers {
		waivers = append(waivers, waiverRow(wv))
	}
	for _, name := range keys(m.Hygiene) {
		hyg = append(hyg, hygieneRow(name, m.Hygiene[name]))
	}
	if err := write("Rules", ruleColumns, rules); err != nil {
		return fmt.Errorf("writing xlsx matrix: %w", err)
	}
	if err := write("Waivers", waiverColumns, waivers); err != nil {
		return fmt.Errorf("writing xlsx matrix: %w", err)
	}
	if err := write("Hygiene", hygieneCols, hyg); err != nil {
		return fmt.Errorf("writing xlsx matrix: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("writing xlsx matrix: %w", err)
	}
	return nil
}

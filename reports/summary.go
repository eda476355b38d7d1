package reports

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

type count struct {
	Label string
	N     int64
}

type ruleCount struct {
	Rule  string
	BySev map[string]int64
	Total int64
}

type cause struct {
	Severity, Description, Grantee string
	Items, Users, Findings         int64
}

// summary is what the Summary sheet and the Markdown state.
type summary struct {
	counts    []count
	findings  int64
	byRule    []ruleCount
	bySev     map[string]map[string]int64 // severity → status → n
	statuses  []string
	causes    []cause
	hasChecks bool
}

var contentLabels = []struct{ typ, label string }{
	{"project", "Projects"}, {"workbook", "Workbooks"}, {"view", "Views"}, {"datasource", "Published data sources"},
	{"flow", "Flows"}, {"virtualconnection", "Virtual connections"}, {"database", "Databases"}, {"table", "Tables"},
}

func scalar(ctx context.Context, db *sql.DB, what, q string) (int64, error) {
	var n sql.NullInt64
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting %s: %w", what, err)
	}
	return n.Int64, nil
}

func loadSummary(ctx context.Context, db *sql.DB, cat catalog) (*summary, error) {
	s := &summary{bySev: map[string]map[string]int64{}}
	for _, t := range []struct{ rel, label string }{{"users", "Users"}, {"groups", "Groups"}} {
		if !cat.has(t.rel) {
			continue
		}
		n, err := scalar(ctx, db, t.rel, "SELECT count(*) FROM "+t.rel)
		if err != nil {
			return nil, err
		}
		s.counts = append(s.counts, count{t.label, n})
	}
	if cat.has("content") {
		byType := map[string]int64{}
		rs, err := db.QueryContext(ctx, `SELECT content_type, count(*) FROM content GROUP BY content_type`)
		if err != nil {
			return nil, fmt.Errorf("counting content: %w", err)
		}
		for rs.Next() {
			var t string
			var n int64
			if err := rs.Scan(&t, &n); err != nil {
				rs.Close()
				return nil, fmt.Errorf("counting content: %w", err)
			}
			byType[t] = n
		}
		if err := rs.Close(); err != nil {
			return nil, err
		}
		if err := rs.Err(); err != nil {
			return nil, fmt.Errorf("counting content: %w", err)
		}
		for _, l := range contentLabels {
			if n, ok := byType[l.typ]; ok || l.typ == "project" || l.typ == "workbook" || l.typ == "view" || l.typ == "datasource" || l.typ == "flow" {
				s.counts = append(s.counts, count{l.label, n})
				delete(byType, l.typ)
			}
		}
		for t, n := range byType { // types this report does not know yet: shown, not dropped
			s.counts = append(s.counts, count{t, n})
		}
	}
	if !cat.has("findings") {
		return s, nil
	}
	s.hasChecks = true
	n, err := scalar(ctx, db, "findings", "SELECT count(*) FROM findings")
	if err != nil {
		return nil, err
	}
	s.findings = n
	ruleExpr := "coalesce(" + strings.Join(existing(cat, "findings", "rule_id", "check_id", "kind"), ", ") + ", '(none)')"
	if ruleExpr == "coalesce(, '(none)')" {
		ruleExpr = "'(none)'"
	}
	sevExpr, statusExpr := "'info'", "'violation'"
	if cat.hasColumn("findings", "severity") {
		sevExpr = "lower(coalesce(severity, ''))"
	}
	if cat.hasColumn("findings", "status") {
		statusExpr = "coalesce(status, '')"
	}
	rs, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT %s AS rule, %s AS sev, %s AS status, count(*) FROM findings GROUP BY ALL ORDER BY 1, 2, 3`,
		ruleExpr, sevExpr, statusExpr))
	if err != nil {
		return nil, fmt.Errorf("counting findings by rule: %w", err)
	}
	defer rs.Close()
	idx := map[string]int{}
	for rs.Next() {
		var rule, sev, status string
		var n int64
		if err := rs.Scan(&rule, &sev, &status, &n); err != nil {
			return nil, fmt.Errorf("counting findings by rule: %w", err)
		}
		i, ok := idx[rule]
		if !ok {
			i = len(s.byRule)
			idx[rule] = i
			s.byRule = append(s.byRule, ruleCount{Rule: rule, BySev: map[string]int64{}})
		}
		s.byRule[i].BySev[sev] += n
		s.byRule[i].Total += n
		if s.bySev[sev] == nil {
			s.bySev[sev] = map[string]int64{}
		}
		s.bySev[sev][status] += n
		if !contains(s.statuses, status) {
			s.statuses = append(s.statuses, status)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("counting findings by rule: %w", err)
	}
	if cat.has("finding_causes") {
		col := func(c, typ string) string {
			if cat.hasColumn("finding_causes", c) {
				return "CAST(" + c + " AS " + typ + ")"
			}
			return "NULL::" + typ
		}
		q := fmt.Sprintf(`SELECT coalesce(%s, ''), coalesce(%s, ''), coalesce(%s, ''), coalesce(%s, 0), coalesce(%s, 0), coalesce(%s, 0)
			FROM finding_causes ORDER BY 6 DESC, 5 DESC, 2 LIMIT 10`,
			col("severity", "VARCHAR"), col("description", "VARCHAR"), col("grantee", "VARCHAR"),
			col("item_count", "BIGINT"), col("user_count", "BIGINT"), col("finding_count", "BIGINT"))
		crs, err := db.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("reading top causes: %w", err)
		}
		defer crs.Close()
		for crs.Next() {
			var c cause
			if err := crs.Scan(&c.Severity, &c.Description, &c.Grantee, &c.Items, &c.Users, &c.Findings); err != nil {
				return nil, fmt.Errorf("reading top causes: %w", err)
			}
			s.causes = append(s.causes, c)
		}
		if err := crs.Err(); err != nil {
			return nil, fmt.Errorf("reading top causes: %w", err)
		}
	}
	return s, nil
}

func existing(cat catalog, rel string, cols ...string) []string {
	var out []string
	for _, c := range cols {
		if cat.hasColumn(rel, c) {
			out = append(out, c)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// severities lists the known severities, then any others the findings use.
func (s *summary) severities() []string {
	out := append([]string(nil), Severities...)
	for sev := range s.bySev {
		if !contains(out, sev) {
			out = append(out, sev)
		}
	}
	return out
}

// kv is one line of a key/value sheet.
type kv struct{ Key, Value string }

func (r *reportRun) policyLine() string {
	c := r.res.Check
	if c == nil {
		if r.cat.has("findings") {
			return "Findings are present but no check run is recorded (check_runs is missing or empty)."
		}
		return "No policy check was run on this snapshot."
	}
	return fmt.Sprintf("%s — %s (sha256 %s), checked %s", c.MatrixName, c.MatrixFile, c.MatrixSHA256, c.StartedAt)
}

func (r *reportRun) siteLine() string {
	s := r.res.Snapshot
	site := s.SiteName
	if s.SiteContentURL != "" {
		site += " (" + s.SiteContentURL + ")"
	} else if s.ID != "" {
		site += " (Default site)"
	}
	return site
}

func (r *reportRun) provenance() []kv {
	s := r.res.Snapshot
	out := []kv{
		{"Report written", timeText(r.opts.Now())},
		{"tabaudit version", r.opts.ToolVersion},
		{"Command line", r.opts.CommandLine},
		{"Snapshot", s.ID},
		{"Snapshots in the database", strconv.Itoa(s.Loaded)},
		{"Site", r.siteLine()},
		{"Server", s.ServerURL},
		{"Extraction started", s.StartedAt},
		{"Extraction finished", s.FinishedAt},
		{"Manifest verdict", s.Verdict},
		{"Loaded with --allow-incomplete", strconv.FormatBool(s.AllowedIncomplete)},
		{"Extracted by tabaudit", s.ToolVersion},
		{"Permission spec version", s.SpecVersion},
		{"Ceiling table version", s.CeilingVersion},
		{"Model engine version", s.EngineVersion},
		{"Policy", r.policyLine()},
	}
	if c := r.res.Check; c != nil {
		out = append(out, kv{"Check run", c.RunID}, kv{"Matrix name", c.MatrixName}, kv{"Matrix file", c.MatrixFile},
			kv{"Matrix sha256", c.MatrixSHA256}, kv{"Checked at", c.StartedAt}, kv{"Fail on", c.FailOn},
			kv{"Findings recorded by the check", strconv.FormatInt(c.Findings, 10)},
			kv{"Violations recorded by the check", strconv.FormatInt(c.Violations, 10)})
	}
	m := s.Manifest
	if m == nil {
		return append(out, kv{"Manifest", "not available in the model database"})
	}
	out = append(out,
		kv{"Manifest schema version", strconv.Itoa(m.SchemaVersion)},
		kv{"Product version", strings.TrimSpace(m.Product + " " + m.ProductBuild)},
		kv{"REST API version", m.RESTVersion},
		kv{"Site LUID", m.SiteID},
		kv{"Signed in as", fmt.Sprintf("%s (%s), %s", m.SignedInUserName, m.SignedInUser, m.SignedInRole)},
		kv{"Authentication", m.AuthMethod},
		kv{"TLS verification off (--insecure)", strconv.FormatBool(m.Insecure)},
		kv{"Requests", strconv.FormatInt(m.Requests, 10)},
		kv{"Retries", strconv.FormatInt(m.Retries, 10)},
		kv{"Throttled (429)", strconv.FormatInt(m.Throttled, 10)},
		kv{"Re-sign-ins", strconv.FormatInt(m.ReSignIns, 10)},
		kv{"Lineage", m.Lineage},
	)
	for _, n := range m.LineageNotes {
		out = append(out, kv{"Lineage note", n})
	}
	for _, w := range m.Warnings {
		out = append(out, kv{"Warning", w})
	}
	for _, reason := range m.Incomplete {
		out = append(out, kv{"Incomplete because", reason})
	}
	for _, f := range m.Failures {
		out = append(out, kv{"Failed request", fmt.Sprintf("%s %s (%s): HTTP %d %s %s", f.Method, f.Path, f.Entity, f.StatusCode, f.Code, f.Error)})
	}
	names := make([]string, 0, len(m.Tables))
	for n := range m.Tables {
		names = append(names, n)
	}
	sortStrings(names)
	for _, n := range names {
		t := m.Tables[n]
		total := "not announced"
		if t.TotalAvailable >= 0 {
			total = strconv.FormatInt(t.TotalAvailable, 10)
		}
		state := "complete"
		if !t.Complete {
			state = "INCOMPLETE"
		}
		out = append(out, kv{"Table " + n, fmt.Sprintf("%d rows, server announced %s, %d requests, %s", t.Rows, total, t.Requests, state)})
	}
	return out
}

func writeKVCSV(path string, rows []kv) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"key", "value"})
		for _, r := range rows {
			cw.Write([]string{SafeText(r.Key), SafeText(r.Value)})
		}
		cw.Flush()
		return cw.Error()
	})
}

// kvSheet writes a two-column sheet of key/value lines.
func (b *workbook) kvSheet(name string, rows []kv) error {
	if _, err := b.f.NewSheet(name); err != nil {
		return err
	}
	if err := b.f.SetColWidth(name, "A", "A", 36); err != nil {
		return err
	}
	if err := b.f.SetColWidth(name, "B", "B", 110); err != nil {
		return err
	}
	for i, r := range rows {
		if err := b.setText(name, 1, i+1, r.Key, b.bold); err != nil {
			return err
		}
		if err := b.setText(name, 2, i+1, r.Value, 0); err != nil {
			return err
		}
	}
	return nil
}

// setText writes a string cell (never a formula) with an optional style.
func (b *workbook) setText(sheet string, col, row int, s string, style int) error {
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		return err
	}
	if err := b.f.SetCellStr(sheet, cell, xlsxText(s)); err != nil {
		return err
	}
	if style != 0 {
		return b.f.SetCellStyle(sheet, cell, cell, style)
	}
	return nil
}

func (b *workbook) setInt(sheet string, col, row int, n int64) error {
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		return err
	}
	return b.f.SetCellInt(sheet, cell, n)
}

// writeSummary fills the first sheet: what was audited, how complete the
// data is, the counts, the findings by rule and severity with a chart, the
// top causes, and where every section went.
func (r *reportRun) writeSummary() error {
	b, sh := r.book, "Summary"
	for col, w := range map[string]float64{"A": 34, "B": 16, "C": 12, "D": 12, "E": 12, "F": 12, "G": 12, "H": 40} {
		if err := b.f.SetColWidth(sh, col, col, w); err != nil {
			return err
		}
	}
	row := 1
	text := func(col int, s string, style int) error { return b.setText(sh, col, row, s, style) }
	if err := text(1, "Tableau access audit — "+r.siteLine(), b.title); err != nil {
		return err
	}
	row += 2
	s := r.res.Snapshot
	for _, l := range []kv{
		{"Site", r.siteLine()}, {"Server", s.ServerURL}, {"Snapshot", s.ID},
		{"Snapshot taken", strings.TrimSpace(s.StartedAt + " to " + s.FinishedAt)},
		{"Manifest verdict", s.Verdict}, {"Policy", r.policyLine()},
		{"Report written", timeText(r.opts.Now()) + " by tabaudit " + r.opts.ToolVersion},
	} {
		if err := text(1, l.Key, b.bold); err != nil {
			return err
		}
		if err := text(2, l.Value, 0); err != nil {
			return err
		}
		row++
	}
	if s.Loaded > 1 {
		if err := text(2, fmt.Sprintf("The database holds %d snapshots; this report describes %s.", s.Loaded, s.ID), 0); err != nil {
			return err
		}
		row++
	}
	row++
	if err := text(1, "Counts", b.bold); err != nil {
		return err
	}
	row++
	for _, c := range r.sum.counts {
		if err := text(1, c.Label, 0); err != nil {
			return err
		}
		if err := b.setInt(sh, 2, row, c.N); err != nil {
			return err
		}
		row++
	}
	row++
	if err := r.summaryFindings(&row); err != nil {
		return err
	}
	row++
	if err := text(1, "Sheets and files", b.bold); err != nil {
		return err
	}
	row++
	for i, h := range []string{"Section", "Rows", "In workbook", "Where"} {
		if err := b.setText(sh, []int{1, 2, 3, 8}[i], row, h, b.header); err != nil {
			return err
		}
	}
	row++
	for _, st := range r.res.Sections {
		if err := text(1, st.Title, 0); err != nil {
			return err
		}
		if st.Missing != "" {
			if err := text(8, st.Missing, 0); err != nil {
				return err
			}
			row++
			continue
		}
		if err := b.setInt(sh, 2, row, st.Rows); err != nil {
			return err
		}
		if err := b.setInt(sh, 3, row, st.XLSXRows); err != nil {
			return err
		}
		if err := text(8, sectionWhere(st, b.maxRows), 0); err != nil {
			return err
		}
		row++
	}
	return nil
}

// sectionWhere says where a section's rows are, and states any cut.
func sectionWhere(st SectionStats, perSheet int) string {
	var parts []string
	switch len(st.Sheets) {
	case 0:
	case 1:
		parts = append(parts, "sheet "+st.Sheets[0])
	default:
		parts = append(parts, fmt.Sprintf("split over %d sheets of at most %d rows: %s", len(st.Sheets), perSheet, strings.Join(st.Sheets, ", ")))
	}
	if st.Capped {
		msg := fmt.Sprintf("CAPPED: the workbook shows the first %d of %d rows", st.XLSXRows, st.Rows)
		if st.CSVFile != "" {
			msg += "; all rows are in " + filepath.Base(st.CSVFile)
		} else {
			msg += "; write the report with --format csv to get all rows"
		}
		parts = append(parts, msg)
	} else if st.CSVFile != "" {
		parts = append(parts, filepath.Base(st.CSVFile))
	}
	if st.Note != "" && (st.Capped || strings.HasPrefix(st.Note, "COVERS")) {
		parts = append(parts, st.Note)
	}
	return strings.Join(parts, "; ")
}

func (r *reportRun) summaryFindings(row *int) error {
	b, sh := r.book, "Summary"
	if !r.sum.hasChecks {
		if err := b.setText(sh, 1, *row, "Findings", b.bold); err != nil {
			return err
		}
		*row++
		if err := b.setText(sh, 1, *row, "No policy check was run on this snapshot: there are no findings to report. Run `tabaudit check` and write the report again.", 0); err != nil {
			return err
		}
		*row++
		return nil
	}
	sevs := r.sum.severities()
	if err := b.setText(sh, 1, *row, fmt.Sprintf("Findings by rule and severity (%d findings)", r.sum.findings), b.bold); err != nil {
		return err
	}
	*row++
	head := *row
	if err := b.setText(sh, 1, head, "Rule or check", b.header); err != nil {
		return err
	}
	for i, sev := range sevs {
		if err := b.setText(sh, 2+i, head, sev, b.header); err != nil {
			return err
		}
	}
	if err := b.setText(sh, 2+len(sevs), head, "total", b.header); err != nil {
		return err
	}
	*row++
	for _, rc := range r.sum.byRule {
		if err := b.setText(sh, 1, *row, rc.Rule, 0); err != nil {
			return err
		}
		for i, sev := range sevs {
			if err := b.setInt(sh, 2+i, *row, rc.BySev[sev]); err != nil {
				return err
			}
		}
		if err := b.setInt(sh, 2+len(sevs), *row, rc.Total); err != nil {
			return err
		}
		*row++
	}
	if len(r.sum.byRule) > 0 {
		if err := r.addChart(head, *row-1, sevs); err != nil {
			return err
		}
	} else {
		if err := b.setText(sh, 1, *row, "No findings: the site matches the policy.", 0); err != nil {
			return err
		}
		*row++
	}
	*row++
	if err := b.setText(sh, 1, *row, "Findings by severity and status", b.bold); err != nil {
		return err
	}
	*row++
	if err := b.setText(sh, 1, *row, "Severity", b.header); err != nil {
		return err
	}
	for i, st := range r.sum.statuses {
		if err := b.setText(sh, 2+i, *row, st, b.header); err != nil {
			return err
		}
	}
	*row++
	for _, sev := range sevs {
		if r.sum.bySev[sev] == nil {
			continue
		}
		if err := b.setText(sh, 1, *row, sev, b.severity[sev]); err != nil {
			return err
		}
		for i, st := range r.sum.statuses {
			if err := b.setInt(sh, 2+i, *row, r.sum.bySev[sev][st]); err != nil {
				return err
			}
		}
		*row++
	}
	if len(r.sum.causes) > 0 {
		*row++
		if err := b.setText(sh, 1, *row, "Top causes", b.bold); err != nil {
			return err
		}
		*row++
		for i, h := range []string{"Cause", "Severity", "Items", "Users", "Findings", "", "", "Grantee"} {
			if h != "" {
				if err := b.setText(sh, 1+i, *row, h, b.header); err != nil {
					return err
				}
			}
		}
		*row++
		for _, c := range r.sum.causes {
			if err := b.setText(sh, 1, *row, c.Description, 0); err != nil {
				return err
			}
			if err := b.setText(sh, 2, *row, c.Severity, b.severity[strings.ToLower(c.Severity)]); err != nil {
				return err
			}
			for i, n := range []int64{c.Items, c.Users, c.Findings} {
				if err := b.setInt(sh, 3+i, *row, n); err != nil {
					return err
				}
			}
			if err := b.setText(sh, 8, *row, c.Grantee, 0); err != nil {
				return err
			}
			*row++
		}
	}
	return nil
}

func (r *reportRun) addChart(head, last int, sevs []string) error {
	var series []excelize.ChartSeries
	for i, sev := range sevs {
		col, _ := excelize.ColumnNumberToName(2 + i)
		s := excelize.ChartSeries{
			Name:       fmt.Sprintf("Summary!$%s$%d", col, head),
			Categories: fmt.Sprintf("Summary!$A$%d:$A$%d", head+1, last),
			Values:     fmt.Sprintf("Summary!$%s$%d:$%s$%d", col, head+1, col, last),
		}
		if c, ok := severityFill[sev]; ok {
			s.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c[0]}}
		}
		series = append(series, s)
	}
	height := uint(max(260, 40+24*(last-head)))
	return r.book.f.AddChart("Summary", "J3", &excelize.Chart{
		Type:      excelize.BarStacked,
		Series:    series,
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Findings by rule and severity"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: 640, Height: height},
		Format:    excelize.GraphicOptions{AltText: "Findings by rule and severity"},
	})
}

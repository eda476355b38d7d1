package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// topSink keeps the first n rows of a section (findings arrive worst first).
type topSink struct {
	n    int
	cols []string
	rows [][]any
}

func (t *topSink) header(cols []string) error { t.cols = cols; return nil }

func (t *topSink) row(vals []any) error {
	if len(t.rows) < t.n {
		t.rows = append(t.rows, append([]any(nil), vals...))
	}
	return nil
}

func (t *topSink) close(*SectionStats) error { return nil }

func (t *topSink) get(row []any, col string) any {
	for i, c := range t.cols {
		if c == col {
			return row[i]
		}
	}
	return nil
}

// mdEscape makes a value safe in a Markdown table cell pasted into a ticket:
// the formula guard first, then Markdown's own syntax (pipes end cells,
// brackets make links, angle brackets make HTML), then line breaks.
func mdEscape(s string) string {
	s = SafeText(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '|', '`', '*', '_', '[', ']', '<', '>', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString("<br>")
		case '\r':
		case '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type mdWriter struct {
	w   *bufio.Writer
	err error
}

func (m *mdWriter) printf(format string, a ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, a...)
	}
}

func (m *mdWriter) table(head []string, rows [][]string) {
	m.printf("| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
	for _, r := range rows {
		m.printf("| %s |\n", strings.Join(r, " | "))
	}
	m.printf("\n")
}

// markdown writes the summary and the top findings, fit for a ticket.
func (r *reportRun) markdown(w io.Writer, top *topSink) error {
	m := &mdWriter{w: bufio.NewWriter(w)}
	s := r.res.Snapshot
	m.printf("# Tableau access audit — %s\n\n", mdEscape(r.siteLine()))
	m.table([]string{"Audit", ""}, [][]string{
		{"Snapshot", mdEscape(s.ID)},
		{"Server", mdEscape(s.ServerURL)},
		{"Snapshot taken", mdEscape(strings.TrimSpace(s.StartedAt + " to " + s.FinishedAt))},
		{"Manifest verdict", mdEscape(s.Verdict)},
		{"Policy", mdEscape(r.policyLine())},
		{"Report written", mdEscape(timeText(r.opts.Now()) + " by tabaudit " + r.opts.ToolVersion)},
	})
	if len(r.sum.counts) > 0 {
		m.printf("## Counts\n\n")
		var head, vals []string
		for _, c := range r.sum.counts {
			head = append(head, mdEscape(c.Label))
			vals = append(vals, fmt.Sprint(c.N))
		}
		m.table(head, [][]string{vals})
	}
	m.printf("## Findings\n\n")
	if !r.sum.hasChecks {
		m.printf("No policy check was run on this snapshot: there are no findings to report.\n")
		m.w.Flush()
		return m.err
	}
	if r.sum.findings == 0 {
		m.printf("No findings: the site matches the policy.\n")
		m.w.Flush()
		return m.err
	}
	sevs := r.sum.severities()
	head := append([]string{"Rule or check"}, sevs...)
	head = append(head, "total")
	var rows [][]string
	for _, rc := range r.sum.byRule {
		row := []string{mdEscape(rc.Rule)}
		for _, sev := range sevs {
			row = append(row, fmt.Sprint(rc.BySev[sev]))
		}
		rows = append(rows, append(row, fmt.Sprint(rc.Total)))
	}
	m.printf("%d findings.\n\n", r.sum.findings)
	m.table(head, rows)
	if len(r.sum.causes) > 0 {
		m.printf("### Top causes\n\n")
		rows = nil
		for _, c := range r.sum.causes {
			rows = append(rows, []string{mdEscape(c.Severity), mdEscape(c.Description), mdEscape(c.Grantee),
				fmt.Sprint(c.Items), fmt.Sprint(c.Users), fmt.Sprint(c.Findings)})
		}
		m.table([]string{"Severity", "Cause", "Grantee", "Items", "Users", "Findings"}, rows)
	}
	if top != nil && len(top.rows) > 0 {
		if int64(len(top.rows)) < r.sum.findings {
			m.printf("### Top findings (the %d most severe of %d; all are in the workbook and CSV)\n\n", len(top.rows), r.sum.findings)
		} else {
			m.printf("### All findings\n\n")
		}
		cols := []string{"severity", "status", "rule_id", "user_name", "content_type", "content_name", "project_path", "capability", "reason", "message"}
		rows = nil
		for _, tr := range top.rows {
			var row []string
			for _, c := range cols {
				v := top.get(tr, c)
				if c == "rule_id" && v == nil {
					v = top.get(tr, "check_id")
				}
				row = append(row, mdEscape(textOf(v)))
			}
			rows = append(rows, row)
		}
		m.table([]string{"Severity", "Status", "Rule", "User", "Type", "Item", "Project", "Capability", "Reason", "Message"}, rows)
	}
	if err := m.w.Flush(); m.err == nil {
		m.err = err
	}
	return m.err
}

package reports

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// section is one tabular part of a report: a query whose rows become a sheet
// (split over numbered sheets past Excel's row limit, or capped with a stated
// count) and, in CSV, a file of their own.
type section struct {
	Key   string // CSV file suffix and JSON key: "findings"
	Sheet string // sheet name; at most 25 characters so " (99)" still fits Excel's 31
	Title string // what one row is, for the Summary
	Query string // without ORDER BY
	Order string // ORDER BY terms over the query's output columns
	Args  []any
	// XLSXCap caps the rows written to the workbook (0: no cap; the sheet is
	// split instead). Rows past the cap are still counted, and still written
	// to CSV, and the Summary says so.
	XLSXCap int64
	// Limit stops reading after this many rows (0: all); the rows past it
	// are counted, not read. Only for sections no format writes in full.
	Limit int64
	// Prefix, with Limit, are the first terms of Order: the rows are counted
	// per prefix first, and only the prefixes the first Limit rows fall in
	// are sorted (a million findings out of 21 million need not sort all).
	Prefix []string
	// SeverityCol names the column whose cell is filled by severity.
	SeverityCol string
	// Note is shown in the Summary next to the section (e.g. why it is capped).
	Note string
	// Prepare, when set, runs on the query's connection first: it fills the
	// temporary tables the query reads (model.ExpandAccess).
	Prepare func(context.Context, *sql.Conn) error
}

// SectionStats says what happened to one section: nothing is cut without a
// count.
type SectionStats struct {
	Key      string   `json:"key"`
	Sheet    string   `json:"sheet,omitempty"`
	Title    string   `json:"title"`
	Rows     int64    `json:"rows"`                // rows the query returned
	XLSXRows int64    `json:"xlsx_rows,omitempty"` // rows written to the workbook
	Sheets   []string `json:"sheets,omitempty"`    // workbook sheets holding them
	CSVFile  string   `json:"csv_file,omitempty"`
	Capped   bool     `json:"capped,omitempty"` // XLSXRows < Rows
	Note     string   `json:"note,omitempty"`
	Missing  string   `json:"missing,omitempty"` // why the section could not be produced
}

// sink receives a section's rows. Values are normalised (see cellValue) and
// the slice is reused between calls.
type sink interface {
	header(cols []string) error
	row(vals []any) error
	close(st *SectionStats) error
}

// readBatch is how many rows the reader hands the writer at a time.
const readBatch = 512

// runSection streams the section's query once into every sink.
func runSection(ctx context.Context, db *sql.DB, sec section, sinks ...sink) (SectionStats, error) {
	st := SectionStats{Key: sec.Key, Sheet: sec.Sheet, Title: sec.Title, Note: sec.Note}
	it, err := sortedQueryPrepared(ctx, db, sec.Title, sec.Query, sec.Order, sec.Limit, sec.Prefix, sec.Prepare, sec.Args...)
	if err != nil {
		return st, err
	}
	for _, s := range sinks {
		if err := s.header(it.cols); err != nil {
			it.close()
			return st, fmt.Errorf("writing %s: %w", sec.Title, err)
		}
	}
	// Reading rows out of DuckDB and writing them (xlsx, CSV, JSON) each
	// take a core on a big section: a goroutine reads batches of rows
	// while this one writes the previous batch.
	batches := make(chan [][]any, 4)
	done := make(chan struct{})
	go func() {
		defer close(batches)
		batch := make([][]any, 0, readBatch)
		for {
			vals, ok := it.next()
			if ok {
				batch = append(batch, slices.Clone(vals))
			}
			if len(batch) == readBatch || (!ok && len(batch) > 0) {
				select {
				case batches <- batch:
				case <-done:
					return
				}
				batch = make([][]any, 0, readBatch)
			}
			if !ok {
				return
			}
		}
	}()
	// stop ends the reader and waits for it, before the iterator closes.
	stop := func() {
		close(done)
		for range batches {
		}
	}
	for batch := range batches {
		for _, vals := range batch {
			st.Rows++
			for _, s := range sinks {
				if err := s.row(vals); err != nil {
					stop()
					it.close()
					return st, fmt.Errorf("writing %s: %w", sec.Title, err)
				}
			}
			if st.Rows%65536 == 0 && ctx.Err() != nil {
				stop()
				it.close()
				return st, ctx.Err()
			}
		}
	}
	if err := it.close(); err != nil {
		return st, fmt.Errorf("reading %s: %w", sec.Title, err)
	}
	st.Rows = it.all
	for _, s := range sinks {
		if err := s.close(&st); err != nil {
			return st, fmt.Errorf("writing %s: %w", sec.Title, err)
		}
	}
	return st, nil
}

// headerNames are the workbook's column titles for the model's column names;
// CSV and JSON keep the column names themselves.
var headerNames = map[string]string{
	"finding_id": "Finding", "kind": "Kind", "check_id": "Check", "rule_id": "Rule",
	"severity": "Severity", "status": "Status", "user_id": "User LUID", "user_name": "User",
	"content_type": "Type", "content_id": "Item LUID", "content_name": "Item", "project_path": "Project",
	"capability": "Capability", "decision": "Decision", "reason": "Reason", "deciding_rule": "Deciding rule",
	"waiver_id": "Waiver", "waiver_until": "Waiver until", "confidence": "Confidence", "cause_id": "Cause",
	"message": "Message", "snapshot_id": "Snapshot", "matrix_file": "Matrix file", "matrix_line": "Matrix line",
	"site_role": "Site role", "capabilities": "Allowed capabilities", "reasons": "Reasons",
	"users_allowed": "Users allowed", "via": "Allowed via", "owner_name": "Owner", "owner_id": "Owner LUID",
	"id": "LUID", "name": "Name", "full_name": "Full name", "email": "Email", "last_login": "Last sign-in",
	"auth_setting": "Authentication", "domain_name": "Domain", "created_at": "Created", "updated_at": "Updated",
	"tags": "Tags", "description": "Description", "members": "Members", "minimum_site_role": "Minimum site role",
	"content_permissions": "Content permissions", "parent_path": "Parent project", "workbook_name": "Workbook",
	"sheet_type": "Sheet type", "hidden": "Hidden", "show_tabs": "Show tabs", "is_certified": "Certified",
	"has_extracts": "Has extracts", "location_type": "Location", "type": "Connection type",
	"item_count": "Items", "user_count": "Users", "finding_count": "Findings", "grantee": "Grantee",
	"database_name": "Database", "schema_name": "Schema", "table_name": "Table",
	"via_content_type": "Via type", "via_content_name": "Via content", "via_project_path": "Via project",
	"users": "Users", "source": "Source", "code": "Code", "object_type": "Object type", "object_id": "Object LUID",
	"object_name": "Object", "detail": "Detail", "change": "Change", "before": "Before", "after": "After",
	"glsi_minimum_site_role": "GLSI minimum role", "capabilities_changed": "Capabilities gained or lost",
	"grantee_name": "Grantee", "group_name": "Group", "items_gained": "Items gained", "items_lost": "Items lost",
	"users_gained": "Users gained", "users_lost": "Users lost", "rule_set": "Rule set", "is_all_users": "All Users group",
}

func headerName(col string) string {
	if h, ok := headerNames[col]; ok {
		return h
	}
	s := strings.ReplaceAll(col, "_", " ")
	r := []rune(s)
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// csvSink writes a section to its own CSV file, every string through
// SafeText. The file appears under its final name only when complete.
type csvSink struct {
	path string
	tmp  *os.File
	w    *csv.Writer
	rec  []string
}

func newCSVSink(path string) (*csvSink, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	return &csvSink{path: path, tmp: tmp, w: csv.NewWriter(tmp)}, nil
}

func (c *csvSink) header(cols []string) error {
	c.rec = make([]string, len(cols))
	return c.w.Write(cols)
}

func (c *csvSink) row(vals []any) error {
	for i, v := range vals {
		if s, ok := v.(string); ok {
			c.rec[i] = SafeText(s)
		} else {
			c.rec[i] = textOf(v)
		}
	}
	return c.w.Write(c.rec)
}

func (c *csvSink) close(st *SectionStats) error {
	c.w.Flush()
	err := c.w.Error()
	if cerr := c.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(c.tmp.Name(), c.path)
	}
	if err != nil {
		os.Remove(c.tmp.Name())
		return err
	}
	st.CSVFile = c.path
	return nil
}

// abort removes the temporary file of a sink that will not be closed.
func (c *csvSink) abort() {
	c.tmp.Close()
	os.Remove(c.tmp.Name())
}

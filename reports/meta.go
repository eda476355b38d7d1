package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tabaudit/tabaudit/extract/snapshot"
)

// catalog lists the relations (tables and views) of a database and their
// columns, so a report adapts to what the model and rules left behind.
type catalog map[string][]string

func loadCatalog(ctx context.Context, db *sql.DB) (catalog, error) {
	rs, err := db.QueryContext(ctx, `SELECT table_name, column_name FROM duckdb_columns()
		WHERE NOT internal AND database_name = current_database() AND schema_name = current_schema()
		ORDER BY table_name, column_index`)
	if err != nil {
		return nil, fmt.Errorf("listing the model's relations: %w", err)
	}
	defer rs.Close()
	c := catalog{}
	for rs.Next() {
		var t, col string
		if err := rs.Scan(&t, &col); err != nil {
			return nil, fmt.Errorf("listing the model's relations: %w", err)
		}
		c[t] = append(c[t], col)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("listing the model's relations: %w", err)
	}
	return c, nil
}

func (c catalog) has(names ...string) bool {
	for _, n := range names {
		if _, ok := c[n]; !ok {
			return false
		}
	}
	return true
}

func (c catalog) hasColumn(rel, col string) bool {
	for _, x := range c[rel] {
		if x == col {
			return true
		}
	}
	return false
}

// SnapshotMeta is the snapshot a report describes (a row of snapshot_info and
// its parsed manifest).
type SnapshotMeta struct {
	ID                string             `json:"id"`
	SiteName          string             `json:"site_name"`
	SiteContentURL    string             `json:"site_content_url"`
	ServerURL         string             `json:"server_url"`
	StartedAt         string             `json:"started_at"`
	FinishedAt        string             `json:"finished_at"`
	Complete          bool               `json:"complete"`
	AllowedIncomplete bool               `json:"allowed_incomplete"`
	Verdict           string             `json:"verdict"`
	ToolVersion       string             `json:"tool_version,omitempty"`
	SpecVersion       string             `json:"spec_version,omitempty"`
	CeilingVersion    string             `json:"ceiling_version,omitempty"`
	EngineVersion     string             `json:"engine_version,omitempty"`
	Manifest          *snapshot.Manifest `json:"-"`
	// Loaded is how many snapshots the database holds.
	Loaded int `json:"-"`
}

// CheckMeta is the policy check the findings come from (a row of check_runs).
type CheckMeta struct {
	RunID        string `json:"run_id"`
	SnapshotID   string `json:"snapshot_id"`
	MatrixName   string `json:"matrix_name"`
	MatrixFile   string `json:"matrix_file"`
	MatrixSHA256 string `json:"matrix_sha256"`
	StartedAt    string `json:"started_at"`
	FailOn       string `json:"fail_on"`
	Findings     int64  `json:"findings"`
	Violations   int64  `json:"violations"`
}

// rowMap reads the first row of a query into column → normalised value.
func rowMap(ctx context.Context, db *sql.DB, what, q string, args ...any) (map[string]any, error) {
	it, err := query(ctx, db, what, q, args...)
	if err != nil {
		return nil, err
	}
	vals, ok := it.next()
	var m map[string]any
	if ok {
		m = make(map[string]any, len(vals))
		for i, c := range it.cols {
			m[c] = vals[i]
		}
	}
	if err := it.close(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return m, nil
}

func str(m map[string]any, k string) string { return textOf(m[k]) }

func boolean(m map[string]any, k string) bool { return str(m, k) == "true" }

func integer(m map[string]any, k string) int64 {
	if n, ok := m[k].(int64); ok {
		return n
	}
	return 0
}

// loadSnapshotMeta reads the snapshot to report on: the one named, or the
// latest loaded.
func loadSnapshotMeta(ctx context.Context, db *sql.DB, cat catalog, id string) (*SnapshotMeta, error) {
	if !cat.has("snapshot_info") {
		return &SnapshotMeta{Verdict: "Unknown: the database has no snapshot_info, so the snapshot's completeness cannot be stated."}, nil
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM snapshot_info`).Scan(&n); err != nil {
		return nil, fmt.Errorf("counting snapshots: %w", err)
	}
	q := `SELECT * FROM snapshot_info ORDER BY started_at DESC, snapshot_id DESC LIMIT 1`
	var args []any
	if id != "" {
		q = `SELECT * FROM snapshot_info WHERE snapshot_id = $1`
		args = append(args, id)
	}
	m, err := rowMap(ctx, db, "snapshot_info", q, args...)
	if err != nil {
		return nil, err
	}
	if m == nil {
		if id != "" {
			return nil, fmt.Errorf("%w: no snapshot %q in snapshot_info", ErrInput, id)
		}
		return &SnapshotMeta{Verdict: "Unknown: snapshot_info is empty."}, nil
	}
	s := &SnapshotMeta{
		ID: str(m, "snapshot_id"), SiteName: str(m, "site_name"), SiteContentURL: str(m, "site_content_url"),
		ServerURL: str(m, "server_url"), StartedAt: str(m, "started_at"), FinishedAt: str(m, "finished_at"),
		Complete: boolean(m, "complete"), AllowedIncomplete: boolean(m, "allowed_incomplete"),
		ToolVersion: str(m, "tool_version"), SpecVersion: str(m, "spec_version"),
		CeilingVersion: str(m, "ceiling_version"), EngineVersion: str(m, "engine_version"), Loaded: n,
	}
	if raw := str(m, "manifest_json"); raw != "" {
		var man snapshot.Manifest
		if err := json.Unmarshal([]byte(raw), &man); err == nil {
			s.Manifest = &man
		}
	}
	s.Verdict = verdict(s)
	return s, nil
}

// verdict states the manifest's completeness in plain words, first thing an
// auditor reads.
func verdict(s *SnapshotMeta) string {
	m := s.Manifest
	if s.Complete {
		if m == nil {
			return "Complete: the extraction read every table in full."
		}
		return fmt.Sprintf("Complete: every table was read in full and every request succeeded (%d requests, %d retries, %d throttled).",
			m.Requests, m.Retries, m.Throttled)
	}
	var b strings.Builder
	b.WriteString("INCOMPLETE: this snapshot is missing data, so access and findings may be understated.")
	if m != nil {
		if len(m.Failures) > 0 {
			fmt.Fprintf(&b, " %d request(s) failed after every retry.", len(m.Failures))
		}
		var short []string
		for name, t := range m.Tables {
			if !t.Complete {
				short = append(short, name)
			}
		}
		if len(short) > 0 {
			sortStrings(short)
			fmt.Fprintf(&b, " Tables not read in full: %s.", strings.Join(short, ", "))
		}
		if len(m.Incomplete) > 0 {
			fmt.Fprintf(&b, " Reasons: %s.", strings.Join(m.Incomplete, "; "))
		}
	}
	if s.AllowedIncomplete {
		b.WriteString(" It was loaded with --allow-incomplete.")
	}
	return b.String()
}

// loadCheckMeta reads the latest policy check run on the snapshot, or nil
// when no check was run.
func loadCheckMeta(ctx context.Context, db *sql.DB, cat catalog, snapshotID string) (*CheckMeta, error) {
	if !cat.has("check_runs") {
		return nil, nil
	}
	q := `SELECT * FROM check_runs ORDER BY started_at DESC LIMIT 1`
	var args []any
	if snapshotID != "" && cat.hasColumn("check_runs", "snapshot_id") {
		q = `SELECT * FROM check_runs WHERE snapshot_id = $1 OR snapshot_id IS NULL ORDER BY started_at DESC LIMIT 1`
		args = append(args, snapshotID)
	}
	m, err := rowMap(ctx, db, "check_runs", q, args...)
	if err != nil || m == nil {
		return nil, err
	}
	return &CheckMeta{
		RunID: str(m, "run_id"), SnapshotID: str(m, "snapshot_id"), MatrixName: str(m, "matrix_name"),
		MatrixFile: str(m, "matrix_file"), MatrixSHA256: str(m, "matrix_sha256"), StartedAt: str(m, "started_at"),
		FailOn: str(m, "fail_on"), Findings: integer(m, "findings"), Violations: integer(m, "violations"),
	}, nil
}

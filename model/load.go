package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tabaudit/tabaudit/extract/snapshot"
)

// LoadOptions tune LoadSnapshot and LoadHistory.
type LoadOptions struct {
	// AllowIncomplete loads a snapshot whose manifest says complete=false;
	// snapshot_info records that it was allowed.
	AllowIncomplete bool
}

// SnapshotInfo describes what was loaded.
type SnapshotInfo struct {
	SnapshotID        string
	Dir               string
	SiteContentURL    string
	SiteName          string
	Complete          bool
	AllowedIncomplete bool
	// Rows per loaded table.
	Rows map[string]int64
	// Absent lists catalogue tables the snapshot does not have (only lineage
	// tables may be absent).
	Absent   []string
	Manifest snapshot.Manifest
	Stats    BuildStats
	// TableDatabasesFromLineage counts tables whose database was taken from
	// the lineage (REST's tableType has no database reference).
	TableDatabasesFromLineage int64
}

// IncompleteError means the manifest says the extraction was incomplete and
// the caller did not allow it. The CLI maps it to exit code 3.
type IncompleteError struct {
	Dir     string
	Reasons []string
}

func (e *IncompleteError) Error() string {
	r := "no reason recorded"
	if len(e.Reasons) > 0 {
		r = strings.Join(e.Reasons, "; ")
	}
	return fmt.Sprintf("snapshot %s is incomplete (%s); pass --allow-incomplete to load it anyway", e.Dir, r)
}

// SchemaError means a snapshot cannot be read by this version of tabaudit
// (newer schema, missing table or column).
type SchemaError struct {
	Dir    string
	Detail string
}

func (e *SchemaError) Error() string { return fmt.Sprintf("snapshot %s: %s", e.Dir, e.Detail) }

// ReadManifest reads and checks dir/manifest.json.
func ReadManifest(dir string) (snapshot.Manifest, error) {
	var m snapshot.Manifest
	b, err := os.ReadFile(filepath.Join(dir, snapshot.ManifestFile))
	if err != nil {
		return m, fmt.Errorf("reading manifest of snapshot %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("reading manifest of snapshot %s: %w", dir, err)
	}
	if m.SchemaVersion > snapshot.SchemaVersion {
		return m, &SchemaError{Dir: dir, Detail: fmt.Sprintf("schema version %d is newer than this tabaudit understands (%d); upgrade tabaudit", m.SchemaVersion, snapshot.SchemaVersion)}
	}
	if m.SchemaVersion < 1 {
		return m, &SchemaError{Dir: dir, Detail: fmt.Sprintf("manifest has no valid schema_version (%d)", m.SchemaVersion)}
	}
	return m, nil
}

// duckType is the DuckDB type of a catalogue column.
func duckType(t snapshot.Type) string {
	switch t {
	case snapshot.Int64:
		return "BIGINT"
	case snapshot.Bool:
		return "BOOLEAN"
	case snapshot.Timestamp:
		return "TIMESTAMPTZ"
	case snapshot.StringList:
		return "VARCHAR[]"
	case snapshot.Float64:
		return "DOUBLE"
	}
	return "VARCHAR"
}

// CreateSnapshotTables creates every catalogue table, empty, plus
// snapshot_info. modeltest and tests fill them from Go.
func (d *DB) CreateSnapshotTables(ctx context.Context) error {
	var stmts []string
	for _, t := range snapshot.Tables {
		var cols []string
		for _, c := range t.Columns {
			cols = append(cols, quoteIdent(c.Name)+" "+duckType(c.Type))
		}
		stmts = append(stmts, fmt.Sprintf("CREATE OR REPLACE TABLE %s (%s)", quoteIdent(t.Name), strings.Join(cols, ", ")))
	}
	stmts = append(stmts, snapshotInfoDDL)
	return d.execAll(ctx, "creating snapshot tables", stmts)
}

const snapshotInfoDDL = `CREATE OR REPLACE TABLE snapshot_info (
  snapshot_id VARCHAR, site_content_url VARCHAR, site_name VARCHAR, server_url VARCHAR,
  started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, complete BOOLEAN, allowed_incomplete BOOLEAN,
  manifest_json VARCHAR, tool_version VARCHAR, spec_version VARCHAR, ceiling_version VARCHAR,
  engine_version VARCHAR, dir VARCHAR, lineage_loaded BOOLEAN, is_current BOOLEAN)`

// RecordSnapshot adds a snapshot_info row. Build fills ceiling_version.
func (d *DB) RecordSnapshot(ctx context.Context, m snapshot.Manifest, dir string, allowed, lineage, current bool) error {
	mj, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("recording snapshot %s: %w", m.SnapshotID, err)
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO snapshot_info VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.SnapshotID, m.SiteContentURL, m.SiteName, m.ServerURL, nullTime(m.StartedAt), nullTime(m.FinishedAt),
		m.Complete, allowed && !m.Complete, string(mj), m.ToolVersion, SpecVersion, nil, EngineVersion, dir, lineage, current)
	if err != nil {
		return fmt.Errorf("recording snapshot %s: %w", m.SnapshotID, err)
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// LoadSnapshot loads one snapshot folder into the database (replacing any
// previous content) and builds the model. Every catalogue table is read with
// DuckDB's read_parquet; a missing table is an error, except lineage tables,
// whose absence is recorded.
func (d *DB) LoadSnapshot(ctx context.Context, dir string, opts LoadOptions) (SnapshotInfo, error) {
	info := SnapshotInfo{Dir: dir, Rows: map[string]int64{}}
	m, err := ReadManifest(dir)
	if err != nil {
		return info, err
	}
	info.Manifest = m
	info.SnapshotID, info.SiteContentURL, info.SiteName, info.Complete = m.SnapshotID, m.SiteContentURL, m.SiteName, m.Complete
	if !m.Complete {
		if !opts.AllowIncomplete {
			return info, &IncompleteError{Dir: dir, Reasons: m.Incomplete}
		}
		info.AllowedIncomplete = true
	}
	if err := d.CreateSnapshotTables(ctx); err != nil {
		return info, err
	}
	for _, t := range snapshot.Tables {
		f := filepath.Join(dir, t.File())
		if _, err := os.Stat(f); err != nil {
			if errors.Is(err, os.ErrNotExist) && t.Lineage {
				info.Absent = append(info.Absent, t.Name)
				if _, err := d.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(t.Name)); err != nil {
					return info, fmt.Errorf("dropping absent lineage table %s: %w", t.Name, err)
				}
				continue
			}
			return info, &SchemaError{Dir: dir, Detail: fmt.Sprintf("table %s is missing (%s): %v", t.Name, t.File(), err)}
		}
		n, err := d.loadParquet(ctx, t, dir, []string{f})
		if err != nil {
			return info, err
		}
		info.Rows[t.Name] = n
	}
	lineage := !slices.Contains(info.Absent, "lineage_nodes") && !slices.Contains(info.Absent, "lineage_edges")
	if lineage {
		n, err := d.tableDatabasesFromLineage(ctx)
		if err != nil {
			return info, err
		}
		info.TableDatabasesFromLineage = n
	}
	if err := d.RecordSnapshot(ctx, m, dir, opts.AllowIncomplete, lineage, true); err != nil {
		return info, err
	}
	st, err := d.Build(ctx)
	info.Stats = st
	return info, err
}

// tableDatabasesFromLineage fills tables.database_id where REST left it
// empty: the REST schema has no table -> database reference, and without it
// a table of a LockedToDatabase database would be evaluated on its own rules
// (spec §7.3). The Metadata API's database>table edges carry the link. The
// snapshot table itself is completed, so that every reader of the model
// (model/eval included) sees the same facts.
func (d *DB) tableDatabasesFromLineage(ctx context.Context) (int64, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE tables SET database_id = l.db
		FROM (SELECT t.luid AS table_luid, min(db.luid) AS db
		      FROM lineage_edges e
		      JOIN lineage_nodes db ON db.id = e.from_id AND db.kind = 'database'
		      JOIN lineage_nodes t ON t.id = e.to_id AND t.kind = 'table'
		      WHERE e.relation = 'database>table' AND coalesce(db.luid, '') <> '' AND coalesce(t.luid, '') <> ''
		      GROUP BY t.luid) l
		WHERE tables.id = l.table_luid AND coalesce(tables.database_id, '') = ''`)
	if err != nil {
		return 0, fmt.Errorf("linking tables to databases through lineage: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// loadParquet fills table t from Parquet files, selecting the catalogue's
// columns by name so that column order in the file does not matter and a
// missing column is reported by name.
func (d *DB) loadParquet(ctx context.Context, t snapshot.Table, dir string, files []string) (int64, error) {
	have, err := d.parquetColumns(ctx, files[0])
	if err != nil {
		return 0, fmt.Errorf("reading %s of snapshot %s: %w", t.File(), dir, err)
	}
	var sel []string
	for _, c := range t.Columns {
		if !have[c.Name] {
			return 0, &SchemaError{Dir: dir, Detail: fmt.Sprintf("table %s has no column %s", t.Name, c.Name)}
		}
		sel = append(sel, fmt.Sprintf("CAST(%s AS %s)", quoteIdent(c.Name), duckType(c.Type)))
	}
	var lits []string
	for _, f := range files {
		lits = append(lits, quoteLiteral(f))
	}
	q := fmt.Sprintf("INSERT INTO %s SELECT %s FROM read_parquet([%s])", quoteIdent(t.Name), strings.Join(sel, ", "), strings.Join(lits, ", "))
	res, err := d.db.ExecContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("loading %s of snapshot %s: %w", t.File(), dir, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func (d *DB) parquetColumns(ctx context.Context, file string) (map[string]bool, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT name FROM parquet_schema("+quoteLiteral(file)+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// Package lineage closes the Metadata API lineage graph of a loaded snapshot
// into content_upstream_tables (which tables feed each workbook, view,
// published data source, flow and virtual connection, at field and at
// data-source precision) and joins it with effective access into the
// table_exposure view: who can see data from a table, and through what.
package lineage

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"strings"
)

//go:embed lineage.sql
var closureSQL string

// ErrNoLineage means the model has no lineage tables: the snapshot was
// extracted with --no-lineage or the Metadata API was not available.
var ErrNoLineage = errors.New("the snapshot has no lineage (lineage_nodes/lineage_edges missing)")

// Build creates the lineage relations. It needs lineage_nodes, lineage_edges
// and effective_permissions in db.
func Build(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('lineage_nodes', 'lineage_edges')`).Scan(&n); err != nil {
		return fmt.Errorf("checking for lineage tables: %w", err)
	}
	if n < 2 {
		return ErrNoLineage
	}
	for _, stmt := range splitStatements(closureSQL) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("building lineage closure: %w\n%s", err, firstLine(stmt))
		}
	}
	return nil
}

// splitStatements splits the embedded file on ';' at line ends. The file has
// no semicolons inside string literals.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || t == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

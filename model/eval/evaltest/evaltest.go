// Package evaltest builds a model database's snapshot tables from a site
// file, for tests of code that reads them (eval.LoadFacts, tabaudit explain)
// without the simulator, the extractor or model.LoadSnapshot. Tables follow
// extract/snapshot's catalogue; columns eval does not read stay NULL.
package evaltest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/model/eval"
)

var sqlType = map[snapshot.Type]string{
	snapshot.String:     "VARCHAR",
	snapshot.Int64:      "BIGINT",
	snapshot.Bool:       "BOOLEAN",
	snapshot.Timestamp:  "TIMESTAMP",
	snapshot.StringList: "VARCHAR[]",
	snapshot.Float64:    "DOUBLE",
}

// Load creates every non-lineage catalogue table in db and fills it from the
// site, plus a one-row snapshot_info naming the site.
func Load(ctx context.Context, db *sql.DB, s *site.Site) error {
	rows, err := eval.SnapshotRows(s)
	if err != nil {
		return err
	}
	for _, t := range snapshot.Tables {
		if t.Lineage {
			continue
		}
		var cols []string
		for _, c := range t.Columns {
			cols = append(cols, fmt.Sprintf("%q %s", c.Name, sqlType[c.Type]))
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %q (%s)", t.Name, strings.Join(cols, ", "))); err != nil {
			return fmt.Errorf("creating table %s: %w", t.Name, err)
		}
		if len(rows[t.Name]) == 0 {
			continue
		}
		var names, marks []string
		for _, c := range t.Columns {
			names = append(names, fmt.Sprintf("%q", c.Name))
			marks = append(marks, "?")
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %q (%s) VALUES (%s)", t.Name, strings.Join(names, ", "), strings.Join(marks, ", ")))
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("preparing insert into %s: %w", t.Name, err)
		}
		for _, row := range rows[t.Name] {
			args := make([]any, len(t.Columns))
			for i, c := range t.Columns {
				args[i] = row[c.Name]
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				stmt.Close()
				tx.Rollback()
				return fmt.Errorf("inserting into %s: %w", t.Name, err)
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("filling %s: %w", t.Name, err)
		}
	}
	name := site.DisplayName(s.Name, s.ID)
	if _, err := db.ExecContext(ctx, "CREATE TABLE snapshot_info (snapshot_id VARCHAR, site_content_url VARCHAR, site_name VARCHAR)"); err != nil {
		return fmt.Errorf("creating snapshot_info: %w", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO snapshot_info VALUES ('test', ?, ?)", s.ContentURL, name); err != nil {
		return fmt.Errorf("filling snapshot_info: %w", err)
	}
	return nil
}

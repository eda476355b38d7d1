package reports

import (
	"context"
	"database/sql"
	"fmt"
)

// OpenDiff opens an in-memory DuckDB database with two model databases
// attached read-only as catalogs "old" and "new", ready for Diff.
func OpenDiff(ctx context.Context, fromPath, toPath string) (*sql.DB, error) {
	db, err := sql.Open("duckdb", "?autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		return nil, fmt.Errorf("opening the comparison database: %w", err)
	}
	for _, a := range []struct{ path, name string }{{fromPath, "old"}, {toPath, "new"}} {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", quoteLiteral(a.path), a.name)); err != nil {
			db.Close()
			return nil, fmt.Errorf("attaching model database %s: %w", a.path, err)
		}
	}
	return db, nil
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

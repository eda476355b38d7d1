package cli

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tabaudit/tabaudit/model"
)

// docs/model.md is generated from model.Relations; the declarations must
// match a model built end to end, column for column.
func TestModelDocs(t *testing.T) {
	path := demoDB(t)
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	b.WriteString("# Model relations\n\n<!-- Generated from model/relations.go by `go test ./internal/cli -run TestModelDocs -update`. Do not edit. -->\n\n")
	b.WriteString("`tabaudit model` loads a snapshot's tables (see [snapshot-tables.md](snapshot-tables.md)) into DuckDB under the same names and derives the relations below. Tables named `m_*` are the engine's internals. `tabaudit check` adds the findings tables documented in the `rules` package (`go doc ./rules`).\n\n")
	for _, r := range model.Relations {
		rows, err := db.Query(`SELECT column_name FROM duckdb_columns() WHERE table_name = $1 ORDER BY column_index`, r.Name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			got = append(got, c)
		}
		rows.Close()
		var declared []string
		for _, c := range r.Columns {
			declared = append(declared, c[0])
		}
		if !slices.Equal(got, declared) {
			t.Errorf("%s: model has columns %v, model/relations.go declares %v", r.Name, got, declared)
		}
		fmt.Fprintf(&b, "## %s\n\n%s (%s, built by the %s stage)\n\n| column | meaning |\n|---|---|\n", r.Name, r.Doc, r.Kind, r.Stage)
		for _, c := range r.Columns {
			fmt.Fprintf(&b, "| `%s` | %s |\n", c[0], strings.ReplaceAll(c[1], "|", "\\|"))
		}
		b.WriteString("\n")
	}
	golden(t, "../../../../docs/model.md", b.String())
}

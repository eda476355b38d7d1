package cli

import (
	"database/sql"
	"fmt"
	"go/doc/comment"
	"go/parser"
	"go/token"
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

// docs/matrix.md is the rules package's documentation (the matrix format,
// error codes and findings tables), rendered as Markdown so it can be read
// without Go tooling.
func TestMatrixDocs(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../../rules/doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatal("rules/doc.go has no package comment")
	}
	var p comment.Parser
	pr := comment.Printer{HeadingLevel: 2}
	md := "# The expected access matrix\n\n<!-- Generated from rules/doc.go by `go test ./internal/cli -run TestMatrixDocs -update`. Do not edit. -->\n\n" +
		string(pr.Markdown(p.Parse(f.Doc.Text())))
	golden(t, "../../../../docs/matrix.md", md)
}

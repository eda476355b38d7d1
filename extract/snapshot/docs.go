package snapshot

import (
	"fmt"
	"io"
	"strings"
)

// WriteDocs writes the Markdown reference of every snapshot table
// (docs/snapshot-tables.md) from the catalogue, so the docs cannot drift
// from what the writer produces.
func WriteDocs(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Snapshot tables\n\n")
	b.WriteString("<!-- Generated from extract/snapshot/catalog.go by `go test ./extract/snapshot -run TestDocs -update`. Do not edit. -->\n\n")
	fmt.Fprintf(&b, "Schema version %d. Layout: `<root>/site=<content url or default>/snapshot=<YYYYMMDDTHHMMSSZ>/<table>.parquet` plus `manifest.json`. ", SchemaVersion)
	b.WriteString("Parquet files are zstd-compressed; timestamps are UTC microseconds; every file carries its table name, schema version and the snapshot's provenance in its key-value metadata (keys `tabaudit.*`).\n\n")
	for _, t := range Tables {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", t.Name, t.Doc)
		if t.Parent != "" {
			fmt.Fprintf(&b, "Child of `%s`. ", t.Parent)
		}
		if t.Lineage {
			b.WriteString("From the Metadata API; written only when lineage was extracted. ")
		}
		if t.Parent != "" || t.Lineage {
			b.WriteString("\n\n")
		}
		b.WriteString("| column | type | description |\n|---|---|---|\n")
		for _, c := range t.Columns {
			doc := strings.ReplaceAll(c.Doc, "|", `\|`)
			if c.Sensitive {
				doc += " **(personal data)**"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Name, c.Type, doc)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

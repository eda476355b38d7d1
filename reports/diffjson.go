package reports

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// DiffSchemaID names the JSON change document's version
// (schema/diff.v1.json).
const DiffSchemaID = "tabaudit.diff.v1"

// DiffSchema is the JSON Schema of the change document.
//
//go:embed schema/diff.v1.json
var DiffSchema []byte

// json streams the change document from the diff tables: the header, then
// one array per section, never the whole document in memory.
func (d *diffRun) json(w io.Writer, all []diffSection) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	head := struct {
		Schema      string                      `json:"schema"`
		GeneratedAt string                      `json:"generated_at"`
		ToolVersion string                      `json:"tool_version"`
		CommandLine string                      `json:"command_line"`
		From        *SnapshotMeta               `json:"from"`
		To          *SnapshotMeta               `json:"to"`
		Counts      map[string]map[string]int64 `json:"counts"`
	}{DiffSchemaID, timeText(d.opts.Now()), d.opts.ToolVersion, d.opts.CommandLine, d.res.From, d.res.To, d.res.Counts}
	b, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	bw.Write(b[:len(b)-2])
	bw.WriteString(",\n  \"changes\": {")
	for i, s := range all {
		if i > 0 {
			bw.WriteString(",")
		}
		fmt.Fprintf(bw, "\n    %q: [", s.key)
		it, err := sortedQuery(d.ctx, d.db, s.title, "SELECT * FROM diff_"+strings.ReplaceAll(s.key, "-", "_"), s.order)
		if err != nil {
			return err
		}
		n := 0
		var row []byte
		for {
			vals, ok := it.next()
			if !ok {
				break
			}
			row = row[:0]
			if n > 0 {
				row = append(row, ',')
			}
			row = append(row, "\n      {"...)
			for k, c := range it.cols {
				if k > 0 {
					row = append(row, ", "...)
				}
				row = append(row, '"')
				row = append(row, c...)
				row = append(row, `": `...)
				switch v := vals[k].(type) {
				case int64:
					row = appendJSONValue(row, v, true)
				default:
					row = appendJSONValue(row, v, false)
				}
			}
			row = append(row, '}')
			bw.Write(row)
			n++
		}
		if err := it.close(); err != nil {
			return fmt.Errorf("reading %s: %w", s.title, err)
		}
		if n > 0 {
			bw.WriteString("\n    ")
		}
		bw.WriteString("]")
	}
	bw.WriteString("\n  }\n}\n")
	return bw.Flush()
}

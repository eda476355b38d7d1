package reports

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
)

// FindingsSchemaID names the JSON findings document's version; it changes
// only with an incompatible change to schema/findings.v1.json.
const FindingsSchemaID = "tabaudit.findings.v1"

// FindingsSchema is the JSON Schema of the findings document.
//
//go:embed schema/findings.v1.json
var FindingsSchema []byte

// jsonFindingFields are the fields of one finding in the JSON document, in
// order; integer fields are listed in jsonIntFields. Columns the findings
// table has beyond these appear in CSV and xlsx but not in JSON v1, whose
// fields are fixed by the schema.
var jsonFindingFields = []string{
	"finding_id", "kind", "check_id", "rule_id", "severity", "status", "user_id", "user_name",
	"content_type", "content_id", "content_name", "project_path", "capability", "decision", "reason",
	"deciding_rule", "waiver_id", "waiver_until", "confidence", "cause_id", "message", "snapshot_id",
	"matrix_file", "matrix_line",
}

var jsonIntFields = map[string]bool{"matrix_line": true}

// jsonDoc is everything of the findings document but the findings.
type jsonDoc struct {
	Schema      string        `json:"schema"`
	GeneratedAt string        `json:"generated_at"`
	ToolVersion string        `json:"tool_version"`
	CommandLine string        `json:"command_line"`
	Snapshot    *SnapshotMeta `json:"snapshot"`
	Policy      jsonPolicy    `json:"policy"`
	Counts      jsonCounts    `json:"counts"`
}

type jsonPolicy struct {
	Checked bool       `json:"checked"`
	Note    string     `json:"note"`
	Run     *CheckMeta `json:"run"`
}

type jsonCounts struct {
	Findings   int64            `json:"findings"`
	BySeverity map[string]int64 `json:"by_severity"`
	ByStatus   map[string]int64 `json:"by_status"`
}

func (r *reportRun) jsonHeader() jsonDoc {
	d := jsonDoc{
		Schema: FindingsSchemaID, GeneratedAt: timeText(r.opts.Now()), ToolVersion: r.opts.ToolVersion,
		CommandLine: r.opts.CommandLine, Snapshot: r.res.Snapshot,
		Policy: jsonPolicy{Checked: r.sum.hasChecks, Note: r.policyLine(), Run: r.res.Check},
		Counts: jsonCounts{Findings: r.sum.findings, BySeverity: map[string]int64{}, ByStatus: map[string]int64{}},
	}
	for sev, m := range r.sum.bySev {
		for st, n := range m {
			d.Counts.BySeverity[sev] += n
			d.Counts.ByStatus[st] += n
		}
	}
	return d
}

// jsonSink streams the findings document: the header fields, then one
// object per finding, never the whole list in memory.
type jsonSink struct {
	path string
	tmp  *os.File
	w    *bufio.Writer
	doc  jsonDoc
	idx  []int // column index of each field, -1 when absent
	n    int64
	buf  []byte
}

func newJSONSink(path string, doc jsonDoc) (*jsonSink, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	return &jsonSink{path: path, tmp: tmp, w: bufio.NewWriterSize(tmp, 1<<16), doc: doc}, nil
}

func (j *jsonSink) header(cols []string) error {
	j.idx = make([]int, len(jsonFindingFields))
	for i, f := range jsonFindingFields {
		j.idx[i] = -1
		for k, c := range cols {
			if c == f {
				j.idx[i] = k
			}
		}
	}
	head, err := json.MarshalIndent(j.doc, "", "  ")
	if err != nil {
		return err
	}
	// Reopen the object to append the findings array.
	j.w.Write(head[:len(head)-2])
	_, err = j.w.WriteString(",\n  \"findings\": [")
	return err
}

func (j *jsonSink) row(vals []any) error {
	j.buf = appendFinding(j.buf[:0], j.n > 0, vals, j.idx)
	j.n++
	_, err := j.w.Write(j.buf)
	return err
}

func appendFinding(b []byte, comma bool, vals []any, idx []int) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, "\n    {"...)
	for i, f := range jsonFindingFields {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '"')
		b = append(b, f...)
		b = append(b, `": `...)
		var v any
		if idx[i] >= 0 {
			v = vals[idx[i]]
		}
		b = appendJSONValue(b, v, jsonIntFields[f])
	}
	return append(b, '}')
}

// appendJSONValue writes a value as the schema types it: integer fields as
// numbers (or null), every other field as a string (or null).
func appendJSONValue(b []byte, v any, integer bool) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	if integer {
		switch x := v.(type) {
		case int64:
			return strconv.AppendInt(b, x, 10)
		case float64:
			return strconv.AppendInt(b, int64(x), 10)
		case string:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return strconv.AppendInt(b, n, 10)
			}
			return append(b, "null"...)
		}
		return append(b, "null"...)
	}
	s, _ := json.Marshal(textOf(v))
	return append(b, s...)
}

func (j *jsonSink) close(*SectionStats) error {
	if j.idx == nil {
		if err := j.header(nil); err != nil {
			return err
		}
	}
	if j.n > 0 {
		j.w.WriteString("\n  ")
	}
	j.w.WriteString("]\n}\n")
	err := j.w.Flush()
	if cerr := j.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(j.tmp.Name(), j.path)
	}
	if err != nil {
		os.Remove(j.tmp.Name())
	}
	return err
}

func (j *jsonSink) abort() {
	j.tmp.Close()
	os.Remove(j.tmp.Name())
}

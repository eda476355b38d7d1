package reports

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// validate checks v against the subset of JSON Schema that
// schema/findings.v1.json uses: type, const, enum, required, properties,
// additionalProperties (false or a schema) and items.
func validate(schema map[string]any, v any, path string) []string {
	var errs []string
	if c, ok := schema["const"]; ok && v != c {
		errs = append(errs, fmt.Sprintf("%s: %v, want const %v", path, v, c))
	}
	if e, ok := schema["enum"].([]any); ok && !slices.Contains(e, v) {
		errs = append(errs, fmt.Sprintf("%s: %v not in %v", path, v, e))
	}
	if t, ok := schema["type"]; ok {
		var types []string
		switch x := t.(type) {
		case string:
			types = []string{x}
		case []any:
			for _, y := range x {
				types = append(types, y.(string))
			}
		}
		if !slices.Contains(types, jsonType(v)) && !(jsonType(v) == "integer" && slices.Contains(types, "number")) {
			return append(errs, fmt.Sprintf("%s: %s, want %v", path, jsonType(v), types))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := x[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: missing %q", path, r))
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, validate(ps, x[k], path+"."+k)...)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: undocumented field %q", path, k))
				}
			case map[string]any:
				errs = append(errs, validate(ap, x[k], path+"."+k)...)
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, validate(items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

func asStrings(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, s := range a {
			out = append(out, s.(string))
		}
	}
	return out
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

func validateFindingsJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var schema, doc map[string]any
	if err := json.Unmarshal(FindingsSchema, &schema); err != nil {
		t.Fatalf("schema: %v", err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("report JSON does not parse: %v\n%s", err, b)
	}
	for _, e := range validate(schema, doc, "$") {
		t.Error(e)
	}
	return doc
}

func TestFindingsJSON(t *testing.T) {
	_, dir := writeReport(t, true, nil)
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc := validateFindingsJSON(t, b)
	findings := doc["findings"].([]any)
	counts := doc["counts"].(map[string]any)
	if int(counts["findings"].(float64)) != len(findings) || len(findings) != 9 {
		t.Errorf("counts.findings = %v, findings = %d, want 9", counts["findings"], len(findings))
	}
	first := findings[0].(map[string]any)
	want := map[string]any{
		"finding_id": "f-x1", "kind": "forbidden", "check_id": nil, "rule_id": "no-downloads", "severity": "critical",
		"status": "violation", "user_id": "ana", "user_name": "ana", "content_type": "workbook", "content_id": "w1",
		"content_name": "Budget", "project_path": "Finance", "capability": "ExportData", "decision": "allow",
		"reason": "CONTENT_OWNER", "deciding_rule": "position:content_owner:w1", "waiver_id": nil, "waiver_until": nil,
		"confidence": "D", "cause_id": "c2", "message": "may download | export", "snapshot_id": "acme/20260101T000000Z",
		"matrix_file": "policy.yaml", "matrix_line": float64(12),
	}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first finding (-want +got):\n%s", diff)
	}
	// Values from Tableau are exact in JSON.
	var names []string
	for _, f := range findings {
		if n, ok := f.(map[string]any)["user_name"].(string); ok {
			names = append(names, n)
		}
	}
	for _, h := range hostile {
		if !slices.Contains(names, h) {
			t.Errorf("JSON lacks user %q exactly", h)
		}
	}
	// The schema documents exactly the fields the writer emits.
	var schema map[string]any
	json.Unmarshal(FindingsSchema, &schema)
	item := schema["properties"].(map[string]any)["findings"].(map[string]any)["items"].(map[string]any)
	if diff := cmp.Diff(jsonFindingFields, asStrings(item["required"])); diff != "" {
		t.Errorf("schema fields differ from the writer's (-writer +schema):\n%s", diff)
	}
	// The validator itself catches a wrong document.
	bad := map[string]any{"schema": "tabaudit.findings.v1", "extra": 1}
	if errs := validate(schema, bad, "$"); len(errs) < 2 {
		t.Errorf("validator accepted a bad document: %v", errs)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestMarkdownGolden(t *testing.T) {
	_, dir := writeReport(t, true, func(o *Options) { o.TopFindings = 5 })
	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md", b)
}

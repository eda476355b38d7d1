package reports

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

// buildModelFile builds a model database file from a site file.
func buildModelFile(t *testing.T, siteFile, path string) {
	t.Helper()
	s, err := site.Load(siteFile)
	if err != nil {
		t.Fatal(err)
	}
	db, err := model.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modeltest.Load(t.Context(), db, s); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDiffGolden(t *testing.T) {
	dir := t.TempDir()
	before, after := filepath.Join(dir, "before.duckdb"), filepath.Join(dir, "after.duckdb")
	buildModelFile(t, "testdata/diff/before.yaml", before)
	buildModelFile(t, "testdata/diff/after.yaml", after)
	db, err := OpenDiff(t.Context(), before, after)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := Diff(context.Background(), db, DiffSide{Catalog: "old", Label: "before"}, DiffSide{Catalog: "new", Label: "after"},
		DiffOptions{Out: filepath.Join(dir, "diff.xlsx"), Formats: []string{"xlsx", "csv", "json", "md"}, ToolVersion: "v-test",
			CommandLine: "tabaudit diff", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "diff.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "diff/diff.md", md)
	// Exactly the four edits, and their consequences on access.
	for key, want := range map[string]map[string]int64{
		"memberships": {"added": 1},
		"rules":       {"added": 1},
		"users":       {"role changed": 1},
		"groups":      {},
		"content":     {"moved": 1},
	} {
		got := res.Counts[key]
		if len(got) != len(want) {
			t.Errorf("%s counts = %v, want %v", key, got, want)
		}
		for c, n := range want {
			if got[c] != n {
				t.Errorf("%s %s = %d, want %d", key, c, got[c], n)
			}
		}
	}
	if len(res.Counts["access"]) == 0 {
		t.Error("no access change")
	}
	b, err := os.ReadFile(filepath.Join(dir, "diff.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema, doc map[string]any
	if err := json.Unmarshal(DiffSchema, &schema); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("diff JSON: %v\n%s", err, b)
	}
	for _, e := range validate(schema, doc, "$") {
		t.Error(e)
	}
	f := openXLSX(t, filepath.Join(dir, "diff.xlsx"))
	if got := strings.Join(f.GetSheetList(), "|"); got != "Summary|Access changes|Rule changes|User changes|Group changes|Membership changes|Content changes|Access changes by user|Access changes by item" {
		t.Errorf("diff sheets = %s", got)
	}
	if r := findRow(t, f, "Summary", "User changes"); r[1] != "1 role changed" {
		t.Errorf("Summary user changes = %q", r)
	}
}

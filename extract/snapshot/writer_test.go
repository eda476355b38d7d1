package snapshot

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestWriterRoundTrip(t *testing.T) {
	root := t.TempDir()
	started := time.Date(2026, 11, 27, 5, 30, 12, 0, time.UTC)
	w, err := NewWriter(root, "finance", started, WriterOptions{BatchRows: 2, Provenance: map[string]string{"server_url": "https://tableau.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	login := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	empty := ""
	rows := [][]any{
		{"u1", "ana", "Ana A", "ana@example.com", "Creator", "ServerDefault", login, "local", nil, "", "en_US", nil},
		{"u2", "ben", nil, &empty, "Viewerish", nil, time.Time{}, "local", "Explorer", nil, nil, `{"language":"fr"}`},
		{"u3", "cam", "", "", "Viewer", "", (*time.Time)(nil), "", "", "", "", nil},
	}
	for _, r := range rows {
		if err := w.Append("users", r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Append("workbooks", "w1", "Sales", "sales", nil, "p1", "u1", true, int64(42), "Project", false, nil, []string{"a", "b"}, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Append("workbooks", "w2", "Empty", nil, nil, "p1", "u1", (*bool)(nil), 7, nil, nil, nil, []string(nil), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	// Type and arity errors name the table and column and leave no row behind.
	if err := w.Append("users", "u4"); err == nil || !strings.Contains(err.Error(), "1 values for 12 columns") {
		t.Errorf("short row: err = %v", err)
	}
	if err := w.Append("workbooks", "w3", "X", nil, nil, "p1", "u1", "yes", int64(1), nil, nil, nil, nil, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "column show_tabs") {
		t.Errorf("bad type: err = %v", err)
	}
	if err := w.Append("nope", "x"); err == nil {
		t.Error("unknown table accepted")
	}
	if matches, _ := filepath.Glob(filepath.Join(root, "site=finance", "snapshot=*")); len(matches) != 0 {
		t.Fatalf("snapshot folder visible before commit: %v", matches)
	}
	dir, err := w.Commit(&Manifest{ToolVersion: "test", Complete: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "site=finance", "snapshot=20261127T053012Z"); dir != want {
		t.Errorf("dir = %s, want %s", dir, want)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, tb := range Tables {
		if !tb.Lineage {
			want = append(want, tb.Name)
		}
	}
	if diff := cmp.Diff(sorted(want), s.Tables()); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	if s.Manifest.SnapshotID != "finance/20261127T053012Z" || s.Manifest.Tables["users"].Rows != 3 || s.Manifest.Tables["groups"].Rows != 0 || s.Manifest.SchemaVersion != SchemaVersion {
		t.Errorf("manifest = %+v", s.Manifest)
	}
	got, err := s.Read(context.Background(), "users")
	if err != nil {
		t.Fatal(err)
	}
	wantUsers := [][]any{
		{"u1", "ana", "Ana A", "ana@example.com", "Creator", "ServerDefault", login, "local", nil, "", "en_US", nil},
		{"u2", "ben", nil, "", "Viewerish", nil, nil, "local", "Explorer", nil, nil, `{"language":"fr"}`},
		{"u3", "cam", "", "", "Viewer", "", nil, "", "", "", "", nil},
	}
	if diff := cmp.Diff(wantUsers, got.Rows); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if got.Metadata["tabaudit.table"] != "users" || got.Metadata["tabaudit.server_url"] != "https://tableau.example.com" || got.Metadata["tabaudit.snapshot_id"] != "finance/20261127T053012Z" {
		t.Errorf("metadata = %v", got.Metadata)
	}
	wb, err := s.Read(context.Background(), "workbooks")
	if err != nil {
		t.Fatal(err)
	}
	wantWB := [][]any{
		{"w1", "Sales", "sales", nil, "p1", "u1", true, int64(42), "Project", false, nil, []string{"a", "b"}, nil, nil, nil},
		{"w2", "Empty", nil, nil, "p1", "u1", nil, int64(7), nil, nil, nil, []string{}, nil, nil, nil},
	}
	if diff := cmp.Diff(wantWB, wb.Rows); diff != "" {
		t.Errorf("workbooks (-want +got):\n%s", diff)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "site=finance")); len(ents) != 1 {
		t.Errorf("site folder holds %d entries, want only the snapshot", len(ents))
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestAbortLeavesNothing(t *testing.T) {
	root := t.TempDir()
	w, err := NewWriter(root, "", time.Now(), WriterOptions{Lineage: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append("lineage_edges", "a", "b", "table>sheet"); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	ents, _ := os.ReadDir(root)
	if len(ents) != 0 {
		t.Errorf("root holds %v after Abort", ents)
	}
	if err := w.Append("lineage_edges", "a", "b", "x"); err == nil {
		t.Error("Append after Abort succeeded")
	}
}

func TestStaleTempCleaned(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "site=default")
	old := filepath.Join(site, TempPrefix+"snapshot=20200101T000000Z-dead")
	young := filepath.Join(site, TempPrefix+"snapshot=20260101T000000Z-live")
	for _, d := range []string{old, young} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if err := os.Chtimes(old, now.Add(-48*time.Hour), now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(root, "", now, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale temp folder kept: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temp folder removed: %v", err)
	}
}

// The committed docs/snapshot-tables.md must match the catalogue.
func TestDocs(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDocs(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "snapshot-tables.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./extract/snapshot -run TestDocs -update)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("docs/snapshot-tables.md is stale; run go test ./extract/snapshot -run TestDocs -update (-committed +generated):\n%s", diff)
	}
}

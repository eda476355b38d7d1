package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

func modelFile(t *testing.T, siteFile, path string) {
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

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &Factory{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Now: func() time.Time { return time.Date(2026, 1, 3, 12, 0, 0, 0, time.UTC) }, Getenv: func(string) string { return "" }, Version: "v-test"}
	code := RunWith(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

func TestReportAndDiffCommands(t *testing.T) {
	dir := t.TempDir()
	before, after := filepath.Join(dir, "before.duckdb"), filepath.Join(dir, "after.duckdb")
	modelFile(t, "../../reports/testdata/diff/before.yaml", before)
	modelFile(t, "../../reports/testdata/diff/after.yaml", after)

	code, out, errOut := runCLI(t, "report", "--db", after, "--out", filepath.Join(dir, "r.xlsx"), "--format", "xlsx,md")
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, errOut)
	}
	want := "wrote " + filepath.Join(dir, "r.xlsx") + "\nwrote " + filepath.Join(dir, "r.md") +
		"\nNo policy check was run on this snapshot: the report has no findings (run `tabaudit check`).\n"
	if out != want {
		t.Errorf("report stdout:\n%s\nwant:\n%s", out, want)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "r.md"))
	if !strings.Contains(string(md), "| Users | Groups |") {
		t.Errorf("r.md:\n%s", md)
	}

	code, out, errOut = runCLI(t, "diff", "--from", before, "--to", after, "--out", filepath.Join(dir, "d.md"), "--format", "md")
	if code != 0 {
		t.Fatalf("diff exit %d: %s", code, errOut)
	}
	for _, line := range []string{"wrote " + filepath.Join(dir, "d.md"), "access: 1 lost, 2 gained", "rules: 1 added",
		"users: 1 role changed", "groups: no change", "memberships: 1 added", "content: 1 moved"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("diff stdout lacks %q:\n%s", line, out)
		}
	}

	if code, _, errOut := runCLI(t, "report", "--db", after, "--format", "pdf"); code != ExitUsage || !strings.Contains(errOut, `format "pdf"`) {
		t.Errorf("bad format: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "diff", "--from", before, "--to", filepath.Join(dir, "nope")); code != ExitUsage || !strings.Contains(errOut, "nope") {
		t.Errorf("missing side: exit %d, %q", code, errOut)
	}
}

func TestWithMemoryHint(t *testing.T) {
	oom := fmt.Errorf("querying Findings: %w", errors.New("Out of Memory Error: failed to pin block"))
	if got := withMemoryHint(oom, "512MB").Error(); !strings.Contains(got, "--memory-limit 512MB: raise it") || !strings.HasPrefix(got, oom.Error()) {
		t.Errorf("hint = %q", got)
	}
	other := errors.New("reading content: no such table")
	if got := withMemoryHint(other, "512MB"); got != other {
		t.Errorf("an error that is not DuckDB's out-of-memory got a hint: %v", got)
	}
}

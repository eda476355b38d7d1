package cli

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/tabaudit/tabaudit/extract"
	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/extract/tableautest"
)

const specVectors = "../../testdata/spec/permission-vectors.yaml"

// The spec's vectors all pass end to end through the CLI (exit 0).
func TestVectorsCommandSpec(t *testing.T) {
	out, errOut, code := runCmd(t, "vectors", specVectors)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	last := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if !strings.HasPrefix(last, "42 vectors, ") || !strings.HasSuffix(last, " passed, 0 failed") {
		t.Errorf("summary %q", last)
	}
	if !strings.Contains(out, "ok   PS-40 uri w1 ChangePermissions: deny LOCKED_PROJECT\n") {
		t.Errorf("no line for PS-40 uri:\n%s", out)
	}
}

// A wrong expectation fails with exit 1 and says what differs.
func TestVectorsCommandFailure(t *testing.T) {
	f := filepath.Join(t.TempDir(), "v.yaml")
	os.WriteFile(f, []byte(`schema: tabaudit-permission-vectors/v2
vectors:
  - id: X-1
    title: wrong on purpose
    site:
      users: [{id: ana, role: Viewer}, {id: adm, role: SiteAdministratorCreator}]
      projects: [{id: p1, owner: adm}]
      items: [{id: w1, type: workbook, project: p1, owner: adm, rules: [{grantee: "user:ana", allow: [Read]}]}]
    findings: ["ORPHAN_OWNER:w1"]
    expect:
      - {user: ana, item: w1, cap: Read, result: deny, reason: UNSPECIFIED}
      - {user: ana, item: w1, cap: Write, result: deny, reason: SITE_ROLE_CEILING}
`), 0o644)
	out, _, code := runCmd(t, "vectors", f)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"FAIL X-1 ana w1 Read: result allow, want deny; reason USER_ALLOW, want UNSPECIFIED",
		"ok   X-1 ana w1 Write: deny SITE_ROLE_CEILING",
		"FAIL X-1 finding ORPHAN_OWNER:w1: finding ORPHAN_OWNER:w1 not reported",
		"1 vectors, 1 expectations passed, 2 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, errOut, code := runCmd(t, "vectors", filepath.Join(t.TempDir(), "none.yaml")); code != ExitUsage || !strings.Contains(errOut, "reading vectors") {
		t.Errorf("missing file: exit %d %s", code, errOut)
	}
}

// extractVectorSite extracts one spec vector's site into root and returns
// the snapshot folder.
func extractVectorSite(t *testing.T, root string) string {
	t.Helper()
	s, err := site.Parse("s.yaml", []byte(`site:
  users: [{id: ana, role: Explorer}, {id: adm, role: SiteAdministratorCreator}]
  groups: [{id: sales, members: [ana]}]
  projects: [{id: p1, owner: adm}]
  items: [{id: w1, type: workbook, project: p1, owner: adm, show_tabs: true, rules: [{grantee: "group:sales", allow: [Read]}]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	srv := tableautest.NewServer(t, s)
	if _, err := extract.Extract(t.Context(), extract.Config{
		ServerURL:   srv.URL,
		Credentials: tableau.Credentials{PATName: tableautest.DefaultPATName, PATSecret: tableautest.DefaultPATSecret, ContentURL: srv.ContentURL},
		OutRoot:     root, NoLineage: true, ToolVersion: "test",
	}); err != nil {
		t.Fatalf("extract: %v", err)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "site=*", "snapshot=*"))
	if len(dirs) != 1 {
		t.Fatalf("snapshots %v", dirs)
	}
	return dirs[0]
}

func TestModelCommand(t *testing.T) {
	root := t.TempDir()
	dir := extractVectorSite(t, root)
	dbPath := filepath.Join(t.TempDir(), "audit.duckdb")
	out, errOut, code := runCmd(t, "model", "--snapshot", dir, "--db", dbPath)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"(complete)", "users 2, items 2 (projects included), principal classes 2, ACL keys 2", "absent: lineage_nodes", "built in"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	db, err := sql.Open("duckdb", dbPath+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	var reason string
	err = db.QueryRow(`SELECT reason FROM effective_permissions WHERE user_id = ? AND content_id = ? AND capability = 'Read' AND basis = 'current'`,
		site.LUID("user", "ana"), site.LUID("workbook", "w1")).Scan(&reason)
	db.Close()
	if err != nil || reason != "GROUP_ALLOW" {
		t.Fatalf("ana Read w1: %q %v", reason, err)
	}

	// History: a second snapshot of the same site; the latest is current.
	out, errOut, code = runCmd(t, "model", "--snapshots", root, "--db", dbPath)
	if code != 0 || !strings.Contains(out, "history: 1 snapshots") {
		t.Fatalf("history: exit %d\n%s\n%s", code, out, errOut)
	}

	// An incomplete snapshot exits 3 and leaves the existing model alone.
	editManifest(t, dir, func(m *snapshot.Manifest) { m.Complete = false; m.Incomplete = []string{"test"} })
	_, errOut, code = runCmd(t, "model", "--snapshot", dir, "--db", dbPath)
	if code != ExitIncomplete || !strings.Contains(errOut, "is incomplete (test); pass --allow-incomplete") {
		t.Errorf("incomplete: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Errorf("the earlier model is gone: %v", err)
	}
	if out, _, code := runCmd(t, "model", "--snapshot", dir, "--db", dbPath, "--allow-incomplete"); code != 0 || !strings.Contains(out, "INCOMPLETE (loaded with --allow-incomplete)") {
		t.Errorf("allow-incomplete: exit %d\n%s", code, out)
	}
	// A newer schema is an input error.
	editManifest(t, dir, func(m *snapshot.Manifest) { m.Complete = true; m.SchemaVersion = 99 })
	if _, errOut, code := runCmd(t, "model", "--snapshot", dir, "--db", dbPath); code != ExitUsage || !strings.Contains(errOut, "schema version 99 is newer") {
		t.Errorf("newer schema: exit %d %s", code, errOut)
	}
	if _, errOut, code := runCmd(t, "model", "--db", dbPath); code != ExitUsage || !strings.Contains(errOut, "give exactly one of --snapshot DIR or --snapshots ROOT") {
		t.Errorf("no snapshot: exit %d %s", code, errOut)
	}
}

func editManifest(t *testing.T, dir string, fn func(*snapshot.Manifest)) {
	t.Helper()
	p := filepath.Join(dir, snapshot.ManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m snapshot.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(&m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

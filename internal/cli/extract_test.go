package cli

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/extract/tableautest"
)

// extractSite is a small site with a non-admin user "nina".
func extractSite(t *testing.T) *site.Site {
	t.Helper()
	s, err := site.Parse("cli.yaml", []byte(`site:
  content_url: finance
  users: [{id: adm, role: SiteAdministratorCreator}, {id: nina, role: Explorer}, {id: own, role: Creator}]
  groups: [{id: sales, members: [nina]}]
  projects: [{id: p1, owner: adm, rules: [{grantee: "group:sales", template: View}]}]
  items:
    - {id: w1, type: workbook, project: p1, owner: own, rules: [{grantee: "group:sales", allow: [Read]}]}
    - {id: w2, type: workbook, project: p1, owner: nina}
`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type extractCase struct {
	code           int
	stdout, stderr string
	manifest       *snapshot.Manifest
	files          string // every file written, concatenated
}

func runExtract(t *testing.T, env map[string]string, args ...string) extractCase {
	t.Helper()
	var out, errOut syncBuffer
	f := &Factory{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Now: time.Now,
		Getenv: func(k string) string { return env[k] }, Version: "test"}
	f.Logger = slog.New(slog.NewTextHandler(&errOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	code := RunWith(context.Background(), f, append([]string{"extract", "--log-level", "debug"}, args...))
	c := extractCase{code: code, stdout: out.String(), stderr: errOut.String()}
	var files strings.Builder
	for _, a := range args {
		if root, ok := strings.CutPrefix(a, "--out="); ok {
			_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, _ := os.ReadFile(p)
					files.Write(b)
					if d.Name() == snapshot.ManifestFile {
						c.manifest, _ = snapshot.ReadManifest(filepath.Dir(p))
					}
				}
				return nil
			})
		}
	}
	c.files = files.String()
	return c
}

// noSecrets checks every output, log, error and file for the secrets.
func noSecrets(t *testing.T, c extractCase, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for where, text := range map[string]string{"stdout": c.stdout, "stderr/log": c.stderr, "snapshot files": c.files} {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("secret %q… found in %s", s[:4], where)
			}
		}
	}
}

func TestExtractCommand(t *testing.T) {
	s := extractSite(t)
	srv := tableautest.NewServer(t, s, tableautest.WithPAT("nina-pat", "nina-secret-0123456789", "nina"),
		tableautest.WithFaults(tableautest.Faults{SessionExpiryRequests: 20}))
	env := map[string]string{"TABLEAU_SERVER_URL": srv.URL, "TABLEAU_SITE_ID": "finance",
		"TABLEAU_PAT_NAME": tableautest.DefaultPATName, "TABLEAU_PAT_SECRET": tableautest.DefaultPATSecret}

	t.Run("complete", func(t *testing.T) {
		out := t.TempDir()
		c := runExtract(t, env, "--out="+out, "--no-lineage")
		if c.code != ExitOK {
			t.Fatalf("exit %d\n%s\n%s", c.code, c.stdout, c.stderr)
		}
		for _, want := range []string{"snapshot finance/", "permission_rules", "COMPLETE", "re-sign-ins"} {
			if !strings.Contains(c.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, c.stdout)
			}
		}
		if c.manifest == nil || !c.manifest.Complete || c.manifest.SignedInRole != "SiteAdministratorCreator" || c.manifest.ReSignIns == 0 {
			t.Errorf("manifest = %+v", c.manifest)
		}
		// Session tokens of the simulator contain "|"; none may leak.
		noSecrets(t, c, tableautest.DefaultPATSecret)
		if strings.Contains(c.files+c.stdout+c.stderr, "X-Tableau-Auth:") {
			t.Error("auth header printed")
		}
	})

	t.Run("non-admin warns and is incomplete", func(t *testing.T) {
		out := t.TempDir()
		env2 := map[string]string{"TABLEAU_SERVER_URL": srv.URL, "TABLEAU_SITE_ID": "finance", "TABLEAU_PAT_NAME": "nina-pat", "TABLEAU_PAT_SECRET": "nina-secret-0123456789"}
		c := runExtract(t, env2, "--out="+out, "--no-lineage")
		if c.code != ExitIncomplete {
			t.Fatalf("exit %d, want %d\n%s\n%s", c.code, ExitIncomplete, c.stdout, c.stderr)
		}
		if c.manifest == nil || c.manifest.Complete || !strings.Contains(strings.Join(c.manifest.Warnings, "\n"), "NOT AN ADMINISTRATOR") {
			t.Errorf("manifest = %+v", c.manifest)
		}
		noSecrets(t, c, "nina-secret-0123456789")
	})

	t.Run("wrong token", func(t *testing.T) {
		out := t.TempDir()
		env2 := map[string]string{"TABLEAU_SERVER_URL": srv.URL, "TABLEAU_SITE_ID": "finance", "TABLEAU_PAT_NAME": "audit", "TABLEAU_PAT_SECRET": "wrong-secret-987654321"}
		c := runExtract(t, env2, "--out="+out)
		if c.code != ExitUsage || !strings.Contains(c.stderr, `signing in to site "finance"`) || !strings.Contains(c.stderr, "401001") {
			t.Errorf("exit %d stderr %s", c.code, c.stderr)
		}
		noSecrets(t, c, "wrong-secret-987654321")
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Errorf("output folder not empty: %v", ents)
		}
	})

	t.Run("site the user cannot see", func(t *testing.T) {
		c := runExtract(t, env, "--out="+t.TempDir(), "--site", "hr")
		if c.code != ExitUsage || !strings.Contains(c.stderr, `"hr"`) {
			t.Errorf("exit %d stderr %s", c.code, c.stderr)
		}
		noSecrets(t, c, tableautest.DefaultPATSecret)
	})

	t.Run("wrong URL", func(t *testing.T) {
		c := runExtract(t, env, "--out="+t.TempDir(), "--server", "http://127.0.0.1:1")
		if c.code != ExitUsage || !strings.Contains(c.stderr, "serverinfo") {
			t.Errorf("exit %d stderr %s", c.code, c.stderr)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		c := runExtract(t, map[string]string{"TABLEAU_SERVER_URL": srv.URL}, "--out="+t.TempDir())
		if c.code != ExitUsage || !strings.Contains(c.stderr, "TABLEAU_PAT_NAME") {
			t.Errorf("exit %d stderr %s", c.code, c.stderr)
		}
		c = runExtract(t, env, "--out="+t.TempDir(), "--page-size", "5000")
		if c.code != ExitUsage || !strings.Contains(c.stderr, "--page-size 5000") {
			t.Errorf("exit %d stderr %s", c.code, c.stderr)
		}
	})
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tabaudit.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunConfigErrors(t *testing.T) {
	env := map[string]string{"TABLEAU_PAT_NAME": "n", "TABLEAU_PAT_SECRET": "s"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown key", "server: https://t.example\nsitez: [a]\n", []string{`tabaudit.yaml:2: unknown key "sitez"`}},
		{"inline secret", "server: https://t.example\nauth:\n  pat_secret: abc\n", []string{`tabaudit.yaml:3: unknown key "pat_secret" (secrets never go in the config file; use pat_secret_env or pat_secret_file)`}},
		{"missing env", "server: https://t.example\nauth: {pat_secret_env: MY_SECRET}\n", []string{"auth.pat_secret_env: environment variable MY_SECRET is not set"}},
		{"bad url", "server: tableau.example\n", []string{`server: "tableau.example" is not an http(s) URL`}},
		{"bad fail_on", "server: https://t.example\nfail_on: severe\n", []string{`fail_on: "severe": want one of`}},
		{"missing matrix", "server: https://t.example\nmatrix: nope.yaml\n", []string{"matrix: stat", "nope.yaml: no such file"}},
		{"bad method", "server: https://t.example\nauth: {method: kerberos}\n", []string{`auth.method: "kerberos": want pat, jwt or password`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.body)
			cfg, err := loadRunConfig(p)
			if err == nil {
				err = cfg.validate(getenv)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %v\nwant it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("error leaks the inline secret: %v", err)
			}
		})
	}
}

func TestRunConfigUnwritableOutput(t *testing.T) {
	// Root writes anywhere, so make the output path sit under a plain file.
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	p := writeConfig(t, "server: https://t.example\noutput: "+filepath.Join(blocker, "out")+"\n")
	cfg, err := loadRunConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.validate(func(string) string { return "x" })
	if err == nil || !strings.Contains(err.Error(), "output:") {
		t.Fatalf("error = %v, want an output error", err)
	}
}

func TestRunConfigDefaults(t *testing.T) {
	p := writeConfig(t, "server: https://t.example\nsites: [finance, hr]\n")
	cfg, err := loadRunConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(func(string) string { return "x" }); err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.Method != "pat" || cfg.Auth.PATSecretEnv != "TABLEAU_PAT_SECRET" || cfg.FailOn != "high" ||
		cfg.ParallelSites != 2 || filepath.Base(cfg.Output) != "tabaudit-out" || strings.Join(cfg.Formats, ",") != "xlsx,md" {
		t.Errorf("defaults = %+v", cfg)
	}
}

package cli

import (
	"github.com/tabaudit/tabaudit/extract"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	out, _, code := runCmd(t, "version")
	if code != 0 || !strings.HasPrefix(out, "tabaudit test\n") || !strings.Contains(out, "spec:       permission-semantics v2") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestGlobalFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"version", "--log-level", "loud"}, `--log-level "loud": want debug, info, warn or error`},
		{[]string{"version", "--log-format", "xml"}, `--log-format "xml": want text or json`},
		{[]string{"nosuch"}, `unknown command "nosuch"`},
		{[]string{"version", "--nosuch"}, "unknown flag: --nosuch"},
	}
	for _, tt := range tests {
		_, errOut, code := runCmd(t, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// Values from Tableau in query output must not run as formulas when the CSV
// is opened in a spreadsheet; numbers stay numbers.
func TestQueryCSVGuardsFormulas(t *testing.T) {
	db := demoDB(t)
	out, _, code := runCmd(t, "sql", "--db", db, "--format", "csv", "SELECT '=HYPERLINK(\"x\")' AS name, -1 AS n, '+cmd' AS c")
	if code != 0 || out != "name,n,c\n\"'=HYPERLINK(\"\"x\"\")\",-1,'+cmd\n" {
		t.Errorf("exit %d\n%q", code, out)
	}
}

func TestProgressRendererTerminal(t *testing.T) {
	var b strings.Builder
	p := newProgressRenderer(&b, true)
	pr := extract.Progress{Site: "acme", Requests: 7, Stages: []extract.StageProgress{{Name: "users", Done: 5, Total: 10}, {Name: "permissions", Done: 0, Total: 40}}}
	p.update(pr)
	pr.Stages[0].Done = 10
	p.update(pr)
	out := b.String()
	if !strings.Contains(out, "\x1b[3A") || strings.Count(out, "users") != 2 || !strings.Contains(out, "10/10") || !strings.Contains(out, "0/40") {
		t.Errorf("terminal progress:\n%q", out)
	}
	b.Reset()
	q := newProgressRenderer(&b, false)
	q.update(pr)
	if got := b.String(); !strings.Contains(got, "users 10/10, permissions 0/40") || strings.Contains(got, "\x1b") {
		t.Errorf("plain progress: %q", got)
	}
}

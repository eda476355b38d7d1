package cli

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/tableautest"
	"github.com/tabaudit/tabaudit/internal/demo"
)

// readmeCommands returns every command line of the README's ```sh blocks.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "```sh":
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && line != "" && !strings.HasPrefix(line, "#"):
			cmds = append(cmds, line)
		}
	}
	return cmds
}

// splitShell splits a command line the way sh would for the simple lines in
// the README: single and double quotes, $VAR expansion, no pipes.
func splitShell(line string, env map[string]string) []string {
	var args []string
	var cur strings.Builder
	inArg := false
	quote := byte(0)
	expand := func(s string) string {
		return envVar.ReplaceAllStringFunc(s, func(v string) string { return env[v[1:]] })
	}
	flush := func() {
		if inArg {
			args = append(args, cur.String())
		}
		cur.Reset()
		inArg = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '\'':
			cur.WriteByte(c)
		case quote == '"':
			if c == '$' {
				j := i + 1
				for j < len(line) && (line[j] == '_' || (line[j] >= 'A' && line[j] <= 'Z')) {
					j++
				}
				cur.WriteString(expand(line[i:j]))
				i = j - 1
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == ' ':
			flush()
		case c == '$':
			j := i + 1
			for j < len(line) && (line[j] == '_' || (line[j] >= 'A' && line[j] <= 'Z')) {
				j++
			}
			cur.WriteString(expand(line[i:j]))
			inArg = true
			i = j - 1
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	flush()
	return args
}

var envVar = regexp.MustCompile(`\$[A-Z_]+`)

var readmeSnapshot = regexp.MustCompile(`snapshots/site=[a-z]+/snapshot=\d{8}T\d{6}Z`)

// TestREADMECommands runs every command the README shows, as a new user
// would, against the simulator: the demo, the step-by-step audit against a
// "real" server (the simulator, through the documented environment
// variables), and every command example.
func TestREADMECommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline several times")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	s, err := demo.Site()
	if err != nil {
		t.Fatal(err)
	}
	s.ContentURL, s.ID = "finance", "finance"
	srv := tableautest.NewServer(t, s)

	commands := readmeCommands(t)
	dir := t.TempDir()
	t.Chdir(dir)
	for _, link := range []string{"testdata", "examples"} {
		if err := os.Symlink(filepath.Join(repo, link), link); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile("matrix.yaml", demo.Matrix, 0o600)
	os.WriteFile("tabaudit.yaml", []byte("server: "+srv.URL+"\nsites: [finance]\noutput: audits\nmatrix: matrix.yaml\n"), 0o600)
	env := map[string]string{
		"TABLEAU_SERVER_URL": srv.URL, "TABLEAU_SITE_ID": "finance",
		"TABLEAU_PAT_NAME": tableautest.DefaultPATName, "TABLEAU_PAT_SECRET": tableautest.DefaultPATSecret,
	}
	ran := 0
	for _, line := range commands {
		var args []string
		switch {
		case strings.HasPrefix(line, "go run ./cmd/tabaudit "):
			args = splitShell(strings.TrimPrefix(line, "go run ./cmd/tabaudit "), env)
		case strings.HasPrefix(line, "tabaudit "):
			args = splitShell(strings.TrimPrefix(line, "tabaudit "), env)
		case strings.HasPrefix(line, "export "):
			// The README's values are placeholders; the simulator's stand in.
			continue
		case line == "go test ./...", strings.HasPrefix(line, "go install "):
			continue
		default:
			t.Errorf("README command not understood by this test: %q", line)
			continue
		}
		newFactory := func(out, errOut *bytes.Buffer) *Factory {
			return &Factory{
				IO:  IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut},
				Now: time.Now, Getenv: func(k string) string { return env[k] }, Version: "readme-test",
			}
		}
		if strings.Contains(line, "diff --from") {
			args = diffArgs(t, args, func(a ...string) int {
				var o bytes.Buffer
				return RunWith(context.Background(), newFactory(&o, &o), append(a, "--log-level", "error"))
			})
		}
		for i, a := range args {
			if strings.Contains(a, "*") {
				if m, _ := filepath.Glob(a); len(m) > 0 {
					args[i] = m[len(m)-1]
				}
			}
		}
		var out, errOut bytes.Buffer
		f := newFactory(&out, &errOut)
		ctx := context.Background()
		if len(args) >= 2 && args[0] == "sim" && args[1] == "serve" {
			// A server runs until stopped: give it a moment to come up.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			for i, a := range args {
				if a == "--addr" && i+1 < len(args) {
					args[i+1] = "127.0.0.1:0"
				}
			}
		}
		code := RunWith(ctx, f, append(args, "--log-level", "error"))
		ran++
		gate := args[0] == "check" && !contains(args, "--validate") || args[0] == "run" && !contains(args, "--dry-run")
		switch {
		case args[0] == "sim":
			if !strings.Contains(out.String()+errOut.String(), "http://127.0.0.1:") {
				t.Errorf("%s: no URL printed:\n%s%s", line, out.String(), errOut.String())
			}
		case gate && code == ExitFindings:
			// The demo site has findings at or above high, as the README says.
		case code != ExitOK:
			t.Errorf("README command %q: exit %d\nstdout:\n%s\nstderr:\n%s", line, code, out.String(), errOut.String())
		}
	}
	if ran < 20 {
		t.Errorf("ran %d README commands; the README should show every command", ran)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// diffArgs points the README's example snapshot folders at two real ones:
// the snapshot the README's extract wrote and a second one taken now.
func diffArgs(t *testing.T, args []string, run func(args ...string) int) []string {
	t.Helper()
	time.Sleep(1100 * time.Millisecond) // snapshot folders are named to the second
	if code := run("extract", "--out", "snapshots"); code != ExitOK {
		t.Fatalf("second extract for the diff example: exit %d", code)
	}
	snaps, _ := filepath.Glob("snapshots/site=finance/snapshot=*")
	if len(snaps) < 2 {
		t.Fatalf("want two snapshots to diff, have %v", snaps)
	}
	n := 0
	for i, a := range args {
		if readmeSnapshot.MatchString(a) {
			args[i] = snaps[min(n, len(snaps)-1)]
			n++
		}
	}
	return args
}

package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest"
	"github.com/tabaudit/tabaudit/internal/demo"
)

// multiSite fronts one simulator per site so a single server URL serves
// several sites, as Tableau Server does: sign-in is routed by the site's
// content URL, later requests by the site LUID in the path or by the token.
type multiSite struct {
	mu      sync.Mutex
	byURL   map[string]*httputil.ReverseProxy // content URL -> simulator
	byLUID  map[string]*httputil.ReverseProxy
	byToken map[string]*httputil.ReverseProxy
	any     *httputil.ReverseProxy
}

var (
	siteInBody  = regexp.MustCompile(`contentUrl="([^"]*)"`)
	tokenInBody = regexp.MustCompile(`token="([^"]+)"`)
	siteInPath  = regexp.MustCompile(`/sites/([0-9a-f-]{36})`)
)

func newMultiSite(t *testing.T, sites ...*site.Site) *httptest.Server {
	t.Helper()
	m := &multiSite{byURL: map[string]*httputil.ReverseProxy{}, byLUID: map[string]*httputil.ReverseProxy{}, byToken: map[string]*httputil.ReverseProxy{}}
	for _, s := range sites {
		srv := tableautest.NewServer(t, s)
		u, _ := url.Parse(srv.URL)
		p := httputil.NewSingleHostReverseProxy(u)
		m.byURL[s.ContentURL] = p
		m.byLUID[srv.SiteLUID] = p
		m.any = p
	}
	hs := httptest.NewServer(m)
	t.Cleanup(hs.Close)
	return hs
}

func (m *multiSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	p := m.any
	if tok := r.Header.Get("X-Tableau-Auth"); tok != "" && m.byToken[tok] != nil {
		p = m.byToken[tok]
	}
	if sm := siteInPath.FindStringSubmatch(r.URL.Path); sm != nil && m.byLUID[sm[1]] != nil {
		p = m.byLUID[sm[1]]
	}
	m.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/auth/signin") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if sm := siteInBody.FindSubmatch(body); sm != nil && m.byURL[string(sm[1])] != nil {
			p = m.byURL[string(sm[1])]
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		if tm := tokenInBody.FindSubmatch(rec.Body.Bytes()); tm != nil {
			m.mu.Lock()
			m.byToken[string(tm[1])] = p
			m.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	p.ServeHTTP(w, r)
}

func demoSiteAs(t *testing.T, contentURL string, change func(*site.Site)) *site.Site {
	t.Helper()
	s, err := demo.Site()
	if err != nil {
		t.Fatal(err)
	}
	s.ContentURL, s.ID = contentURL, contentURL
	if change != nil {
		change(s)
	}
	return s
}

type runCase struct {
	stdout, stderr string
	code           int
	out            string
}

func runAudit(t *testing.T, server string, extraConfig string, args ...string) runCase {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "matrix.yaml"), demo.Matrix, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "server: " + server + "\nsites: [acme, acme-eu]\noutput: out\nmatrix: matrix.yaml\nformats: [xlsx, md]\n" + extraConfig
	if err := os.WriteFile(filepath.Join(dir, "tabaudit.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env := map[string]string{"TABLEAU_PAT_NAME": tableautest.DefaultPATName, "TABLEAU_PAT_SECRET": tableautest.DefaultPATSecret}
	f := &Factory{
		IO:      IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr},
		Now:     func() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) },
		Getenv:  func(k string) string { return env[k] },
		Version: "test",
	}
	code := RunWith(context.Background(), f, append([]string{"run", "--config", filepath.Join(dir, "tabaudit.yaml"), "--log-level", "error"}, args...))
	return runCase{stdout.String(), stderr.String(), code, filepath.Join(dir, "out")}
}

var (
	durations = regexp.MustCompile(`\d+(\.\d+)?(ms|s|µs|m\d+s)\b( \(\d+%\))?`)
	tempPaths = regexp.MustCompile(`/\S*/out/`)
	snapTimes = regexp.MustCompile(`\d{8}T\d{6}Z`)
	localURLs = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
)

func normalise(s string) string {
	s = durations.ReplaceAllString(s, "<dur>")
	s = tempPaths.ReplaceAllString(s, "<out>/")
	s = localURLs.ReplaceAllString(s, "<server>")
	// Column widths follow the lengths of the values just replaced.
	s = regexp.MustCompile(` {2,}`).ReplaceAllString(s, "  ")
	return snapTimes.ReplaceAllString(s, "<time>")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "run", name)
	if *update {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
}

func TestRunTwoSites(t *testing.T) {
	if testing.Short() {
		t.Skip("full pipeline on two sites")
	}
	hs := newMultiSite(t,
		demoSiteAs(t, "acme", nil),
		demoSiteAs(t, "acme-eu", func(s *site.Site) {
			// The EU site has no Sales drift in Finance.
			p := s.ProjectByID("finance")
			p.Defaults["workbook"] = p.Defaults["workbook"][:1]
		}))

	// Findings at or above high: exit 1, both sites audited, reports written.
	r := runAudit(t, hs.URL, "fail_on: high\n")
	if r.code != ExitFindings {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "two-sites.stdout", normalise(r.stdout))
	for _, s := range []string{"acme", "acme-eu"} {
		for _, f := range []string{"report.xlsx", "report.md", "audit.duckdb"} {
			matches, _ := filepath.Glob(filepath.Join(r.out, "runs", "*", s, f))
			if len(matches) != 1 {
				t.Errorf("site %s: %s written %d times, want once", s, f, len(matches))
			}
		}
		snaps, _ := filepath.Glob(filepath.Join(r.out, "snapshots", "site="+s, "snapshot=*", "manifest.json"))
		if len(snaps) != 1 {
			t.Errorf("site %s: %d snapshots, want 1", s, len(snaps))
		}
	}

	// The same run gated only on critical findings is clean.
	if r := runAudit(t, hs.URL, "fail_on: critical\n"); r.code != ExitOK {
		t.Errorf("fail_on critical: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestRunExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("full pipeline")
	}
	t.Run("incomplete snapshot", func(t *testing.T) {
		hs := newMultiSite(t,
			demoSiteAs(t, "acme", nil),
			demoSiteAs(t, "acme-eu", func(s *site.Site) {
				// A table the Metadata API withholds: lineage is incomplete.
				s.Lineage.Tables[0].Hidden = true
			}))
		r := runAudit(t, hs.URL, "fail_on: none\n")
		if r.code != ExitIncomplete {
			t.Fatalf("exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "site acme-eu") || !strings.Contains(r.stderr, "INCOMPLETE") {
			t.Errorf("stderr does not name the incomplete site:\n%s", r.stderr)
		}
		if !strings.Contains(r.stdout, "acme     ") || !strings.Contains(r.stdout, "incomplete") {
			t.Errorf("summary:\n%s", r.stdout)
		}
	})
	t.Run("unreachable server", func(t *testing.T) {
		r := runAudit(t, "http://127.0.0.1:1", "")
		if r.code != ExitUsage || !strings.Contains(r.stderr, "not reachable") {
			t.Fatalf("exit %d, stderr %q; want 2 naming the unreachable server", r.code, r.stderr)
		}
	})
	t.Run("bad config key", func(t *testing.T) {
		r := runAudit(t, "https://t.example", "matrixx: x\n")
		if r.code != ExitUsage || !strings.Contains(r.stderr, `unknown key "matrixx"`) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestRunDryRun(t *testing.T) {
	hs := newMultiSite(t, demoSiteAs(t, "acme", nil), demoSiteAs(t, "acme-eu", nil))
	r := runAudit(t, hs.URL, "", "--dry-run")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "dry-run.stdout", normalise(r.stdout))
	if _, err := os.Stat(filepath.Join(r.out, "snapshots")); err == nil {
		t.Error("dry run wrote snapshots")
	}
}

package metadata

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
)

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	testPATName   = "tabaudit-sim"
	testPATSecret = "sim-secret-do-not-use-in-prod"
)

// fault lets a test replace or rewrite one GraphQL exchange. n counts
// GraphQL requests from 1; op is the operation name. Returning false passes
// the request to the simulator unchanged.
type fault func(n int, op string, body []byte, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool

// sim is an httptest server with a minimal REST sign-in in front of the
// Metadata API simulator: the shape tableautest.NewServer gives, without its
// REST surface.
type sim struct {
	URL      string
	requests atomic.Int64
}

func newSim(t testing.TB, s *site.Site, cfg metadatasim.Config, latency time.Duration, f fault) *sim {
	t.Helper()
	h := metadatasim.New(s, cfg)
	sm := &sim{}
	var mu sync.Mutex
	token := ""
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/3.29/auth/signin", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Credentials struct {
				Name   string `json:"personalAccessTokenName"`
				Secret string `json:"personalAccessTokenSecret"`
			} `json:"credentials"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Credentials.Name != testPATName || body.Credentials.Secret != testPATSecret {
			http.Error(w, `{"error":{"code":"401001","summary":"Signin Error"}}`, http.StatusUnauthorized)
			return
		}
		mu.Lock()
		token = fmt.Sprintf("tok-%d", time.Now().UnixNano())
		tok := token
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"credentials":{"token":%q,"site":{"id":"s","contentUrl":%q},"user":{"id":"u"}}}`, tok, s.ContentURL)
	})
	mux.HandleFunc("/api/metadata/graphql", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := token != "" && r.Header.Get("X-Tableau-Auth") == token
		mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"timestamp":1,"status":401,"error":"Unauthorized","message":"","path":"/relationship-service-war/graphql"}`))
			return
		}
		n := int(sm.requests.Add(1))
		if latency > 0 {
			time.Sleep(latency)
		}
		body, _ := io.ReadAll(r.Body)
		var req struct {
			OperationName string `json:"operationName"`
		}
		_ = json.Unmarshal(body, &req)
		next := func() *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			r2 := r.Clone(r.Context())
			r2.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(rec, r2)
			return rec
		}
		if f != nil && f(n, req.OperationName, body, w, next) {
			return
		}
		rec := next()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sm.URL = srv.URL
	return sm
}

// signInDoer signs in once with the simulator's default PAT over plain HTTP
// and sets X-Tableau-Auth; it neither retries nor signs in again (that is
// the REST client's job, not this package's).
type signInDoer struct {
	base  string
	site  string // content URL
	hc    *http.Client
	once  sync.Once
	token string
	err   error
}

func newDoer(base, contentURL string) *signInDoer {
	return &signInDoer{base: base, site: contentURL, hc: &http.Client{Timeout: time.Minute}}
}

func (d *signInDoer) Do(r *http.Request) (*http.Response, error) {
	d.once.Do(func() {
		body := fmt.Sprintf(`{"credentials":{"personalAccessTokenName":%q,"personalAccessTokenSecret":%q,"site":{"contentUrl":%q}}}`, testPATName, testPATSecret, d.site)
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, d.base+"/api/3.29/auth/signin", strings.NewReader(body))
		if err != nil {
			d.err = err
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := d.hc.Do(req)
		if err != nil {
			d.err = err
			return
		}
		defer resp.Body.Close()
		var out struct {
			Credentials struct {
				Token string `json:"token"`
			} `json:"credentials"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			d.err = fmt.Errorf("signing in: HTTP %d: %v", resp.StatusCode, err)
			return
		}
		d.token = out.Credentials.Token
	})
	if d.err != nil {
		return nil, d.err
	}
	r.Header.Set("X-Tableau-Auth", d.token)
	return d.hc.Do(r)
}

// rows collects emitted rows per table.
type rows struct {
	mu     sync.Mutex
	tables map[string][][]any
}

func (r *rows) emit(table string, row []any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tables == nil {
		r.tables = map[string][][]any{}
	}
	r.tables[table] = append(r.tables[table], row)
	return nil
}

func loadSite(t testing.TB, name string) *site.Site {
	t.Helper()
	s, err := site.Load(filepath.Join("..", "..", "testdata", "lineage", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// namer replaces the ids and luids a site file determines by readable
// names, so golden files say "sheet:sh-hidden" instead of a UUID.
func namer(s *site.Site) func(string) string {
	m := map[string]string{}
	gid := func(kind, id string) { m[metadatasim.GraphID(kind, id)] = kind + ":" + id }
	luid := func(kind, id string) { m[site.LUID(kind, id)] = "luid:" + kind + ":" + id }
	for _, it := range s.Items {
		luid(it.Type, it.ID)
		switch it.Type {
		case "workbook":
			gid("workbook", it.ID)
		case "datasource":
			gid("published_datasource", it.ID)
		case "flow":
			gid("flow", it.ID)
		case "virtualconnection":
			gid("virtual_connection", it.ID)
		case "database":
			gid("database", it.ID)
		case "table":
			gid("table", it.ID)
		case "view":
			gid("sheet", metadatasim.SyntheticSheetID(it.ID))
		}
	}
	for _, p := range s.Projects {
		luid("project", p.ID)
	}
	for _, u := range s.Users {
		luid("user", u.ID)
	}
	if l := s.Lineage; l != nil {
		for _, x := range l.Databases {
			gid("database", x.ID)
			luid("database", x.ID)
		}
		for _, x := range l.Tables {
			gid("table", x.ID)
			luid("table", x.ID)
			for _, c := range x.Columns {
				gid("column", x.ID+"."+c)
				luid("column", x.ID+"."+c)
			}
		}
		for _, x := range l.CustomSQL {
			gid("custom_sql", x.ID)
		}
		for _, x := range l.EmbeddedDatasources {
			gid("embedded_datasource", x.ID)
		}
		for _, x := range l.VirtualConnectionTables {
			gid("virtual_connection_table", x.ID)
			luid("virtualconnectiontable", x.ID)
		}
		for _, x := range l.Sheets {
			gid("sheet", x.ID)
			for _, c := range x.Columns {
				gid("column", c)
				luid("column", c)
			}
		}
		for _, x := range l.Dashboards {
			gid("dashboard", x.ID)
		}
	}
	return func(v string) string {
		if n, ok := m[v]; ok {
			return n
		}
		// UUIDs inside a value (extra_json) too.
		return uuidRE.ReplaceAllStringFunc(v, func(u string) string {
			if n, ok := m[u]; ok {
				return n
			}
			return u
		})
	}
}

// render turns emitted rows into sorted TSV with symbolic ids.
func render(r *rows, name func(string) string) string {
	var b strings.Builder
	for _, table := range []string{"lineage_nodes", "lineage_edges"} {
		tbl, _ := snapshot.Lookup(table)
		var cols []string
		for _, c := range tbl.Columns {
			cols = append(cols, c.Name)
		}
		fmt.Fprintf(&b, "## %s\n%s\n", table, strings.Join(cols, "\t"))
		var lines []string
		for _, row := range r.tables[table] {
			var f []string
			for _, v := range row {
				switch x := v.(type) {
				case nil:
					f = append(f, "∅")
				case string:
					f = append(f, name(x))
				default:
					f = append(f, fmt.Sprint(x))
				}
			}
			lines = append(lines, strings.Join(f, "\t"))
		}
		sort.Strings(lines)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden (run with -update to accept):\n%s", name, lineDiff(string(want), got))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	ws, gs := map[string]bool{}, map[string]bool{}
	for _, l := range w {
		ws[l] = true
	}
	for _, l := range g {
		gs[l] = true
	}
	var b strings.Builder
	for _, l := range w {
		if !gs[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !ws[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/extract/tableautest"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// The synthetic M site round-trips losslessly too (about 21,000 requests).
func TestRoundTripSyntheticM(t *testing.T) {
	if testing.Short() {
		t.Skip("M round trip takes ~15 s; skipped with -short")
	}
	s, err := site.Generate("M", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := tableautest.NewServer(t, s)
	cfg := testConfig(t, srv)
	cfg.Concurrency = 16
	start := time.Now()
	res := extractOne(t, cfg)
	t.Logf("M: %d requests in %s", res.Manifest.Requests, time.Since(start).Round(time.Millisecond))
	if !res.Manifest.Complete {
		t.Fatalf("incomplete: %v %v", res.Manifest.Incomplete, res.Manifest.Failures[:min(5, len(res.Manifest.Failures))])
	}
	if diff := cmp.Diff(expected(t, s), got(t, res.Dir)); diff != "" {
		t.Errorf("snapshot differs from the site file (-want +got):\n%s", diff)
	}
	if min := minimumRequests(s, 1000); float64(res.Manifest.Requests) > 1.05*float64(min) {
		t.Errorf("%d requests, more than 5%% over the minimum %d", res.Manifest.Requests, min)
	}
}

// minimumRequests is the fewest REST requests that can read the site with
// the given page size: every list page, one permissions call per item, nine
// default-permission calls per project, one table-defaults call per
// database, every page of every group's members, and serverinfo, sign-in,
// the site, the signed-in user and sign-out.
func minimumRequests(s *site.Site, pageSize int) int {
	pages := func(n int) int { return max(1, (n+pageSize-1)/pageSize) }
	count := map[string]int{}
	for _, it := range s.Items {
		count[it.Type]++
	}
	n := 5 // serverinfo, sign-in, site, signed-in user, sign-out
	n += pages(len(s.Users)) + pages(len(s.Groups)) + pages(len(s.GroupSets)) + pages(len(s.Projects))
	for _, typ := range []string{caps.Workbook, caps.View, caps.Datasource, caps.Flow, caps.VirtualConnection, caps.Database, caps.Table} {
		n += pages(count[typ]) + count[typ] // list + permissions of each item
	}
	n += pages(len(s.Jobs)) + pages(len(s.Schedules)) + 1 // jobs, schedules, extract refresh tasks
	n += len(s.Projects) * (1 + len(caps.DefaultPermissionTypes))
	n += count[caps.Database]
	for _, g := range s.Groups {
		n += pages(len(g.Members))
	}
	return n
}

// --- benchmarks --------------------------------------------------------------
//
// Run them one at a time (each generates a site and starts a simulator):
//
//	go test ./extract -run '^$' -bench 'BenchmarkExtractM$' -benchtime 1x -timeout 60m
//	go test ./extract -run '^$' -bench 'BenchmarkBaselineM$' -benchtime 1x -timeout 60m
//	go test ./extract -run '^$' -bench 'BenchmarkExtractL$' -benchtime 1x -timeout 60m
//
// Each runs the extraction in a child process (this test binary re-executed)
// so that its peak RSS is measured alone, without the simulator.

const childEnv = "TABAUDIT_BENCH_CHILD"

type childResult struct {
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
	Complete bool    `json:"complete"`
}

// TestMain runs the benchmark child when asked to.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(benchChild(mode))
	}
	os.Exit(m.Run())
}

func benchChild(mode string) int {
	url, out := os.Getenv("TABAUDIT_BENCH_URL"), os.Getenv("TABAUDIT_BENCH_OUT")
	conc, _ := strconv.Atoi(os.Getenv("TABAUDIT_BENCH_CONCURRENCY"))
	creds := tableau.Credentials{PATName: tableautest.DefaultPATName, PATSecret: tableautest.DefaultPATSecret, ContentURL: os.Getenv("TABAUDIT_BENCH_SITE")}
	start := time.Now()
	var r childResult
	switch mode {
	case "extract":
		res, err := Extract(context.Background(), Config{ServerURL: url, Credentials: creds, OutRoot: out, Concurrency: conc, NoLineage: true, ToolVersion: "bench"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		r.Requests, r.Complete = res.Snapshots[0].Manifest.Requests, res.Snapshots[0].Manifest.Complete
	case "baseline":
		n, err := sequentialBaseline(context.Background(), url, creds)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		r.Requests, r.Complete = n, true
	}
	r.Seconds = time.Since(start).Seconds()
	_ = json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// sequentialBaseline does what a straightforward script does: one request
// at a time, page size 100, each workbook's views listed separately, one
// permissions call per item and per project default kind, each group's
// members. It writes nothing.
func sequentialBaseline(ctx context.Context, url string, creds tableau.Credentials) (int64, error) {
	c, err := tableau.NewClient(url, creds, tableau.WithPageSize(100))
	if err != nil {
		return 0, err
	}
	if _, err := c.Auth.SignIn(ctx); err != nil {
		return 0, err
	}
	drain := func(seq iter.Seq2[string, error]) ([]string, error) {
		var ids []string
		for id, err := range seq {
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	var perms []struct{ typ, id string }
	if _, err := drain(mapSeq(c.Users.All(ctx, nil), func(u *tableau.User) string { return u.ID })); err != nil {
		return 0, err
	}
	groups, err := drain(mapSeq(c.Groups.All(ctx, nil), func(g *tableau.Group) string { return g.ID }))
	if err != nil {
		return 0, err
	}
	for _, g := range groups {
		if _, err := drain(mapSeq(c.Groups.AllUsers(ctx, g, nil), func(u *tableau.User) string { return u.ID })); err != nil {
			return 0, err
		}
	}
	projects, err := drain(mapSeq(c.Projects.All(ctx, nil), func(p *tableau.Project) string { return p.ID }))
	if err != nil {
		return 0, err
	}
	workbooks, err := drain(mapSeq(c.Workbooks.All(ctx, nil), func(w *tableau.Workbook) string { return w.ID }))
	if err != nil {
		return 0, err
	}
	for _, w := range workbooks {
		views, err := c.Workbooks.ListViews(ctx, w)
		if err != nil {
			return 0, err
		}
		perms = append(perms, struct{ typ, id string }{caps.Workbook, w})
		for _, v := range views {
			perms = append(perms, struct{ typ, id string }{caps.View, v.ID})
		}
	}
	for _, p := range projects {
		perms = append(perms, struct{ typ, id string }{caps.Project, p})
	}
	ds, err := drain(mapSeq(c.Datasources.All(ctx, nil), func(d *tableau.Datasource) string { return d.ID }))
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		perms = append(perms, struct{ typ, id string }{caps.Datasource, d})
	}
	fl, err := drain(mapSeq(c.Flows.All(ctx, nil), func(f *tableau.Flow) string { return f.ID }))
	if err != nil {
		return 0, err
	}
	for _, f := range fl {
		perms = append(perms, struct{ typ, id string }{caps.Flow, f})
	}
	for _, p := range perms {
		if _, err := c.Permissions.Get(ctx, p.typ, p.id); err != nil {
			return 0, err
		}
	}
	for _, p := range projects {
		for _, k := range caps.DefaultPermissionTypes {
			if _, err := c.Permissions.GetProjectDefaults(ctx, p, k.Type); err != nil {
				return 0, err
			}
		}
	}
	_ = c.Auth.SignOut(ctx)
	return c.Stats().Requests, nil
}

func mapSeq[T any](seq iter.Seq2[T, error], f func(T) string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for v, err := range seq {
			var s string
			if err == nil {
				s = f(v)
			}
			if !yield(s, err) {
				return
			}
		}
	}
}

// runChild runs the extraction (or baseline) in a child process and returns
// its result and peak RSS in MiB.
func runChild(b *testing.B, mode string, srv *tableautest.Server, concurrency int) (childResult, float64) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "TABAUDIT_BENCH_URL="+srv.URL, "TABAUDIT_BENCH_SITE="+srv.ContentURL,
		"TABAUDIT_BENCH_OUT="+b.TempDir(), "TABAUDIT_BENCH_CONCURRENCY="+strconv.Itoa(concurrency))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("child %s: %v", mode, err)
	}
	var r childResult
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("child %s output %q: %v", mode, out, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return r, float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func benchSite(b *testing.B, preset string) *site.Site {
	b.Helper()
	s, err := site.Generate(preset, 1)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func reportChild(b *testing.B, name string, r childResult, rss float64, minReq int, latency time.Duration, conc int) {
	b.ReportMetric(r.Seconds, "s/"+name)
	b.ReportMetric(float64(r.Requests), "requests/"+name)
	b.ReportMetric(float64(r.Requests)/r.Seconds, "req/s/"+name)
	b.ReportMetric(rss, "MiB-peak-RSS/"+name)
	ideal := float64(r.Requests) * latency.Seconds() / float64(conc)
	b.Logf("%s: %.1f s, %d requests (minimum %d, +%.1f%%), %.0f req/s, peak RSS %.0f MiB, ideal %.1f s (ratio %.2f), complete %v",
		name, r.Seconds, r.Requests, minReq, 100*(float64(r.Requests)/float64(minReq)-1), float64(r.Requests)/r.Seconds, rss, ideal, r.Seconds/ideal, r.Complete)
}

// BenchmarkExtractM extracts the M site with 20 ms latency per request.
func BenchmarkExtractM(b *testing.B) {
	s := benchSite(b, "M")
	conc := envInt("TABAUDIT_BENCH_CONCURRENCY", 24)
	srv := tableautest.NewServer(b, s, tableautest.WithFaults(tableautest.Faults{Latency: 20 * time.Millisecond}))
	for b.Loop() {
		r, rss := runChild(b, "extract", srv, conc)
		reportChild(b, "extract", r, rss, minimumRequests(s, 1000), 20*time.Millisecond, conc)
	}
}

// BenchmarkBaselineM runs the sequential baseline on the same site (minutes).
func BenchmarkBaselineM(b *testing.B) {
	s := benchSite(b, "M")
	srv := tableautest.NewServer(b, s, tableautest.WithFaults(tableautest.Faults{Latency: 20 * time.Millisecond}))
	for b.Loop() {
		r, rss := runChild(b, "baseline", srv, 1)
		reportChild(b, "baseline", r, rss, minimumRequests(s, 1000), 20*time.Millisecond, 1)
	}
}

// BenchmarkExtractL extracts the L site with no latency: raw throughput
// against the local simulator (which shares the machine's cores).
func BenchmarkExtractL(b *testing.B) {
	s := benchSite(b, "L")
	conc := envInt("TABAUDIT_BENCH_CONCURRENCY", 16)
	srv := tableautest.NewServer(b, s)
	b.Logf("GOMAXPROCS %d", runtime.GOMAXPROCS(0))
	for b.Loop() {
		r, rss := runChild(b, "extract", srv, conc)
		reportChild(b, "extract", r, rss, minimumRequests(s, 1000), 0, conc)
	}
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

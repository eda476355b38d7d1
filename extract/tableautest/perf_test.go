package tableautest

import (
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
)

// lSite is the L preset (DESIGN.md §8: 50,000 users, 3,000 groups, 1,500
// projects, 20,000 workbooks, 120,000 views, 6,000 datasources, 1,000 flows).
func lSite(t testing.TB) *site.Site {
	s, err := site.Generate("L", 1)
	if err != nil {
		t.Fatalf("generating L site: %v", err)
	}
	return s
}

// TestLargeSiteTimings measures Start and first pages of an L site. It
// takes a few seconds; skipped with -short.
//
//	go test ./extract/tableautest -run TestLargeSiteTimings -v
func TestLargeSiteTimings(t *testing.T) {
	if testing.Short() {
		t.Skip("L site timing skipped in -short mode")
	}
	s := lSite(t)
	start := time.Now()
	srv := NewServer(t, s)
	startDur := time.Since(start)
	c := newClient(t, srv)
	c.signIn()
	t0 := time.Now()
	r := c.get("users?pageSize=1000&fields=_all_")
	first := time.Since(t0)
	if r.status != 200 {
		t.Fatalf("users: %d", r.status)
	}
	t1 := time.Now()
	r = c.get("views?pageSize=1000&pageNumber=120&fields=_all_")
	lastViews := time.Since(t1)
	if r.status != 200 || len(parse(t, r).child("views").kids) != 1000 {
		t.Fatalf("views page 120: %d", r.status)
	}
	t2 := time.Now()
	lastView := srv.ix.items["view"][len(srv.ix.items["view"])-1]
	r = c.get("views?pageSize=1000&filter=name:eq:" + url.QueryEscape(lastView.name))
	filtered := time.Since(t2)
	if len(parse(t, r).child("views").kids) < 1 {
		t.Fatalf("filtered views: %s", r.body)
	}
	t.Logf("L site: Start %v; users page 1 (1000, _all_) %v; views page 120 (1000, _all_) %v; filtered views scan %v",
		startDur.Round(time.Millisecond), first.Round(time.Millisecond), lastViews.Round(time.Millisecond), filtered.Round(time.Millisecond))
	if startDur > 5*time.Second || first > time.Second {
		t.Errorf("too slow: Start %v, first page %v", startDur, first)
	}
}

// BenchmarkPermissions measures request throughput on small responses
// (the extractor's per-item permission calls) with 8 concurrent clients.
//
//	go test ./extract/tableautest -run '^$' -bench Permissions -benchtime 20000x
func BenchmarkPermissions(b *testing.B) {
	srv := NewServer(b, lSite(b))
	c := newClient(b, srv)
	c.signIn()
	ids := make([]string, 0, 1000)
	for _, w := range srv.ix.items["workbook"][:1000] {
		ids = append(ids, w.luid)
	}
	<-srv.metaReady // the background Metadata API build would compete for CPU
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	hc := &http.Client{Transport: tr}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				req, _ := http.NewRequest("GET", srv.URL+"/api/3.29/sites/"+c.siteID+"/workbooks/"+ids[i%1000]+"/permissions", nil)
				req.Header.Set("X-Tableau-Auth", c.token)
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("HTTP %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

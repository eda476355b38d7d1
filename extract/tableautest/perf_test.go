package tableautest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
)

// lSite builds an L-sized site (DESIGN.md §8: 50,000 users, 3,000 groups,
// 1,500 projects, 20,000 workbooks, 120,000 views, 6,000 datasources,
// 1,000 flows) with a few rules per item. It stands in for
// site.Generate("L", seed) in these measurements; the shape, not the
// realism, is what matters for serving speed.
func lSite() *site.Site {
	r := rand.New(rand.NewPCG(1, 2))
	s := &site.Site{Name: "L", ContentURL: "big"}
	for i := 0; i < 50000; i++ {
		role := []string{"Viewer", "Explorer", "Creator", "SiteAdministratorCreator"}[min(r.IntN(40), 3)]
		s.Users = append(s.Users, site.User{ID: fmt.Sprintf("u%d", i), Role: role, Name: fmt.Sprintf("user%d@example.com", i)})
	}
	all := site.Group{ID: site.AllUsersID, Name: site.AllUsersName}
	for _, u := range s.Users {
		all.Members = append(all.Members, u.ID)
	}
	s.Groups = append(s.Groups, all)
	for i := 0; i < 3000; i++ {
		g := site.Group{ID: fmt.Sprintf("g%d", i)}
		for j, n := 0, 1+r.IntN(60); j < n; j++ {
			g.Members = append(g.Members, fmt.Sprintf("u%d", r.IntN(50000)))
		}
		s.Groups = append(s.Groups, g)
	}
	rule := func() []site.Rule {
		var rs []site.Rule
		for j, n := 0, 1+r.IntN(3); j < n; j++ {
			rs = append(rs, site.Rule{Grantee: fmt.Sprintf("group:g%d", r.IntN(3000)), Template: []string{"View", "Explore", "Publish"}[r.IntN(3)]})
		}
		return rs
	}
	for i := 0; i < 1500; i++ {
		p := site.Project{ID: fmt.Sprintf("p%d", i), Owner: fmt.Sprintf("u%d", r.IntN(50000)), Rules: rule(),
			Defaults: map[string][]site.Rule{"workbook": rule(), "datasource": rule()}}
		if i >= 100 {
			p.Parent = fmt.Sprintf("p%d", r.IntN(100))
		}
		if i%17 == 0 && i < 100 {
			p.ContentPermissions = "LockedToProject"
		}
		s.Projects = append(s.Projects, p)
	}
	tabs := true
	for i := 0; i < 20000; i++ {
		w := fmt.Sprintf("w%d", i)
		s.Items = append(s.Items, site.Item{ID: w, Type: "workbook", Project: fmt.Sprintf("p%d", r.IntN(1500)), Owner: fmt.Sprintf("u%d", r.IntN(50000)), ShowTabs: &tabs, Rules: rule(), Tags: []string{"t"}})
		for j := 0; j < 6; j++ {
			s.Items = append(s.Items, site.Item{ID: fmt.Sprintf("%s-v%d", w, j), Type: "view", Workbook: w, Rules: rule()})
		}
	}
	for i := 0; i < 6000; i++ {
		s.Items = append(s.Items, site.Item{ID: fmt.Sprintf("d%d", i), Type: "datasource", Project: fmt.Sprintf("p%d", r.IntN(1500)), Owner: fmt.Sprintf("u%d", r.IntN(50000)), Rules: rule()})
	}
	for i := 0; i < 1000; i++ {
		s.Items = append(s.Items, site.Item{ID: fmt.Sprintf("f%d", i), Type: "flow", Project: fmt.Sprintf("p%d", r.IntN(1500)), Owner: fmt.Sprintf("u%d", r.IntN(50000)), Rules: rule()})
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
	s := lSite()
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
	r = c.get("views?pageSize=1000&filter=name:eq:w19999-v5")
	filtered := time.Since(t2)
	if len(parse(t, r).child("views").kids) != 1 {
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
	srv := NewServer(b, lSite())
	c := newClient(b, srv)
	c.signIn()
	ids := make([]string, 0, 1000)
	for _, w := range srv.ix.items["workbook"][:1000] {
		ids = append(ids, w.luid)
	}
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

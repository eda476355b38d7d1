package tableautest

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// statuses makes n requests to users and returns their HTTP statuses.
func statuses(c *client, n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		out = append(out, c.get("users").status)
	}
	return out
}

func TestRateLimitFault(t *testing.T) {
	srv := NewServer(t, richSite(t))
	c := newClient(t, srv)
	c.signIn() // request 1
	srv.SetRateLimit(4, 2, 29*time.Second, true)
	// Requests 2..9: 4 starts a burst of two (4, 5), 8 another (8, 9).
	got := statuses(c, 8)
	if diff := cmp.Diff([]int{200, 200, 429, 429, 200, 200, 429, 429}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	srv.SetRateLimit(1, 1, 1500*time.Millisecond, false)
	r := c.get("users")
	if r.status != 429 || errCode(t, r) != "429000" || r.header.Get("Retry-After") != "" {
		t.Fatalf("429: %d %s %v", r.status, r.body, r.header)
	}
	detail := parse(t, r).child("error").attr("detail")
	if detail != "Too many requests for 'api.rest.get_users'. Please retry after 2 seconds." {
		t.Errorf("detail %q", detail)
	}
	srv.SetRateLimit(1, 1, 29*time.Second, true)
	if r := c.get("users"); r.header.Get("Retry-After") != "29" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if st := srv.Stats(); st.RateLimited != 6 {
		t.Errorf("RateLimited = %d, want 6", st.RateLimited)
	}
}

func TestError5xxFault(t *testing.T) {
	srv := NewServer(t, richSite(t))
	c := newClient(t, srv)
	c.signIn()
	srv.SetError5xx(3, 2)
	// Requests 2..13; bursts start at 3, 6, 9, 12 and take two requests
	// each, cycling 500 (Tableau XML), 502, 503, 504 (proxy HTML).
	var got []string
	for i := 0; i < 12; i++ {
		r := c.get("users")
		kind := "xml"
		if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			kind = "html"
		}
		got = append(got, itoa(r.status)+kind)
	}
	want := []string{"200xml", "500xml", "500xml", "200xml", "502html", "502html", "200xml", "503html", "503html", "200xml", "504html", "504html"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	srv.SetError5xx(1, 1)
	r := c.get("users")
	if r.status != 500 || errCode(t, r) != "500000" {
		t.Errorf("500 body: %d %s", r.status, r.body)
	}
}

func TestSessionExpiryFaults(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := NewServer(t, richSite(t), WithClock(clock))
	c := newClient(t, srv)

	srv.SetSessionExpiry(3, 0)
	c.signIn()
	got := statuses(c, 4)
	if diff := cmp.Diff([]int{200, 200, 200, 401}, got); diff != "" {
		t.Errorf("after 3 requests (-want +got):\n%s", diff)
	}
	if r := c.get("users"); errCode(t, r) != "401002" {
		t.Errorf("expired session code: %s", r.body)
	}
	c.signIn()
	if r := c.get("users"); r.status != 200 {
		t.Errorf("after re-sign-in: %d", r.status)
	}

	srv.SetSessionExpiry(0, 30*time.Minute)
	c.signIn()
	r := c.do("POST", "/api/3.29/auth/signin", patBody(DefaultPATName, DefaultPATSecret, "finance"))
	if exp := parse(t, r).child("credentials").attr("estimatedTimeToExpiration"); exp != "0:30:00" {
		t.Errorf("estimatedTimeToExpiration %q", exp)
	}
	c.signIn()
	mu.Lock()
	now = now.Add(29 * time.Minute)
	mu.Unlock()
	if r := c.get("users"); r.status != 200 {
		t.Errorf("at 29m: %d", r.status)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if r := c.get("users"); r.status != 401 || errCode(t, r) != "401002" {
		t.Errorf("at 30m: %d %s", r.status, r.body)
	}
	if st := srv.Stats(); st.Expired != 2 {
		t.Errorf("Expired = %d, want 2", st.Expired)
	}
}

func TestMovingTotalsFault(t *testing.T) {
	srv := NewServer(t, richSite(t), WithFaults(Faults{MovingTotals: true}))
	c := newClient(t, srv)
	c.signIn()
	walk := func() (names []string, totals []string) {
		for page := 1; page <= 3; page++ {
			r := c.get("users?pageSize=2&pageNumber=" + itoa(page))
			if r.status != 200 {
				break
			}
			x := parse(t, r)
			totals = append(totals, x.child("pagination").attr("totalAvailable"))
			names = append(names, strings.Split(strings.Join(namesOf(x), ","), ",")...)
		}
		return
	}
	// First walk: page 1 sees 6; later pages 5, shifted by one — bo (the
	// first of the true page 2) is never seen, and the count (5) equals
	// the last totalAvailable, so only comparing totals across pages
	// reveals the gap.
	n1, t1 := walk()
	if diff := cmp.Diff([]string{"6", "5", "5"}, t1); diff != "" {
		t.Errorf("first walk totals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"admin@example.com", "ana@example.com", "cy@example.com", "dee@example.com", "eve@example.com"}, n1); diff != "" {
		t.Errorf("first walk (-want +got):\n%s", diff)
	}
	// Second walk is consistent and complete.
	n2, t2 := walk()
	if diff := cmp.Diff([]string{"6", "6", "6"}, t2); diff != "" {
		t.Errorf("second walk totals (-want +got):\n%s", diff)
	}
	if len(n2) != 6 {
		t.Errorf("second walk: %v", n2)
	}
}

func namesOf(x *tree) []string { return names(x, "users", "user", "name") }

func TestShortPageFault(t *testing.T) {
	srv := NewServer(t, richSite(t), WithFaults(Faults{ShortPageEvery: 2}))
	c := newClient(t, srv)
	c.signIn()
	var got []string
	for i := 0; i < 2; i++ {
		for page := 1; page <= 3; page++ {
			x := parse(t, c.get("users?pageSize=2&pageNumber="+itoa(page)))
			p := x.child("pagination")
			got = append(got, p.attr("pageNumber")+":"+itoa(len(namesOf(x)))+"/"+p.attr("pageSize")+"/"+p.attr("totalAvailable"))
		}
	}
	// Non-last pages are counted: 1st walk p1 (#1), p2 (#2 short); 2nd walk
	// p1 (#3), p2 (#4 short). The last page is never short.
	want := []string{"1:2/2/6", "2:1/2/6", "3:2/2/6", "1:2/2/6", "2:1/2/6", "3:2/2/6"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLatencyFault(t *testing.T) {
	srv := NewServer(t, richSite(t), WithSeed(7))
	c := newClient(t, srv)
	c.signIn()
	// Deterministic jitter: the same seed and request number give the
	// same delay, always within [latency-jitter, latency+jitter].
	f := &Faults{Latency: 20 * time.Millisecond, LatencyJitter: 5 * time.Millisecond}
	other, _ := Handler(richSite(t), WithSeed(7))
	for n := int64(1); n < 50; n++ {
		d := srv.latency(f, n)
		if d < 15*time.Millisecond || d > 25*time.Millisecond || d != other.latency(f, n) {
			t.Fatalf("request %d: latency %v", n, d)
		}
	}
	// Concurrent requests overlap: 8 requests of 100 ms in well under 8×.
	srv.SetLatency(100*time.Millisecond, 0)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/api/3.29/serverinfo", nil)
			r, err := http.DefaultClient.Do(req)
			if err == nil {
				r.Body.Close()
			}
		}()
	}
	wg.Wait()
	if el := time.Since(start); el < 100*time.Millisecond || el > 750*time.Millisecond {
		t.Errorf("8 concurrent 100ms requests took %v", el)
	}
}

func TestMetadataMount(t *testing.T) {
	srv := NewServer(t, richSite(t))
	c := newClient(t, srv)
	body := `{"query":"{ __typename }"}`
	r := c.do("POST", "/api/metadata/graphql", body, "Content-Type", "application/json")
	if r.status != 401 || !strings.Contains(string(r.body), `"code":"401000"`) {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	c.token = "bogus"
	if r := c.do("POST", "/api/metadata/graphql", body); r.status != 401 || !strings.Contains(string(r.body), `"code":"401002"`) {
		t.Errorf("bad token: %d %s", r.status, r.body)
	}
	c.signIn()
	r = c.do("POST", "/api/metadata/graphql", body, "Content-Type", "application/json")
	if r.status != 200 || !strings.Contains(string(r.body), "__typename") && !strings.Contains(string(r.body), "data") {
		t.Errorf("signed in: %d %s", r.status, r.body)
	}
	if n := srv.Stats().ByEndpoint["POST /api/metadata/graphql"]; n != 3 {
		t.Errorf("metadata requests counted %d", n)
	}
}

package tableau

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testSecret = "pat-secret-XYZ-0123456789"

// fakeTransport serves canned wire responses in memory, so that retry tests
// can run inside a synctest bubble (fake time, no sockets).
type fakeTransport struct {
	calls atomic.Int64
	serve func(n int64, r *http.Request) *http.Response
}

func (f *fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := f.calls.Add(1)
	if r.Body != nil {
		_, _ = io.ReadAll(r.Body)
	}
	resp := f.serve(n, r)
	if resp == nil {
		return nil, errors.New("connection reset by peer")
	}
	resp.Request = r
	return resp, nil
}

type trackedBody struct {
	io.Reader
	closed *atomic.Int64
}

func (b trackedBody) Close() error { b.closed.Add(1); return nil }

func xmlResp(status int, body string, closed *atomic.Int64, hdr ...string) *http.Response {
	h := http.Header{"Content-Type": {"application/xml"}}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: trackedBody{strings.NewReader(body), closed}}
}

const signInXML = `<?xml version="1.0"?><tsResponse xmlns="http://tableau.com/api"><credentials token="tok-SESSION-abcdef"><site id="site-1" contentUrl="finance"/><user id="user-1"/></credentials></tsResponse>`

func errXML(code, summary, detail string) string {
	return `<tsResponse xmlns="http://tableau.com/api"><error code="` + code + `"><summary>` + summary + `</summary><detail>` + detail + `</detail></error></tsResponse>`
}

func newTestClient(t *testing.T, ft *fakeTransport, p RetryPolicy) *Client {
	t.Helper()
	c, err := NewClient("https://tableau.example.com", Credentials{PATName: "audit", PATSecret: testSecret, ContentURL: "finance"},
		WithHTTPClient(&http.Client{Transport: ft}), WithRetryPolicy(p), WithVersion("3.29"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth.SignIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// serveAfterSignIn answers the sign-in, then hands requests to f.
func serveAfterSignIn(closed *atomic.Int64, f func(n int64, r *http.Request) *http.Response) func(int64, *http.Request) *http.Response {
	return func(n int64, r *http.Request) *http.Response {
		if strings.HasSuffix(r.URL.Path, "/auth/signin") {
			return xmlResp(200, signInXML, closed)
		}
		return f(n, r)
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var closed atomic.Int64
		ft := &fakeTransport{}
		ft.serve = serveAfterSignIn(&closed, func(n int64, r *http.Request) *http.Response {
			return xmlResp(503, "<html><head><title>503 Service Unavailable</title></head><body>nginx</body></html>", &closed, "Content-Type", "text/html")
		})
		c := newTestClient(t, ft, RetryPolicy{MaxAttempts: 4, BaseDelay: time.Second, MaxDelay: 8 * time.Second, MaxWait: time.Minute})
		start := time.Now()
		_, err := c.Permissions.Get(context.Background(), "workbook", "wb-1")
		elapsed := time.Since(start)
		var rl *RetryLaterError
		var ae *APIError
		if !errors.As(err, &rl) || rl.Attempts != 4 || !errors.As(err, &ae) || ae.StatusCode != 503 || !ae.HTML {
			t.Fatalf("err = %v, want RetryLaterError after 4 attempts wrapping an HTML 503", err)
		}
		if !strings.Contains(err.Error(), "HTML page from a proxy or gateway: 503 Service Unavailable") {
			t.Errorf("error text %q", err)
		}
		if got := ft.calls.Load(); got != 5 { // sign-in + 4 attempts
			t.Errorf("requests = %d, want 5", got)
		}
		if closed.Load() != ft.calls.Load() {
			t.Errorf("closed %d bodies of %d responses", closed.Load(), ft.calls.Load())
		}
		// Backoff: attempts 1..3 wait [0.5,1], [1,2], [2,4] s.
		if elapsed < 3500*time.Millisecond || elapsed > 7*time.Second {
			t.Errorf("waited %s, want between 3.5 s and 7 s", elapsed)
		}
		st := c.Stats()
		if st.Retries != 3 || st.ServerErrors != 4 || st.Requests != 5 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestRetryStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var closed atomic.Int64
		ft := &fakeTransport{}
		ft.serve = serveAfterSignIn(&closed, func(n int64, r *http.Request) *http.Response {
			return xmlResp(429, errXML("429000", "Too Many Requests", "Please retry after 20 minutes."), &closed)
		})
		c := newTestClient(t, ft, RetryPolicy{MaxAttempts: 10, BaseDelay: time.Second, MaxDelay: time.Minute, MaxWait: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := c.Permissions.Get(ctx, "view", "v-1")
			done <- err
		}()
		time.Sleep(5 * time.Minute) // well inside the 20-minute stated wait
		synctest.Wait()
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d != 5*time.Minute {
			t.Errorf("returned after %s, want right at the cancel (5m)", d)
		}
		if ft.calls.Load() != 2 || c.Stats().Throttled != 1 {
			t.Errorf("calls %d, stats %+v", ft.calls.Load(), c.Stats())
		}
	})
}

func TestRetryHonoursStatedWait(t *testing.T) {
	for _, tt := range []struct {
		name string
		resp func(*atomic.Int64) *http.Response
		want time.Duration
	}{
		{"Retry-After header", func(c *atomic.Int64) *http.Response {
			return xmlResp(429, errXML("429000", "Too Many Requests", ""), c, "Retry-After", "7")
		}, 7 * time.Second},
		{"detail minutes", func(c *atomic.Int64) *http.Response {
			return xmlResp(429, errXML("429000", "Too Many Requests", "Too many requests for 'api.rest'. Please retry after 2 minutes."), c)
		}, 2 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var closed atomic.Int64
				ft := &fakeTransport{}
				ft.serve = serveAfterSignIn(&closed, func(n int64, r *http.Request) *http.Response {
					if n == 2 {
						return tt.resp(&closed)
					}
					return xmlResp(200, `<tsResponse xmlns="http://tableau.com/api"><permissions><workbook id="wb-1"/></permissions></tsResponse>`, &closed)
				})
				c := newTestClient(t, ft, RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Second, MaxWait: time.Hour})
				start := time.Now()
				if _, err := c.Permissions.Get(context.Background(), "workbook", "wb-1"); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d < tt.want || d > tt.want+tt.want/10+100*time.Millisecond {
					t.Errorf("waited %s, want %s (+jitter)", d, tt.want)
				}
			})
		})
	}
}

// Concurrent requests that find the session expired sign in again once,
// then all succeed with the new token.
func TestReSignInIsSerialised(t *testing.T) {
	var signIns atomic.Int64
	var closed atomic.Int64
	tokens := []string{"tok-A-000000", "tok-B-111111"}
	ft := &fakeTransport{}
	ft.serve = func(n int64, r *http.Request) *http.Response {
		if strings.HasSuffix(r.URL.Path, "/auth/signin") {
			i := signIns.Add(1) - 1
			return xmlResp(200, strings.Replace(signInXML, "tok-SESSION-abcdef", tokens[min(int(i), 1)], 1), &closed)
		}
		if r.Header.Get("X-Tableau-Auth") != tokens[1] {
			return xmlResp(401, errXML("401002", "Unauthorized Access", "Invalid authentication credentials were provided."), &closed)
		}
		return xmlResp(200, `<tsResponse xmlns="http://tableau.com/api"><permissions><workbook id="x"/></permissions></tsResponse>`, &closed)
	}
	c := newTestClient(t, ft, DefaultRetryPolicy)
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			_, err := c.Permissions.Get(context.Background(), "workbook", fmt.Sprint(i))
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if signIns.Load() != 2 || c.Stats().ReSignIns != 1 {
		t.Errorf("sign-ins %d, re-sign-ins %d; want 2 and 1", signIns.Load(), c.Stats().ReSignIns)
	}
}

// Responses are parsed by namespace, not prefix; both namespaces work; JSON
// gives the same values.
func TestWireFormats(t *testing.T) {
	bodies := map[string]string{
		"default namespace": `<tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api x.xsd">
<pagination pageNumber="1" pageSize="100" totalAvailable="2"/><users>
<user id="u1" name="ana" siteRole="Creator" lastLogin="2025-01-02T03:04:05Z" language="en"><domain name="local"/></user>
<user id="u2" name="ben" siteRole="Publisher" lastLogin="2025-06-31T00:00:00Z"><domain name="AD"/></user></users></tsResponse>`,
		"ns0 prefix": `<ns0:tsResponse xmlns:ns0="http://tableau.com/api"><ns0:pagination pageNumber="1" pageSize="100" totalAvailable="2"/><ns0:users>
<ns0:user id="u1" name="ana" siteRole="Creator" lastLogin="2025-01-02T03:04:05Z" language="en"><ns0:domain name="local"/></ns0:user>
<ns0:user id="u2" name="ben" siteRole="Publisher" lastLogin="2025-06-31T00:00:00Z"><ns0:domain name="AD"/></ns0:user></ns0:users></ns0:tsResponse>`,
		"legacy namespace": `<tsResponse xmlns="http://tableausoftware.com/api"><pagination pageNumber="1" pageSize="100" totalAvailable="2"/><users>
<user id="u1" name="ana" siteRole="Creator" lastLogin="2025-01-02T03:04:05Z" language="en"><domain name="local"/></user>
<user id="u2" name="ben" siteRole="Publisher" lastLogin="2025-06-31T00:00:00Z"><domain name="AD"/></user></users></tsResponse>`,
		"json": `{"pagination":{"pageNumber":"1","pageSize":"100","totalAvailable":"2"},"users":{"user":[
{"id":"u1","name":"ana","siteRole":"Creator","lastLogin":"2025-01-02T03:04:05Z","language":"en","domain":{"name":"local"}},
{"id":"u2","name":"ben","siteRole":"Publisher","lastLogin":"2025-06-31T00:00:00Z","domain":{"name":"AD"}}]}}`,
	}
	login := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	want := []*User{
		{ID: "u1", Name: "ana", SiteRole: "Creator", LastLogin: &login, DomainName: "local", Extra: map[string]any{"language": "en"}},
		// An impossible date is kept verbatim in Extra, not turned into a zero.
		{ID: "u2", Name: "ben", SiteRole: "Publisher", DomainName: "AD", Extra: map[string]any{"lastLogin": "2025-06-31T00:00:00Z"}},
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var closed atomic.Int64
			ft := &fakeTransport{}
			ft.serve = serveAfterSignIn(&closed, func(n int64, r *http.Request) *http.Response {
				ct := "application/xml"
				if name == "json" {
					ct = "application/json"
				}
				return xmlResp(200, body, &closed, "Content-Type", ct)
			})
			c := newTestClient(t, ft, DefaultRetryPolicy)
			var got []*User
			for u, err := range c.Users.All(context.Background(), nil) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, u)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Bad responses give clear errors naming what failed, never a panic, never
// a secret.
func TestBadResponses(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		ct      string
		body    string
		wantErr []string
	}{
		{"malformed XML", 200, "application/xml", `<tsResponse xmlns="http://tableau.com/api"><users><user id="u1"></users>`, []string{"malformed response", "XML"}},
		{"wrong namespace", 200, "application/xml", `<tsResponse xmlns="http://example.com/api"><users/></tsResponse>`, []string{"tsResponse namespace"}},
		{"HTML 200 from a captive portal", 200, "text/html", `<html><title>Sign in to Wi-Fi</title></html>`, []string{"HTML page", "Sign in to Wi-Fi"}},
		{"HTML error from a proxy", 403, "text/html", `<!DOCTYPE html><html><head><title>Access denied by corporate proxy</title></head><body>token=` + testSecret + `</body></html>`, []string{"HTTP 403", "Access denied by corporate proxy"}},
		{"Tableau error echoing a secret", 400, "application/xml", errXML("400000", "Bad Request", "credential "+testSecret+" rejected"), []string{"400000", "credential REDACTED rejected"}},
		{"missing pagination numbers", 200, "application/xml", `<tsResponse xmlns="http://tableau.com/api"><pagination pageNumber="x"/><users/></tsResponse>`, []string{"bad pagination"}},
		{"JSON garbage", 200, "application/json", `{"users": [`, []string{"malformed response", "JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var closed atomic.Int64
			ft := &fakeTransport{}
			ft.serve = serveAfterSignIn(&closed, func(n int64, r *http.Request) *http.Response {
				return xmlResp(tt.status, tt.body, &closed, "Content-Type", tt.ct)
			})
			c := newTestClient(t, ft, RetryPolicy{MaxAttempts: 1})
			_, _, err := c.Users.List(context.Background(), nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "tok-SESSION") {
				t.Errorf("secret in error: %v", err)
			}
		})
	}
}

// A server announcing far more items than it serves (1,000 pages of nothing)
// ends in a ListCountError after a bounded number of requests.
func TestListAnnouncingThousandPages(t *testing.T) {
	var closed atomic.Int64
	ft := &fakeTransport{}
	ft.serve = serveAfterSignIn(&closed, func(n int64, r *http.Request) *http.Response {
		page := r.URL.Query().Get("pageNumber")
		if page == "1" {
			return xmlResp(200, `<tsResponse xmlns="http://tableau.com/api"><pagination pageNumber="1" pageSize="1000" totalAvailable="1000000"/><groups><group id="g1" name="a"/></groups></tsResponse>`, &closed)
		}
		return xmlResp(200, `<tsResponse xmlns="http://tableau.com/api"><pagination pageNumber="`+page+`" pageSize="1000" totalAvailable="1000000"/><groups/></tsResponse>`, &closed)
	})
	c := newTestClient(t, ft, DefaultRetryPolicy)
	var n int
	var lerr *ListCountError
	for _, err := range c.Groups.All(context.Background(), nil) {
		if err != nil {
			if !errors.As(err, &lerr) {
				t.Fatalf("err = %v, want ListCountError", err)
			}
			break
		}
		n++
	}
	if n != 1 || lerr == nil || lerr.Seen != 1 || lerr.TotalAvailable != 1000000 {
		t.Errorf("items %d, err %+v", n, lerr)
	}
	if calls := ft.calls.Load(); calls > 20 {
		t.Errorf("%d requests for a lying list, want a handful", calls)
	}
	if !strings.Contains(lerr.Error(), "read 1 items but the server announced totalAvailable=1000000") {
		t.Errorf("message %q", lerr)
	}
}

// Version negotiation picks min(server, client) and refuses old servers.
func TestServerInfoNegotiation(t *testing.T) {
	for _, tt := range []struct{ server, max, want, wantErr string }{
		{"3.25", MaxVersion, "3.25", ""},
		{"3.40", MaxVersion, MaxVersion, ""},
		{"3.29", "3.9", "3.9", ""},
		{"2.8", MaxVersion, "", "older than 3.0"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/3.0/serverinfo" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<tsResponse xmlns="http://tableau.com/api"><serverInfo><productVersion build="20251.25.0312.1234">2025.1.0</productVersion><restApiVersion>%s</restApiVersion></serverInfo></tsResponse>`, tt.server)
		}))
		c, err := NewClient(srv.URL+"/", Credentials{PATName: "a", PATSecret: "bbbbbbbb"}, WithMaxVersion(tt.max))
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Auth.ServerInfo(context.Background())
		srv.Close()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("server %s: err = %v, want %q", tt.server, err, tt.wantErr)
			}
			continue
		}
		if err != nil || c.Version() != tt.want || info.ProductVersion != "2025.1.0" || info.Build != "20251.25.0312.1234" {
			t.Errorf("server %s max %s: version %q info %+v err %v", tt.server, tt.max, c.Version(), info, err)
		}
	}
}

func TestCredentialsNeverPrint(t *testing.T) {
	c := Credentials{PATName: "audit", PATSecret: testSecret, ContentURL: "finance"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c)} {
		if strings.Contains(s, testSecret) {
			t.Errorf("secret printed: %s", s)
		}
	}
}

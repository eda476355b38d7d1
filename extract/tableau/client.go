// Package tableau is a client for the Tableau REST API (Server and Cloud),
// shaped like go-github: one Client, one service per area (Users, Groups,
// Projects, Workbooks, Permissions, ...), List methods that return one page
// plus a *Response, and All iterators that walk every page and fail with a
// *ListCountError when the items seen do not add up to totalAvailable.
//
// The client speaks XML by default (matching elements by namespace URI, not
// prefix, and accepting the old tableausoftware.com namespace) and JSON with
// WithJSON; both decode into the same element tree, so they yield identical
// values. Every request goes through one path (roundTrip) that adds the
// session token, retries 429/5xx/network errors with exponential backoff and
// jitter while honouring any wait the server states, and performs one
// serialised re-sign-in when the session expires, so concurrent workers share
// one token and never sign in twice at once (a second sign-in with the same
// PAT would end the first session).
//
// Secrets (PAT secret, password, JWT, session token) never appear in an error,
// a log line or a String method: URLs are sanitised and error text is
// redacted of every secret the client holds.
package tableau

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Versions this client knows. It negotiates min(server max, MaxVersion).
const (
	MinVersion = "3.0"
	MaxVersion = "3.29"
)

// DefaultPageSize is the largest page Tableau allows; fewer pages means fewer
// requests and less drift between pages.
const DefaultPageSize = 1000

// Credentials are how the client signs in. Exactly one method is set. The
// secret fields are never printed: String and GoString redact them.
type Credentials struct {
	PATName   string
	PATSecret string
	JWT       string // connected-app JWT
	Username  string
	Password  string
	// ContentURL is the site to sign in to; "" is the Default site.
	ContentURL string
}

// Method returns "pat", "jwt" or "password".
func (c Credentials) Method() string {
	switch {
	case c.PATName != "" || c.PATSecret != "":
		return "pat"
	case c.JWT != "":
		return "jwt"
	default:
		return "password"
	}
}

func (c Credentials) String() string {
	switch c.Method() {
	case "pat":
		return fmt.Sprintf("PAT %q (secret redacted) for site %q", c.PATName, c.ContentURL)
	case "jwt":
		return fmt.Sprintf("JWT (redacted) for site %q", c.ContentURL)
	}
	return fmt.Sprintf("user %q (password redacted) for site %q", c.Username, c.ContentURL)
}

// GoString keeps %#v from printing the secrets.
func (c Credentials) GoString() string { return "tableau.Credentials{" + c.String() + "}" }

func (c Credentials) secrets() []string {
	var s []string
	for _, v := range []string{c.PATSecret, c.JWT, c.Password} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

func (c Credentials) validate() error {
	n := 0
	if c.PATName != "" || c.PATSecret != "" {
		n++
		if c.PATName == "" || c.PATSecret == "" {
			return errors.New("personal access token needs both a name and a secret")
		}
	}
	if c.JWT != "" {
		n++
	}
	if c.Username != "" || c.Password != "" {
		n++
		if c.Username == "" || c.Password == "" {
			return errors.New("password sign-in needs both a username and a password")
		}
	}
	if n == 0 {
		return errors.New("no credentials: give a personal access token, a JWT or a username and password")
	}
	if n > 1 {
		return errors.New("give exactly one sign-in method (PAT, JWT or username/password)")
	}
	return nil
}

// Session is the result of a sign-in. The token itself stays inside the
// client.
type Session struct {
	SiteID         string
	SiteContentURL string
	UserID         string
	gen            int64
	token          string
}

// Stats count every HTTP request the client made, for the manifest.
type Stats struct {
	Requests      int64 // HTTP requests sent, retries and sign-ins included
	Retries       int64 // requests repeated after a 429, 5xx or network error
	Throttled     int64 // 429 responses
	ServerErrors  int64 // 5xx responses
	NetworkErrors int64 // transport errors and timeouts
	ReSignIns     int64 // sign-ins after the session expired
}

type stats struct {
	requests, retries, throttled, serverErrors, networkErrors, reSignIns atomic.Int64
}

// RetryPolicy is how failed requests are retried.
type RetryPolicy struct {
	MaxAttempts int           // attempts per request, first one included
	BaseDelay   time.Duration // first backoff; doubles each attempt
	MaxDelay    time.Duration // cap on one computed backoff
	// MaxWait caps a wait the server states; a longer stated wait fails the
	// request at once rather than stalling the run for half an hour.
	MaxWait time.Duration
	// MaxReSignIns per request; a server that expires every new session
	// must not loop forever.
	MaxReSignIns int
}

// DefaultRetryPolicy retries up to 6 times over roughly a minute and signs in again up to 5 times per request.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 6, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second, MaxWait: 5 * time.Minute, MaxReSignIns: 5}

// ServerInfo is GET serverinfo.
type ServerInfo struct {
	ProductVersion string
	Build          string
	RESTVersion    string // the highest version the server accepts
	Platform       string
}

// Client talks to one Tableau server.
type Client struct {
	base        *url.URL
	http        *http.Client
	json        bool
	maxVersion  string
	version     string
	policy      RetryPolicy
	logger      *slog.Logger
	now         func() time.Time
	creds       Credentials
	pageSize    int
	serverInfo  *ServerInfo
	stats       stats
	authMu      sync.Mutex // serialises sign-in
	sess        atomic.Pointer[Session]
	secretMu    sync.RWMutex
	secretsSeen []string
	// inFlight bounds concurrent HTTP requests across every caller (nil:
	// unbounded); a slot is held only while a request is on the wire, not
	// during a backoff wait.
	inFlight chan struct{}

	Auth               *AuthService
	Sites              *SitesService
	Users              *UsersService
	Groups             *GroupsService
	GroupSets          *GroupSetsService
	Projects           *ProjectsService
	Workbooks          *WorkbooksService
	Views              *ViewsService
	Datasources        *DatasourcesService
	Flows              *FlowsService
	VirtualConnections *VirtualConnectionsService
	Databases          *DatabasesService
	Tables             *TablesService
	Permissions        *PermissionsService
	Jobs               *JobsService
	Schedules          *SchedulesService
	Tasks              *TasksService
}

type service struct{ client *Client }

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (TLS settings, proxy, timeouts). The
// client's redirect policy is replaced: redirects are never followed with
// the session token (see roundTrip).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithJSON makes the client ask for and send JSON instead of XML.
func WithJSON() Option { return func(c *Client) { c.json = true } }

// WithLogger sets the logger for retries and re-sign-ins (nil discards).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.logger = l } }

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.policy = p } }

// WithMaxVersion caps the negotiated REST version (e.g. to mimic an older client).
func WithMaxVersion(v string) Option { return func(c *Client) { c.maxVersion = v } }

// WithVersion skips negotiation and uses v.
func WithVersion(v string) Option { return func(c *Client) { c.version = v } }

// WithPageSize sets the default page size of List and All (1..1000).
func WithPageSize(n int) Option { return func(c *Client) { c.pageSize = n } }

// WithMaxInFlight bounds the HTTP requests in flight at once across all
// goroutines using the client (n <= 0: unbounded).
func WithMaxInFlight(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.inFlight = make(chan struct{}, n)
		}
	}
}

// WithClock sets the clock used to interpret Retry-After dates.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// NewClient returns a client for the server at serverURL (e.g.
// https://tableau.example.com or https://prod-uk-a.online.tableau.com).
func NewClient(serverURL string, creds Credentials, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(serverURL))
	if err != nil {
		return nil, fmt.Errorf("server URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http(s)://host[:port]", sanitizeURL(u))
	}
	if err := creds.validate(); err != nil {
		return nil, err
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	u.Path = strings.TrimSuffix(u.Path, "/") + "/"
	c := &Client{
		base:       u,
		maxVersion: MaxVersion,
		policy:     DefaultRetryPolicy,
		now:        time.Now,
		creds:      creds,
		pageSize:   DefaultPageSize,
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = DefaultHTTPClient(nil)
	}
	h := *c.http
	h.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &h
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.pageSize < 1 || c.pageSize > 1000 {
		return nil, fmt.Errorf("page size %d: want 1..1000", c.pageSize)
	}
	if c.policy.MaxAttempts < 1 {
		c.policy.MaxAttempts = 1
	}
	c.addSecrets(creds.secrets()...)
	c.Auth = &AuthService{c}
	c.Sites = &SitesService{c}
	c.Users = &UsersService{c}
	c.Groups = &GroupsService{c}
	c.GroupSets = &GroupSetsService{c}
	c.Projects = &ProjectsService{c}
	c.Workbooks = &WorkbooksService{c}
	c.Views = &ViewsService{c}
	c.Datasources = &DatasourcesService{c}
	c.Flows = &FlowsService{c}
	c.VirtualConnections = &VirtualConnectionsService{c}
	c.Databases = &DatabasesService{c}
	c.Tables = &TablesService{c}
	c.Permissions = &PermissionsService{c}
	c.Jobs = &JobsService{c}
	c.Schedules = &SchedulesService{c}
	c.Tasks = &TasksService{c}
	return c, nil
}

// DefaultHTTPClient is an HTTP client suited to many concurrent requests to
// one host: proxy from the environment, enough idle connections for the
// worker pool, and a per-request timeout. tlsTransport may be nil.
func DefaultHTTPClient(tlsTransport *http.Transport) *http.Client {
	t := tlsTransport
	if t == nil {
		t = http.DefaultTransport.(*http.Transport).Clone()
	}
	t.Proxy = http.ProxyFromEnvironment
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return &http.Client{Transport: t, Timeout: 2 * time.Minute}
}

// Stats returns the request counters so far.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:      c.stats.requests.Load(),
		Retries:       c.stats.retries.Load(),
		Throttled:     c.stats.throttled.Load(),
		ServerErrors:  c.stats.serverErrors.Load(),
		NetworkErrors: c.stats.networkErrors.Load(),
		ReSignIns:     c.stats.reSignIns.Load(),
	}
}

// Version is the negotiated REST API version ("" before negotiation).
func (c *Client) Version() string { return c.version }

// ServerURL is the server's base URL (no credentials). It can change when a
// Tableau Cloud sign-in is redirected to another pod.
func (c *Client) ServerURL() string { return strings.TrimSuffix(c.base.String(), "/") }

// Session is the current session, or nil before sign-in.
func (c *Client) Session() *Session { return c.sess.Load() }

// Format is "xml" or "json".
func (c *Client) Format() string {
	if c.json {
		return "json"
	}
	return "xml"
}

func (c *Client) addSecrets(s ...string) {
	c.secretMu.Lock()
	defer c.secretMu.Unlock()
	for _, v := range s {
		if len(v) >= 4 {
			c.secretsSeen = append(c.secretsSeen, v)
		}
	}
}

// redact replaces every secret the client knows in s.
func (c *Client) redact(s string) string {
	c.secretMu.RLock()
	defer c.secretMu.RUnlock()
	for _, v := range c.secretsSeen {
		s = strings.ReplaceAll(s, v, "REDACTED")
	}
	return s
}

// Redact removes the client's secrets from s; callers use it on any text
// that may have passed through a server (error details they log).
func (c *Client) Redact(s string) string { return c.redact(s) }

// request is one logical API call.
type request struct {
	method string
	url    string
	body   []byte
	// authed requests carry the session token and trigger a re-sign-in on
	// an expired session.
	authed      bool
	contentType string
	accept      string
}

// rawResponse is a completely read response.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// roundTrip sends r with the retry and re-sign-in policy. It returns the
// fully read body of a 2xx response, or an error: *APIError for a refusal,
// *RetryLaterError when retries ran out, *SessionExpiredError when signing
// in again did not help, or ctx.Err().
func (c *Client) roundTrip(ctx context.Context, r request) (*rawResponse, error) {
	attempt, reSignIns := 0, 0
	var lastErr error
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		attempt++
		sess := c.sess.Load()
		if r.authed && sess == nil {
			return nil, errors.New("not signed in")
		}
		req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
		if err != nil {
			return nil, fmt.Errorf("building request %s %s: %w", r.method, c.redact(r.url), err)
		}
		if r.body == nil {
			req.Body = http.NoBody
			req.ContentLength = 0
		}
		accept := r.accept
		if accept == "" {
			accept = "application/xml"
			if c.json {
				accept = "application/json"
			}
		}
		req.Header.Set("Accept", accept)
		if r.body != nil {
			ct := r.contentType
			if ct == "" {
				ct = "text/xml"
				if c.json {
					ct = "application/json"
				}
			}
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("User-Agent", "tabaudit")
		if r.authed {
			req.Header.Set("X-Tableau-Auth", sess.token)
		}
		c.stats.requests.Add(1)
		if attempt > 1 {
			c.stats.retries.Add(1)
		}
		if c.inFlight != nil {
			select {
			case c.inFlight <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		resp, err := c.http.Do(req)
		var raw *rawResponse
		if err == nil {
			raw, err = readResponse(resp)
		}
		if c.inFlight != nil {
			<-c.inFlight
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.stats.networkErrors.Add(1)
			lastErr = &RetryLaterError{Err: fmt.Errorf("%s %s: %s", r.method, c.redactURL(r.url), c.redact(netErrText(err)))}
			if attempt >= c.policy.MaxAttempts {
				return nil, withAttempts(lastErr, attempt)
			}
			if err := c.sleep(ctx, c.backoff(attempt, 0)); err != nil {
				return nil, err
			}
			continue
		}
		if raw.status >= 200 && raw.status < 300 {
			return raw, nil
		}
		if raw.status >= 300 && raw.status < 400 {
			return raw, nil // the caller decides (sign-in follows pod redirects)
		}
		resp.Body = io.NopCloser(bytes.NewReader(raw.body))
		apiErr := c.checkResponse(resp).(*APIError)
		switch {
		case r.authed && isSessionExpired(apiErr):
			if reSignIns >= c.policy.MaxReSignIns {
				return nil, &SessionExpiredError{Err: apiErr}
			}
			reSignIns++
			attempt-- // a re-sign-in is not a failed attempt
			c.logger.Warn("session expired; signing in again", "url", apiErr.URL)
			if err := c.reSignIn(ctx, sess.gen); err != nil {
				return nil, fmt.Errorf("signing in again after the session expired: %w", err)
			}
			continue
		case raw.status == http.StatusTooManyRequests || raw.status >= 500 || raw.status == http.StatusRequestTimeout:
			if raw.status == http.StatusTooManyRequests {
				c.stats.throttled.Add(1)
			} else {
				c.stats.serverErrors.Add(1)
			}
			wait := statedWait(raw.header, apiErr.Detail, c.now())
			lastErr = &RetryLaterError{Err: apiErr, Wait: wait}
			if attempt >= c.policy.MaxAttempts {
				return nil, withAttempts(lastErr, attempt)
			}
			if wait > c.policy.MaxWait {
				return nil, withAttempts(lastErr, attempt)
			}
			d := c.backoff(attempt, wait)
			c.logger.Debug("retrying", "url", apiErr.URL, "status", raw.status, "attempt", attempt, "wait", d)
			if err := c.sleep(ctx, d); err != nil {
				return nil, err
			}
			continue
		}
		return nil, apiErr
	}
}

func withAttempts(err error, n int) error {
	var r *RetryLaterError
	if errors.As(err, &r) {
		r.Attempts = n
	}
	return err
}

func netErrText(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	// url.Error repeats the URL; keep only the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func (c *Client) redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return c.redact(raw)
	}
	return c.redact(sanitizeURL(u))
}

func readResponse(resp *http.Response) (*rawResponse, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: response body larger than %d MiB", ErrMalformed, maxBody>>20)
	}
	return &rawResponse{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// backoff is exponential with full jitter, but never shorter than a wait the
// server stated (plus a little jitter so that workers do not return in step).
func (c *Client) backoff(attempt int, stated time.Duration) time.Duration {
	if stated > 0 {
		return stated + time.Duration(rand.Int64N(int64(stated/10)+int64(100*time.Millisecond)))
	}
	d := c.policy.BaseDelay << (attempt - 1)
	if d <= 0 || d > c.policy.MaxDelay {
		d = c.policy.MaxDelay
	}
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// sleep waits d or until ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// decode parses a 2xx body in the format the server answered with.
func (c *Client) decode(raw *rawResponse, what string) (*node, error) {
	ct := raw.header.Get("Content-Type")
	body := bytes.TrimSpace(raw.body)
	var n *node
	var err error
	switch {
	case len(body) == 0:
		return nil, fmt.Errorf("%s: %w: empty body", what, ErrMalformed)
	case strings.Contains(ct, "json") || body[0] == '{':
		n, err = decodeJSON(bytes.NewReader(body))
	case looksHTML(body, ct):
		return nil, fmt.Errorf("%s: %w: %s", what, ErrMalformed, summariseText(body, true))
	default:
		n, err = decodeXML(bytes.NewReader(body))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

// url builds {base}/api/{version}/{path}. Site-level paths start with
// "sites/{site}/".
func (c *Client) url(path string, q url.Values) string {
	u := c.base.String() + "api/" + c.version + "/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (c *Client) sitePath(format string, a ...any) (string, error) {
	s := c.sess.Load()
	if s == nil {
		return "", errors.New("not signed in")
	}
	return "sites/" + s.SiteID + "/" + fmt.Sprintf(format, a...), nil
}

// get performs an authenticated GET and decodes the body.
func (c *Client) get(ctx context.Context, path string, q url.Values) (*node, error) {
	if c.version == "" {
		return nil, errors.New("REST version not negotiated: call Auth.ServerInfo or Auth.SignIn first")
	}
	u := c.url(path, q)
	raw, err := c.roundTrip(ctx, request{method: http.MethodGet, url: u, authed: true})
	if err != nil {
		return nil, err
	}
	if raw.status >= 300 {
		return nil, c.unexpectedRedirect(http.MethodGet, u, raw)
	}
	return c.decode(raw, "GET "+c.redactURL(u))
}

func (c *Client) unexpectedRedirect(method, u string, raw *rawResponse) error {
	loc := raw.header.Get("Location")
	if l, err := url.Parse(loc); err == nil {
		loc = sanitizeURL(l)
	}
	return &APIError{Method: method, URL: c.redactURL(u), StatusCode: raw.status, Summary: "unexpected redirect", Detail: "to " + loc + " (not followed: the session token is never sent to another URL)"}
}

// versionLess compares "3.9" < "3.10" numerically.
func versionLess(a, b string) bool {
	pa, pb := splitVersion(a), splitVersion(b)
	if pa[0] != pb[0] {
		return pa[0] < pb[0]
	}
	return pa[1] < pb[1]
}

func splitVersion(v string) [2]int {
	maj, min, _ := strings.Cut(v, ".")
	a, _ := strconv.Atoi(maj)
	b, _ := strconv.Atoi(min)
	return [2]int{a, b}
}

// AtLeast reports whether the negotiated version is v or newer.
func (c *Client) AtLeast(v string) bool { return c.version != "" && !versionLess(c.version, v) }

// MetadataDoer returns an HTTP doer for the Metadata API
// (POST /api/metadata/graphql): it adds X-Tableau-Auth and applies the same
// retry and re-sign-in policy and counters as REST calls. The request body
// is read once and replayed on retries. A non-2xx answer after the retries
// is returned as an error (*APIError or *RetryLaterError).
func (c *Client) MetadataDoer() interface {
	Do(*http.Request) (*http.Response, error)
} {
	return metadataDoer{c}
}

// MetadataURL is the Metadata API endpoint of this server.
func (c *Client) MetadataURL() string { return c.base.String() + "api/metadata/graphql" }

type metadataDoer struct{ c *Client }

func (d metadataDoer) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading GraphQL request body: %w", err)
		}
		body = b
	}
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	raw, err := d.c.roundTrip(req.Context(), request{method: req.Method, url: req.URL.String(), body: body, authed: true, contentType: ct, accept: "application/json"})
	if err != nil {
		return nil, err
	}
	if raw.status >= 300 {
		return nil, d.c.unexpectedRedirect(req.Method, req.URL.String(), raw)
	}
	return &http.Response{
		Status:        strconv.Itoa(raw.status) + " " + http.StatusText(raw.status),
		StatusCode:    raw.status,
		Header:        raw.header,
		Body:          io.NopCloser(bytes.NewReader(raw.body)),
		ContentLength: int64(len(raw.body)),
		Request:       req,
	}, nil
}

package tableautest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// Default credentials the simulator accepts. They are not secrets: they only
// open a simulator on a loopback address.
const (
	DefaultPATName   = "tabaudit-sim"
	DefaultPATSecret = "sim-secret-do-not-use-in-prod"
	// DefaultPassword signs in any user of the site by name.
	DefaultPassword = "sim-password"
	// SyntheticAdminName is the server administrator served when the site
	// has no SiteAdministratorCreator or ServerAdministrator user; like a
	// server admin visiting a site, it is not in GET users.
	SyntheticAdminName = "tabaudit-sim"
)

// Version range and product the simulator reports by default.
const (
	DefaultRESTVersion    = "3.29"
	DefaultProductVersion = "2026.2.0"
	DefaultBuild          = "20262.26.0415.1200"
	minRESTVersion        = "2.4"
)

// Faults are the fault switches. Every fault is a pure function of request
// counters, so a given configuration and request order reproduces the same
// responses; concurrent clients see the same number of faults, though which
// request gets one depends on arrival order.
type Faults struct {
	// Latency delays every response; LatencyJitter adds a deterministic
	// offset in [-LatencyJitter, +LatencyJitter] derived from the seed and
	// the request number. Sleeping holds no lock.
	Latency       time.Duration
	LatencyJitter time.Duration

	// RateLimitEvery: request n (1-based, every request the server receives)
	// with n % RateLimitEvery == 0 starts a burst of RateLimitBurst (default 1)
	// consecutive 429 responses, code 429000, detail "… Please retry after N
	// seconds." with N = RateLimitWait rounded up to seconds (0 says 0
	// seconds, which Tableau never does but keeps client tests fast).
	// RetryAfterHeader also sets Retry-After: N.
	RateLimitEvery   int
	RateLimitBurst   int
	RateLimitWait    time.Duration
	RetryAfterHeader bool

	// Error5xxEvery: request n with n % Error5xxEvery == 0 starts a burst of
	// Error5xxBurst (default 1) 5xx responses. The k-th 5xx burst (0-based)
	// answers with, in turn: 500 + Tableau error 500000; 502 HTML (proxy);
	// 503 HTML; 504 HTML.
	Error5xxEvery int
	Error5xxBurst int

	// SessionExpiryRequests: a session serves this many authenticated
	// requests; the next one gets 401002 and the session is gone.
	SessionExpiryRequests int
	// SessionExpiry: a session expires this long after sign-in (401002).
	SessionExpiry time.Duration

	// MovingTotals: on the first walk of each paginated list (a walk starts
	// at every pageNumber=1 request for that path; only the first walk per
	// path is affected) pages 2 and later are served as if the first item
	// of the list had been deleted right after page 1 was served:
	// totalAvailable is one less than on page 1 and every later page is
	// shifted by one, so the first item of the true page 2 is never seen.
	// A client that only compares its count with the last page's
	// totalAvailable sees no gap; one that compares totalAvailable across
	// pages (and then re-walks) gets everything on the second walk.
	MovingTotals bool

	// ShortPageEvery: every Nth paginated response that is not the last page
	// (counted server-wide) leaves out its last item, keeping pageSize,
	// pageNumber and totalAvailable as they were; later pages keep their
	// normal offsets, so the left-out item is only on a re-read of that page.
	ShortPageEvery int

	// NodeLimit is passed to the Metadata API simulator.
	NodeLimit int
}

// Option configures a Server.
type Option func(*config)

type patCred struct{ name, secret, userID string }

type config struct {
	addr           string
	restVersion    string
	productVersion string
	build          string
	pats           []patCred
	password       string
	jwtSecret      string
	jwtIssuer      string
	userID         string // signed-in user for PAT and JWT default
	seed           int64
	faults         Faults
	now            func() time.Time
	metadata       http.Handler
}

// WithAddr sets the listen address (default 127.0.0.1:0). Only for Start.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithRESTVersion sets the highest REST version served (default 3.29); newer
// versions in a URL get 404003.
func WithRESTVersion(v string) Option { return func(c *config) { c.restVersion = v } }

// WithProductVersion sets serverinfo's productVersion and build.
func WithProductVersion(version, build string) Option {
	return func(c *config) { c.productVersion, c.build = version, build }
}

// WithPAT adds an accepted personal access token that signs in as the site
// user with short id userID ("" = the default signed-in user). The default
// token DefaultPATName/DefaultPATSecret is always accepted unless a WithPAT
// option uses the same name.
func WithPAT(name, secret, userID string) Option {
	return func(c *config) { c.pats = append(c.pats, patCred{name, secret, userID}) }
}

// WithPassword sets the password accepted for every site user (default
// DefaultPassword); username/password sign-in signs in as that user.
func WithPassword(pw string) Option { return func(c *config) { c.password = pw } }

// WithJWT accepts connected-app JWTs signed HS256 with secret. If issuer is
// not empty, iss must equal it (the connected app's client id). sub names
// the user to sign in (a site user's name, or the synthetic admin).
func WithJWT(secret, issuer string) Option {
	return func(c *config) { c.jwtSecret, c.jwtIssuer = secret, issuer }
}

// WithUser sets the user (short id) a PAT signs in as. By default it is the
// first SiteAdministratorCreator or ServerAdministrator of the site, else a
// synthetic ServerAdministrator that is not listed in GET users.
func WithUser(shortID string) Option { return func(c *config) { c.userID = shortID } }

// WithSeed seeds the deterministic latency jitter.
func WithSeed(seed int64) Option { return func(c *config) { c.seed = seed } }

// WithFaults sets every fault switch at once.
func WithFaults(f Faults) Option { return func(c *config) { c.faults = f } }

// WithClock replaces time.Now for session expiry (tests).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithMetadataHandler replaces the Metadata API handler (default
// metadatasim.New(site, Config{NodeLimit})).
func WithMetadataHandler(h http.Handler) Option { return func(c *config) { c.metadata = h } }

// Server is a running simulator.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:43127 (no trailing slash).
	URL string
	// ContentURL is the site's content URL ("" for the Default site).
	ContentURL string
	// SiteLUID is the site id returned by sign-in.
	SiteLUID string

	ix        *index
	cfg       config
	maxVer    version
	hs        *http.Server
	ln        net.Listener
	done      chan struct{}
	metadata  http.Handler
	metaReady chan struct{} // closed once metadata is set

	faults atomic.Pointer[Faults]

	reqNo atomic.Int64
	// fault burst state, by request number; guarded by faultMu, which is
	// never held while sleeping.
	faultMu      sync.Mutex
	rateLeft     int
	err5xxLeft   int
	err5xxBursts int
	shortPages   atomic.Int64
	walkMu       sync.Mutex
	walks        map[string]int

	sessions sessions
	admin    *userRec // default signed-in user; synthetic when not a site user
	syn      *userRec // the synthetic admin, or nil

	stats stats

	projAcc accessor[*projectRec]
	itemAcc accessor[*itemRec]
}

// Start builds the indexes and listens. Close stops it.
func Start(s *site.Site, opts ...Option) (*Server, error) {
	srv, err := newServer(s, opts...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", srv.cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", srv.cfg.addr, err)
	}
	srv.ln = ln
	srv.URL = "http://" + ln.Addr().String()
	srv.hs = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	srv.done = make(chan struct{})
	go func() {
		defer close(srv.done)
		_ = srv.hs.Serve(ln)
	}()
	return srv, nil
}

// NewServer starts a simulator for a test and closes it when the test ends.
func NewServer(t testing.TB, s *site.Site, opts ...Option) *Server {
	t.Helper()
	srv, err := Start(s, opts...)
	if err != nil {
		t.Fatalf("starting Tableau simulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// Handler builds a simulator without listening, for embedding in another
// server; URL is left empty.
func Handler(s *site.Site, opts ...Option) (*Server, error) { return newServer(s, opts...) }

func newServer(s *site.Site, opts ...Option) (*Server, error) {
	if s == nil {
		return nil, errors.New("starting simulator: no site")
	}
	cfg := config{
		addr:           "127.0.0.1:0",
		restVersion:    DefaultRESTVersion,
		productVersion: DefaultProductVersion,
		build:          DefaultBuild,
		password:       DefaultPassword,
		now:            time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if !hasPAT(cfg.pats, DefaultPATName) {
		cfg.pats = append(cfg.pats, patCred{DefaultPATName, DefaultPATSecret, ""})
	}
	maxVer, ok := parseVersion(cfg.restVersion)
	if !ok {
		return nil, fmt.Errorf("starting simulator: REST version %q: want major.minor", cfg.restVersion)
	}
	ix, err := buildIndex(s)
	if err != nil {
		return nil, fmt.Errorf("starting simulator: %w", err)
	}
	srv := &Server{
		ContentURL: s.ContentURL,
		SiteLUID:   ix.siteLUID,
		ix:         ix,
		cfg:        cfg,
		maxVer:     maxVer,
		walks:      map[string]int{},
	}
	srv.sessions.init()
	f := cfg.faults
	srv.faults.Store(&f)
	if err := srv.pickAdmin(); err != nil {
		return nil, err
	}
	for _, p := range cfg.pats {
		if p.userID != "" && ix.userByID[p.userID] == nil {
			return nil, fmt.Errorf("starting simulator: PAT %q: unknown user %q", p.name, p.userID)
		}
	}
	// The Metadata API handler indexes the lineage, which takes seconds on
	// an L site; it is built in the background so that Start and the REST
	// API are ready at once, and GraphQL requests wait for it.
	srv.metaReady = make(chan struct{})
	if cfg.metadata != nil {
		srv.metadata = cfg.metadata
		close(srv.metaReady)
	} else {
		go func() {
			defer close(srv.metaReady)
			srv.metadata = metadatasim.New(s, metadatasim.Config{NodeLimit: cfg.faults.NodeLimit})
		}()
	}
	srv.stats.init()
	srv.projAcc = srv.projectFields()
	srv.itemAcc = srv.itemFields()
	return srv, nil
}

func hasPAT(pats []patCred, name string) bool {
	for _, p := range pats {
		if p.name == name {
			return true
		}
	}
	return false
}

func (s *Server) pickAdmin() error {
	if s.cfg.userID != "" {
		u := s.ix.userByID[s.cfg.userID]
		if u == nil {
			return fmt.Errorf("starting simulator: signed-in user %q is not a user of the site", s.cfg.userID)
		}
		s.admin = u
	} else {
		for _, u := range s.ix.users {
			if r, _, _ := caps.NormaliseRole(u.u.Role); r == "SiteAdministratorCreator" || r == "ServerAdministrator" {
				s.admin = u
				break
			}
		}
	}
	s.syn = &userRec{
		u:    &site.User{ID: SyntheticAdminName, Role: "ServerAdministrator", Name: SyntheticAdminName},
		luid: site.LUID("user", SyntheticAdminName),
		name: SyntheticAdminName,
	}
	if s.admin == nil {
		s.admin = s.syn
	}
	return nil
}

// SignedInUserLUID is the LUID of the user the default PAT signs in as.
func (s *Server) SignedInUserLUID() string { return s.admin.luid }

// Close stops the server and waits for it.
func (s *Server) Close() error {
	if s.hs == nil {
		return nil
	}
	err := s.hs.Close()
	<-s.done
	return err
}

// Faults returns the current fault switches.
func (s *Server) Faults() Faults { return *s.faults.Load() }

// SetFaults replaces the fault switches; it is safe while serving. Burst
// state restarts.
func (s *Server) SetFaults(f Faults) {
	s.faultMu.Lock()
	s.rateLeft, s.err5xxLeft, s.err5xxBursts = 0, 0, 0
	s.faultMu.Unlock()
	s.faults.Store(&f)
}

// SetLatency sets latency and jitter.
func (s *Server) SetLatency(d, jitter time.Duration) {
	f := s.Faults()
	f.Latency, f.LatencyJitter = d, jitter
	s.SetFaults(f)
}

// SetRateLimit answers a burst of `burst` 429s every `every` requests with
// the stated wait (0 disables).
func (s *Server) SetRateLimit(every, burst int, wait time.Duration, retryAfterHeader bool) {
	f := s.Faults()
	f.RateLimitEvery, f.RateLimitBurst, f.RateLimitWait, f.RetryAfterHeader = every, burst, wait, retryAfterHeader
	s.SetFaults(f)
}

// SetError5xx answers a burst of `burst` 5xx every `every` requests (0 disables).
func (s *Server) SetError5xx(every, burst int) {
	f := s.Faults()
	f.Error5xxEvery, f.Error5xxBurst = every, burst
	s.SetFaults(f)
}

// SetSessionExpiry sets expiry after n requests and/or after d (0 disables).
func (s *Server) SetSessionExpiry(n int, d time.Duration) {
	f := s.Faults()
	f.SessionExpiryRequests, f.SessionExpiry = n, d
	s.SetFaults(f)
}

// SetMovingTotals switches moving totals on or off; walks restart.
func (s *Server) SetMovingTotals(on bool) {
	s.walkMu.Lock()
	s.walks = map[string]int{}
	s.walkMu.Unlock()
	f := s.Faults()
	f.MovingTotals = on
	s.SetFaults(f)
}

// SetShortPageEvery makes every nth non-last page short (0 disables).
func (s *Server) SetShortPageEvery(n int) {
	s.shortPages.Store(0)
	f := s.Faults()
	f.ShortPageEvery = n
	s.SetFaults(f)
}

// ExpireSessions ends every live session, as a server restart would; the
// next request with any earlier token gets 401002.
func (s *Server) ExpireSessions() { s.sessions.expireAll() }

// Stats are request counters.
type Stats struct {
	Requests     int64
	ByEndpoint   map[string]int64 // "GET /sites/{site}/users" → count
	RateLimited  int64            // 429 answers
	ServerErrors int64            // injected 5xx answers
	Unauthorized int64            // 401 answers
	SignIns      int64            // successful sign-ins
	Expired      int64            // sessions that expired (requests or time)
}

type stats struct {
	mu           sync.Mutex
	byEndpoint   map[string]*atomic.Int64
	rateLimited  atomic.Int64
	serverErrors atomic.Int64
	unauthorized atomic.Int64
	signIns      atomic.Int64
	expired      atomic.Int64
}

func (st *stats) init() { st.byEndpoint = map[string]*atomic.Int64{} }

func (st *stats) count(endpoint string) {
	st.mu.Lock()
	c := st.byEndpoint[endpoint]
	if c == nil {
		c = new(atomic.Int64)
		st.byEndpoint[endpoint] = c
	}
	st.mu.Unlock()
	c.Add(1)
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	out := Stats{
		Requests:     s.reqNo.Load(),
		ByEndpoint:   map[string]int64{},
		RateLimited:  s.stats.rateLimited.Load(),
		ServerErrors: s.stats.serverErrors.Load(),
		Unauthorized: s.stats.unauthorized.Load(),
		SignIns:      s.stats.signIns.Load(),
		Expired:      s.stats.expired.Load(),
	}
	s.stats.mu.Lock()
	for k, v := range s.stats.byEndpoint {
		out.ByEndpoint[k] = v.Load()
	}
	s.stats.mu.Unlock()
	return out
}

// Endpoints returns the endpoint names of st in sorted order (for printing).
func (st Stats) Endpoints() []string {
	var ks []string
	for k := range st.ByEndpoint {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

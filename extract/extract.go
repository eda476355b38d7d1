// Package extract runs one extraction: it signs in to Tableau, lists every
// object the audit needs (DESIGN.md §2–3), reads the explicit and default
// permissions of every item with bounded concurrency, optionally walks the
// Metadata API lineage, and writes one snapshot per site (Parquet tables and
// manifest.json) through extract/snapshot.
//
// Completeness is the point: every request that finally fails becomes a
// manifest failure naming the entity, every list is checked against the
// totalAvailable the server announced, unknown capability names and site
// roles are kept and flagged, and a snapshot with any gap is written with
// complete=false (the CLI exits 3). A 404 on an item listed moments before is
// recorded as "gone" (deleted during the run) rather than skipped.
//
// Request budget. Lists use pageSize=1000 and fields=_all_; views are read
// from the site-wide list (not one call per workbook); group sets come with
// their groups. Per-item calls are exactly: permissions of every project,
// workbook, view, datasource, flow, virtual connection, database and table;
// default permissions of every project for each content type the REST
// version supports; default table permissions of every database; the member
// list of every group. This is the minimum the REST API allows.
//
// Benchmarks (package extract, see bench_test.go):
//
//	go test ./extract -run '^$' -bench BenchmarkExtractM -benchtime 1x -timeout 30m
//	go test ./extract -run '^$' -bench BenchmarkExtractL -benchtime 1x -timeout 30m
package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabaudit/tabaudit/extract/metadata"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/extract/tableau"
)

// DefaultConcurrency is the default number of requests in flight. Tableau
// documents no rate limit for plain GETs on Server and none published for
// Cloud listing; spec/tableau-rest.md §7 advises 4–8 in-flight GETs with one
// shared token. 8 is the top of that range; raise it with --concurrency on
// Tableau Server, where the limit is the server's own capacity.
const DefaultConcurrency = 8

// Config is one extraction run.
type Config struct {
	ServerURL   string
	Credentials tableau.Credentials
	// Sites are content URLs to extract; empty means Credentials.ContentURL.
	Sites []string
	// AllSites extracts every site the signed-in user can list (Tableau
	// Server administrators).
	AllSites bool
	OutRoot  string

	Concurrency int // requests in flight; 0 means DefaultConcurrency
	PageSize    int // 0 means 1000
	NoLineage   bool
	JSON        bool // read the REST API as JSON instead of XML

	HTTPClient  *http.Client // TLS, proxy, timeouts; nil means tableau.DefaultHTTPClient
	Insecure    bool         // recorded in the manifest
	CACert      string       // recorded in the manifest
	RetryPolicy *tableau.RetryPolicy
	MaxVersion  string

	ToolVersion string
	Logger      *slog.Logger
	// Progress is called about every ProgressEvery while a site is
	// extracted, and once more when it ends.
	Progress      func(Progress)
	ProgressEvery time.Duration
	Now           func() time.Time
}

// Progress is the state of one site's extraction.
type Progress struct {
	Site      string
	Stages    []StageProgress
	Requests  int64
	Retries   int64
	Throttled int64
	ReSignIns int64
	Elapsed   time.Duration
	Done      bool
}

// StageProgress counts one stage: items done out of the total known so far
// (Total grows while lists are being read).
type StageProgress struct {
	Name        string
	Done, Total int64
}

// Result is what a run produced.
type Result struct {
	Snapshots []SiteResult
}

// SiteResult is one site's snapshot.
type SiteResult struct {
	Dir      string
	Manifest *snapshot.Manifest
}

// Complete reports whether every snapshot is complete.
func (r *Result) Complete() bool {
	for _, s := range r.Snapshots {
		if !s.Manifest.Complete {
			return false
		}
	}
	return true
}

// Extract runs the extraction of every requested site. It returns the
// snapshots written; an error means a site could not be extracted at all
// (sign-in refused, server unreachable, cancelled) and nothing of that site
// was published.
func Extract(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.OutRoot == "" {
		return nil, errors.New("no output folder")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = tableau.DefaultPageSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 250 * time.Millisecond
	}
	opts := []tableau.Option{tableau.WithLogger(cfg.Logger), tableau.WithPageSize(cfg.PageSize),
		tableau.WithMaxInFlight(cfg.Concurrency), tableau.WithClock(cfg.Now)}
	if cfg.HTTPClient != nil {
		opts = append(opts, tableau.WithHTTPClient(cfg.HTTPClient))
	}
	if cfg.JSON {
		opts = append(opts, tableau.WithJSON())
	}
	if cfg.RetryPolicy != nil {
		opts = append(opts, tableau.WithRetryPolicy(*cfg.RetryPolicy))
	}
	if cfg.MaxVersion != "" {
		opts = append(opts, tableau.WithMaxVersion(cfg.MaxVersion))
	}
	creds := cfg.Credentials
	sites := cfg.Sites
	if len(sites) == 0 && !cfg.AllSites {
		sites = []string{creds.ContentURL}
	}
	if len(sites) > 0 {
		creds.ContentURL = sites[0]
	}
	c, err := tableau.NewClient(cfg.ServerURL, creds, opts...)
	if err != nil {
		return nil, err
	}
	defer func() {
		// Sign out with a fresh context: the run's may be cancelled.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = c.Auth.SignOut(sctx)
	}()
	if _, err := c.Auth.SignIn(ctx); err != nil {
		return nil, err
	}
	if cfg.AllSites {
		sites = nil
		for s, err := range c.Sites.All(ctx, nil) {
			if err != nil {
				return nil, fmt.Errorf("listing sites for --all-sites (needs a server administrator): %w", err)
			}
			sites = append(sites, s.ContentURL)
		}
		if len(sites) == 0 {
			return nil, errors.New("--all-sites: the server listed no site")
		}
	}
	res := &Result{}
	for i, site := range sites {
		if i > 0 || (cfg.AllSites && site != c.Session().SiteContentURL) {
			if _, err := c.Auth.SwitchTo(ctx, site); err != nil {
				return res, fmt.Errorf("signing in to site %q: %w", site, err)
			}
		}
		r, err := extractSite(ctx, cfg, c)
		if err != nil {
			return res, fmt.Errorf("extracting site %q: %w", site, err)
		}
		res.Snapshots = append(res.Snapshots, *r)
	}
	return res, nil
}

// run is the state of one site's extraction.
type run struct {
	cfg    Config
	c      *tableau.Client
	w      *snapshot.Writer
	log    *slog.Logger
	before tableau.Stats

	mu        sync.Mutex
	tables    map[string]*snapshot.TableStats
	failures  []snapshot.Failure
	warnings  []string
	reasons   []string
	unknown   map[string]map[string]int // kind → value → count
	skipKinds map[string]string         // default-permission kinds the server does not know

	stages   []*stage
	stageIdx map[string]*stage

	luids map[string]string // every REST LUID → content type, for lineage cross-checks
}

type stage struct {
	name        string
	done, total atomic.Int64
}

func (r *run) stage(name string) *stage {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.stageIdx[name]; ok {
		return s
	}
	s := &stage{name: name}
	r.stages = append(r.stages, s)
	r.stageIdx[name] = s
	return s
}

func (r *run) table(name string) *snapshot.TableStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tables[name]
	if !ok {
		t = &snapshot.TableStats{TotalAvailable: -1, Complete: true}
		r.tables[name] = t
	}
	return t
}

func (r *run) countRequest(table string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tables[table].Requests++
}

func (r *run) warn(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warnings = append(r.warnings, r.c.Redact(msg))
}

// fail records a request that finally failed; the table it feeds is marked
// incomplete unless the entity was deleted meanwhile (404 after listing).
func (r *run) fail(table, entity, method, path string, err error) {
	f := snapshot.Failure{Method: method, Path: path, Entity: entity, Error: r.c.Redact(err.Error())}
	var ae *tableau.APIError
	if errors.As(err, &ae) {
		f.StatusCode, f.Code = ae.StatusCode, ae.Code
		if ae.URL != "" {
			f.Path = ae.URL
		}
		f.Gone = ae.NotFound()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		f.Error = "cancelled: " + f.Error
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, f)
	if f.Gone {
		r.warnings = append(r.warnings, fmt.Sprintf("%s: deleted during the extraction (404 after it was listed)", entity))
		return
	}
	if t := r.tables[table]; t != nil {
		t.Complete = false
	}
}

func (r *run) flag(kind, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unknown[kind] == nil {
		r.unknown[kind] = map[string]int{}
	}
	r.unknown[kind][value]++
}

func (r *run) append(table string, row ...any) error {
	if err := r.w.Append(table, row...); err != nil {
		return fmt.Errorf("writing %s: %w", table, err)
	}
	return nil
}

func extractSite(ctx context.Context, cfg Config, c *tableau.Client) (*SiteResult, error) {
	started := cfg.Now().UTC()
	sess := c.Session()
	si := c.ServerInfoCached()
	m := &snapshot.Manifest{
		ToolVersion: cfg.ToolVersion, ServerURL: c.ServerURL(), RESTVersion: c.Version(),
		SiteID: sess.SiteID, SiteContentURL: sess.SiteContentURL, SignedInUser: sess.UserID,
		AuthMethod: c.AuthMethod(), Insecure: cfg.Insecure, CACert: cfg.CACert, StartedAt: started,
		Format: c.Format(), Concurrency: cfg.Concurrency, PageSize: cfg.PageSize,
		Failures: []snapshot.Failure{}, Warnings: []string{},
	}
	if si != nil {
		m.Product, m.ProductBuild = si.ProductVersion, si.Build
	}
	prov := map[string]string{"tool_version": cfg.ToolVersion, "server_url": m.ServerURL, "site_id": m.SiteID,
		"site_content_url": m.SiteContentURL, "rest_api_version": m.RESTVersion, "product_version": m.Product,
		"started_at": started.Format(time.RFC3339)}
	w, err := snapshot.NewWriter(cfg.OutRoot, sess.SiteContentURL, started, snapshot.WriterOptions{Provenance: prov})
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			w.Abort()
		}
	}()
	r := &run{cfg: cfg, c: c, w: w, log: cfg.Logger.With("site", siteLabel(sess.SiteContentURL)), before: c.Stats(),
		tables: map[string]*snapshot.TableStats{}, unknown: map[string]map[string]int{}, skipKinds: map[string]string{},
		stageIdx: map[string]*stage{}, luids: map[string]string{}}
	for _, t := range snapshot.Tables {
		if !t.Lineage {
			r.table(t.Name)
		}
	}
	if cfg.Insecure {
		r.warn("TLS certificate verification was disabled (--insecure): the server's identity was not checked")
	}

	stop := r.startProgress(ctx, sess.SiteContentURL, started)
	err = r.extractREST(ctx)
	if err == nil && !cfg.NoLineage {
		err = r.extractLineage(ctx, m)
	} else if cfg.NoLineage {
		m.Lineage = "skipped"
	}
	stop()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if name, err := c.Sites.Get(ctx); err == nil {
		m.SiteName = name.Name
	} else {
		r.warn("could not read the site's name: %v", err)
	}
	r.signedInUser(ctx, m)

	// Flag unknown values: kept verbatim in the tables, named here.
	kinds := make([]string, 0, len(r.unknown))
	for k := range r.unknown {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		vals := make([]string, 0, len(r.unknown[k]))
		for v, n := range r.unknown[k] {
			vals = append(vals, fmt.Sprintf("%q (%d)", v, n))
		}
		sort.Strings(vals)
		r.warn("unknown %s kept as returned: %s", k, strings.Join(vals, ", "))
	}
	for kind, why := range r.skipKinds {
		r.warn("default permissions for %s not read: %s", kind, why)
	}

	st := c.Stats()
	m.Requests = st.Requests - r.before.Requests
	m.Retries = st.Retries - r.before.Retries
	m.Throttled = st.Throttled - r.before.Throttled
	m.ReSignIns = st.ReSignIns - r.before.ReSignIns
	m.FinishedAt = cfg.Now().UTC()
	m.Tables = map[string]snapshot.TableStats{}
	names := make([]string, 0, len(r.tables))
	for name, t := range r.tables {
		m.Tables[name] = *t
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !r.tables[name].Complete {
			r.reasons = append(r.reasons, "table "+name+" is incomplete")
		}
	}
	sort.Slice(r.failures, func(i, j int) bool { return r.failures[i].Entity < r.failures[j].Entity })
	m.Failures = append(m.Failures, r.failures...)
	m.Warnings = append(m.Warnings, r.warnings...)
	m.Incomplete = r.reasons
	m.Complete = len(r.reasons) == 0
	dir, err := w.Commit(m)
	if err != nil {
		return nil, err
	}
	committed = true
	r.log.Info("snapshot written", "dir", dir, "complete", m.Complete, "requests", m.Requests, "failures", len(m.Failures))
	return &SiteResult{Dir: dir, Manifest: m}, nil
}

func siteLabel(contentURL string) string {
	if contentURL == "" {
		return "default"
	}
	return contentURL
}

// adminRoles can read every item and every permission on a site.
var adminRoles = []string{"ServerAdministrator", "SiteAdministratorCreator", "SiteAdministratorExplorer", "SiteAdministrator"}

// signedInUser records who ran the extraction and warns when it was not an
// administrator: lists then hold only what that user may see.
func (r *run) signedInUser(ctx context.Context, m *snapshot.Manifest) {
	u, err := r.c.Users.Get(ctx, m.SignedInUser)
	if err != nil {
		r.warn("could not read the signed-in user %s (its site role is unknown; content may be hidden): %v", m.SignedInUser, err)
		return
	}
	m.SignedInUserName, m.SignedInRole = u.Name, u.SiteRole
	if !slices.Contains(adminRoles, u.SiteRole) {
		r.warn("NOT AN ADMINISTRATOR: signed in as %q with site role %s. Tableau lists only the content this user can see and refuses other items' permissions, so this snapshot may be missing content and rules. Run the audit as a Site or Server Administrator.", u.Name, u.SiteRole)
		r.reasons = append(r.reasons, "signed-in user is not an administrator ("+u.SiteRole+")")
	}
}

func (r *run) startProgress(ctx context.Context, site string, started time.Time) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	emit := func(done bool) {
		st := r.c.Stats()
		p := Progress{Site: siteLabel(site), Requests: st.Requests - r.before.Requests, Retries: st.Retries - r.before.Retries,
			Throttled: st.Throttled - r.before.Throttled, ReSignIns: st.ReSignIns - r.before.ReSignIns,
			Elapsed: r.cfg.Now().Sub(started), Done: done}
		r.mu.Lock()
		for _, s := range r.stages {
			p.Stages = append(p.Stages, StageProgress{Name: s.name, Done: s.done.Load(), Total: s.total.Load()})
		}
		r.mu.Unlock()
		r.cfg.Progress(p)
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				emit(false)
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
		emit(true)
	}
}

func (r *run) extractLineage(ctx context.Context, m *snapshot.Manifest) error {
	s := r.stage("lineage")
	s.total.Store(1)
	defer s.done.Store(1)
	emit := func(table string, row []any) error { return r.w.Append(table, row...) }
	st, err := metadata.Extract(ctx, r.c.MetadataURL(), r.c.MetadataDoer(), emit, metadata.Options{
		RESTLUIDs: r.luids, Logger: r.log, Concurrency: min(r.cfg.Concurrency, 3),
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	m.LineageNotes = append(m.LineageNotes, st.Notes...)
	for _, f := range st.Failures {
		m.LineageNotes = append(m.LineageNotes, "failure: "+r.c.Redact(f.String()))
	}
	switch {
	case st.NotAvailable:
		m.Lineage = "not_available"
		r.warn("the Metadata API is not available on this server: no lineage tables were written")
		return nil
	case err != nil:
		m.Lineage = "incomplete"
		m.LineageNotes = append(m.LineageNotes, "aborted: "+r.c.Redact(err.Error()))
	case st.Complete:
		m.Lineage = "complete"
	default:
		m.Lineage = "incomplete"
	}
	r.w.IncludeLineage()
	if m.Lineage != "complete" {
		r.reasons = append(r.reasons, "lineage is incomplete (see lineage_notes)")
	}
	return nil
}

// extraJSON renders the attributes tabaudit does not model; nil when none.
func extraJSON(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return string(b)
}

// ref stores an empty reference (parent, owner, project) as null.
func ref(s string) any {
	if s == "" {
		return nil
	}
	return s
}

package metadata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"strings"
	"sync/atomic"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Doer sends one authenticated HTTP request. The REST client provides it:
// it adds X-Tableau-Auth, signs in again when the session expires and
// retries transport failures, 429 and 5xx; this package does none of that.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Options tune the lineage walk. The zero value is usable.
type Options struct {
	// PageSize overrides the starting page size of every operation; 0 uses
	// the per-operation sizes of spec/metadata-api.md §7 (TabauditTables,
	// which also lists columns, starts at 500 rather than 1,000).
	PageSize int
	// MaxPageSize caps page sizes; 0 means the Metadata API's 1,000.
	MaxPageSize int
	// MaxAliases caps the pages (aliased root connections) one request
	// carries; 0 means 32. 1 turns batching off: every request is one
	// cursor-mode page of one operation, the shape before issue #4.
	MaxAliases int
	// Concurrency bounds the requests in flight at once; 0 means 3.
	Concurrency int
	// NodeLimit is the server's node limit as far as known; requests aim
	// at TargetUtilisation of it. 0 means Tableau's default 20,000.
	NodeLimit int
	// TargetUtilisation is the share of NodeLimit a request should cost;
	// 0 means 0.75.
	TargetUtilisation float64
	// RESTLUIDs maps every LUID the REST part extracted to its content type
	// (workbook, view, datasource, flow, virtualconnection, database,
	// table); luids seen on one side only are reported in Stats.Notes.
	RESTLUIDs map[string]string
	// RateRetries is how often a RATE_EXCEEDED answer is retried; 0 means 4.
	RateRetries int
	// RateBackoff is the first wait after RATE_EXCEEDED (doubling); 0 means 2 s.
	RateBackoff time.Duration
	// RequestTimeout, when set, bounds one GraphQL request; a request that
	// runs out is treated like a TIME_LIMIT_EXCEEDED page and re-read
	// smaller.
	RequestTimeout time.Duration
	// Progress, when set, is called after every request, once per
	// operation it carried.
	Progress func(Progress)
	// Logger receives one line per operation; nil discards.
	Logger *slog.Logger
}

// Progress reports the pages of one operation read in one request.
type Progress struct {
	Operation  string
	Pages      int
	Objects    int
	TotalCount int
	PageSize   int
}

// Stats describe a lineage extraction.
type Stats struct {
	Requests int // GraphQL requests sent, the probe, retries and re-reads included
	Nodes    int // lineage_nodes rows emitted
	Edges    int // lineage_edges rows emitted
	// ResponseNodes is the Metadata API node cost of every page kept, and
	// Utilisation the mean of ResponseNodes/NodeLimit over requests.
	ResponseNodes int
	Utilisation   float64
	Operations    []OperationStats
	// Complete is true only when every operation read every page, nothing
	// was obfuscated, skipped or left unresolved, and no warning said the
	// data may be partial.
	Complete bool
	// NotAvailable is true when the server's Metadata API is disabled or
	// absent; lineage tables are then not written (not a REST failure).
	NotAvailable bool
	Obfuscated   int // tables whose name the Metadata API withheld
	// ObfuscatedColumns counts columns whose name was withheld (those of
	// obfuscated tables).
	ObfuscatedColumns int
	Notes             []string
	Failures          []Failure
}

// OperationStats describe one operation's walk. A request can carry pages
// of several operations (see Extract): it counts in Requests of each, and
// each operation's Nodes are only its own pages' cost.
type OperationStats struct {
	Operation  string
	TotalCount int // the last totalCount the server gave
	Objects    int // distinct objects read
	Pages      int // pages kept (aliases answered in full)
	Requests   int // requests that carried at least one page of this operation
	Shared     int // of those, requests that also carried other operations
	Nodes      int // node cost of the pages kept, seam checks included
	Shrinks    int // requests carrying this operation cut by a limit
	Grows      int
	// PageSizes lists the objects of this operation per request (over all
	// its pages), every change in order.
	PageSizes []int
	// CursorFallback is set when the offset pages disagreed (the set moved
	// while it was read) and the rest was read again with cursor paging.
	CursorFallback bool
	Complete       bool
	Duration       time.Duration
	// Utilisation is Nodes / (Requests × NodeLimit): in a shared request
	// only this operation's share counts, so the operations' figures do
	// not add up to Stats.Utilisation.
	Utilisation float64
}

// Failure is one thing the walk could not read.
type Failure struct {
	Operation string
	After     string // cursor of the page, "" for the first
	Object    string // the object that could not be read, when known
	Code      string // Metadata API error code, HTTP status or a tabaudit reason
	Message   string
}

func (f Failure) String() string {
	s := f.Operation
	if f.Object != "" {
		s += " object " + f.Object
	}
	if f.After != "" {
		s += " after cursor " + f.After
	}
	return s + ": " + f.Code + ": " + f.Message
}

// ErrNotAvailable is wrapped by the error the probe returns when the
// Metadata API is disabled; Extract itself reports it in Stats.
var ErrNotAvailable = errors.New("metadata API not available")

// countingDoer counts requests.
type countingDoer struct {
	d Doer
	n atomic.Int64
}

func (c *countingDoer) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	resp, err := c.d.Do(r)
	if err != nil {
		return nil, &doerError{err}
	}
	return resp, nil
}

// doerError marks an error of the Doer (transport, sign-in, retries given
// up) apart from errors decoding the answer.
type doerError struct{ err error }

func (e *doerError) Error() string { return e.err.Error() }
func (e *doerError) Unwrap() error { return e.err }

// Extract walks the Metadata API lineage operations at endpoint (the
// server's /api/metadata/graphql) and emits lineage_nodes and lineage_edges
// rows in catalogue column order through emit.
//
// One probe request sizes every operation (first:0 pages); then requests
// carry as many pages, of one operation or several, as fit in
// TargetUtilisation × NodeLimit nodes (walk.go explains the shape, the
// checks that offset pages were read against an unchanged set, and the
// fallbacks when they were not or a request is cut).
//
// The error is non-nil when a walk was aborted (an HTTP or GraphQL error, a
// response that is not JSON, a cursor that does not advance), when ctx
// ends, or when emit fails; rows read before an abort are still emitted,
// and Stats.Complete is false. A disabled Metadata API is not an error:
// Stats.NotAvailable is set and nothing is emitted.
func Extract(ctx context.Context, endpoint string, doer Doer, emit func(table string, row []any) error, opts Options) (Stats, error) {
	o := opts.withDefaults()
	cd := &countingDoer{d: doer}
	cl := graphql.NewClient(endpoint, cd)
	st := Stats{Complete: true}

	// Probe: one request of first:0 pages tells whether the API is there
	// at all and sizes every operation.
	ops := operations()
	totals, err := probe(ctx, cl, ops)
	if err != nil {
		if msg, ok := notAvailable(err); ok {
			st.Requests = int(cd.n.Load())
			st.NotAvailable, st.Complete = true, false
			st.Notes = append(st.Notes, "Metadata API not available: "+msg+"; lineage tables were not extracted")
			o.log.Warn("metadata API not available", "reason", msg)
			return st, nil
		}
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		st.Requests = int(cd.n.Load())
		st.Complete = false
		f := Failure{Operation: probeName, Code: errorCode(err), Message: errorMessage(err)}
		st.Failures = append(st.Failures, f)
		return st, fmt.Errorf("probing the Metadata API at %s: %s", redactURL(endpoint), f)
	}

	c := newCollector()
	w, err := newWalker(cl, c, ops, totals, o)
	if err != nil {
		return st, err
	}
	w.run(ctx)

	var errs []error
	for _, s := range w.ops {
		r := s.result(o.NodeLimit)
		st.Operations = append(st.Operations, r.stats)
		st.ResponseNodes += r.stats.Nodes
		st.Failures = append(st.Failures, r.failures...)
		st.Notes = append(st.Notes, r.notes...)
		if !r.stats.Complete {
			st.Complete = false
		}
		if r.err != nil {
			errs = append(errs, r.err)
		}
		o.log.Info("metadata operation", "operation", r.stats.Operation, "objects", r.stats.Objects,
			"total", r.stats.TotalCount, "pages", r.stats.Pages, "requests", r.stats.Requests,
			"shrinks", r.stats.Shrinks, "complete", r.stats.Complete, "duration", r.stats.Duration)
	}
	st.Requests = int(cd.n.Load())
	if st.Requests > 0 {
		st.Utilisation = float64(st.ResponseNodes) / float64(st.Requests*o.NodeLimit)
	}
	if ctx.Err() != nil {
		return st, ctx.Err()
	}

	st.check(c, o)

	nodes, edges, err := c.rows()
	if err != nil {
		return st, err
	}
	for _, row := range nodes {
		if err := emit("lineage_nodes", row); err != nil {
			return st, fmt.Errorf("writing lineage_nodes: %w", err)
		}
	}
	for _, row := range edges {
		if err := emit("lineage_edges", row); err != nil {
			return st, fmt.Errorf("writing lineage_edges: %w", err)
		}
	}
	st.Nodes, st.Edges = len(nodes), len(edges)
	return st, errors.Join(errs...)
}

// check resolves luid-named edges and records what makes the lineage
// incomplete or inconsistent with REST.
func (st *Stats) check(c *collector, o options) {
	for kind, luids := range c.resolve() {
		slices.Sort(luids)
		st.Complete = false
		st.Notes = append(st.Notes, fmt.Sprintf("%d %s luid(s) named by a link but not returned by the Metadata API (edges dropped): %s", len(luids), kind, sample(luids)))
	}
	if len(c.conflicts) > 0 {
		st.Complete = false
		st.Notes = append(st.Notes, fmt.Sprintf("%d id(s) returned with two kinds: %s", len(c.conflicts), sample(c.conflicts)))
	}
	var obf, unlisted, hiddenAlone, obfCols, orphanCols []string
	inDashboard := map[string]bool{}
	hasParent := map[string]bool{} // columns tied to a table (or custom SQL, VC table)
	for k := range c.edges {
		switch k.relation {
		case "sheet>dashboard":
			inDashboard[k.from] = true
		case "table>column", "custom_sql>column", "virtual_connection_table>column":
			hasParent[k.to] = true
		}
	}
	for _, n := range c.nodes {
		if n.kind == kindColumn {
			// A column's name is withheld with its table's; whichever
			// operation saw it, a name from any of them counts.
			n.obfuscated = n.name == nil
		}
		switch {
		case n.kind == kindColumn && !hasParent[n.id]:
			orphanCols = append(orphanCols, n.id)
		case n.kind == kindColumn && n.obfuscated:
			obfCols = append(obfCols, describe(n.id, n.luid))
		case n.kind == kindTable && n.obfuscated:
			obf = append(obf, describe(n.id, n.luid))
		case n.kind == kindTable && !n.listed:
			unlisted = append(unlisted, n.id)
		case n.kind == kindSheet && (n.luid == nil || *n.luid == "") && !inDashboard[n.id]:
			hiddenAlone = append(hiddenAlone, n.id)
		}
	}
	st.Obfuscated = len(obf)
	if len(obf) > 0 {
		slices.Sort(obf)
		st.Complete = false
		st.Notes = append(st.Notes, fmt.Sprintf("%d table(s) returned obfuscated (null name): sign in as a site administrator; ids: %s", len(obf), sample(obf)))
	}
	st.ObfuscatedColumns = len(obfCols)
	if len(obfCols) > 0 {
		slices.Sort(obfCols)
		st.Complete = false
		st.Notes = append(st.Notes, fmt.Sprintf("%d column(s) returned obfuscated (null name): their column-level lineage has no column name; ids: %s", len(obfCols), sample(obfCols)))
	}
	if len(orphanCols) > 0 {
		slices.Sort(orphanCols)
		st.Complete = false
		st.Notes = append(st.Notes, fmt.Sprintf("%d column(s) used by sheets but returned without their table (column-level lineage for them is missing): %s", len(orphanCols), sample(orphanCols)))
	}
	if len(unlisted) > 0 {
		slices.Sort(unlisted)
		st.Complete = false
		st.Notes = append(st.Notes, fmt.Sprintf("%d table(s) linked but not listed by databaseTablesConnection (no name known): %s", len(unlisted), sample(unlisted)))
	}
	if len(hiddenAlone) > 0 {
		slices.Sort(hiddenAlone)
		st.Notes = append(st.Notes, fmt.Sprintf("%d hidden sheet(s) (no luid) in no dashboard: their lineage reaches no REST view: %s", len(hiddenAlone), sample(hiddenAlone)))
	}
	if len(o.RESTLUIDs) == 0 {
		return
	}
	// Eventual consistency: compare luids per REST content type, only for
	// the types the REST part extracted.
	restTypes := map[string]bool{}
	for _, t := range o.RESTLUIDs {
		restTypes[t] = true
	}
	gql := map[string]string{}
	for _, n := range c.nodes {
		t := restType[n.kind]
		if n.luid == nil || *n.luid == "" || !restTypes[t] {
			continue
		}
		gql[*n.luid] = t
	}
	var gqlOnly, restOnly, mismatch []string
	for l, t := range gql {
		rt, ok := o.RESTLUIDs[l]
		switch {
		case !ok:
			gqlOnly = append(gqlOnly, t+":"+l)
		case rt != t:
			mismatch = append(mismatch, fmt.Sprintf("%s (REST %s, Metadata API %s)", l, rt, t))
		}
	}
	for l, t := range o.RESTLUIDs {
		if _, ok := gql[l]; !ok && slices.Contains(mappedTypes, t) {
			restOnly = append(restOnly, t+":"+l)
		}
	}
	for _, x := range []struct {
		list []string
		what string
	}{
		{gqlOnly, "luid(s) in the Metadata API but not in REST (index ahead of REST, or REST incomplete)"},
		{restOnly, "luid(s) in REST but not in the Metadata API (index behind: recently published or not yet indexed)"},
		{mismatch, "luid(s) with a different content type in REST and the Metadata API"},
	} {
		if len(x.list) > 0 {
			slices.Sort(x.list)
			st.Notes = append(st.Notes, fmt.Sprintf("%d %s: %s", len(x.list), x.what, sample(x.list)))
		}
	}
}

// mappedTypes are the REST content types the Metadata API lineage covers.
var mappedTypes = []string{"workbook", "view", "datasource", "flow", "virtualconnection", "database", "table"}

func sample(l []string) string {
	const max = 10
	if len(l) <= max {
		return strings.Join(l, ", ")
	}
	return strings.Join(l[:max], ", ") + fmt.Sprintf(", … (%d more)", len(l)-max)
}

type options struct {
	Options
	log *slog.Logger
}

func (opts Options) withDefaults() options {
	o := options{Options: opts}
	if o.MaxPageSize <= 0 || o.MaxPageSize > 1000 {
		o.MaxPageSize = 1000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 3
	}
	if o.MaxAliases <= 0 {
		o.MaxAliases = 32
	}
	if o.NodeLimit <= 0 {
		o.NodeLimit = 20000
	}
	if o.TargetUtilisation <= 0 || o.TargetUtilisation > 1 {
		o.TargetUtilisation = 0.75
	}
	if o.RateRetries <= 0 {
		o.RateRetries = 4
	}
	if o.RateBackoff <= 0 {
		o.RateBackoff = 2 * time.Second
	}
	o.log = opts.Logger
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

// verdict is what to do with one response.
type verdict struct {
	fatal   error
	code    string
	rate    bool
	shrink  string // code that makes the page incomplete: re-read smaller
	flags   []string
	flagMsg map[string]string
}

// pageLimitCodes cut a page short; the page is discarded and re-read
// smaller.
var pageLimitCodes = []string{"NODE_LIMIT_EXCEEDED", "TIME_LIMIT_EXCEEDED", "MAX_PAGE_SIZE_EXCEEDED"}

// flagCodes keep the data but make it possibly partial.
var flagCodes = []string{"BACKFILL_RUNNING", "PERMISSIONS_MODE_SWITCHED", "INHERITANCE_INCOMPLETE", "LINKED_RESULTS_INCOMPLETE", "USER_VISIBILITY_IS_LIMITED"}

func classify(err error, timedOut bool) verdict {
	v := verdict{flagMsg: map[string]string{}}
	if timedOut {
		v.shrink = "REQUEST_TIMEOUT"
		return v
	}
	if err == nil {
		return v
	}
	var list gqlerror.List
	var httpErr *graphql.HTTPError
	switch {
	case errors.As(err, &httpErr):
		v.code = fmt.Sprintf("HTTP %d", httpErr.StatusCode)
		v.fatal = fmt.Errorf("HTTP %d %s: %s", httpErr.StatusCode, http.StatusText(httpErr.StatusCode), errorMessage(err))
		return v
	case errors.As(err, &list):
	default:
		var de *doerError
		if errors.As(err, &de) {
			var ue *url.Error
			if errors.As(err, &ue) && ue.Timeout() || errors.Is(err, context.DeadlineExceeded) {
				v.shrink = "REQUEST_TIMEOUT"
				return v
			}
			v.code = "REQUEST_FAILED"
			v.fatal = fmt.Errorf("request failed: %w", de.err)
			return v
		}
		// Anything else came from decoding the body: truncated or not
		// the JSON the operation expects.
		v.code = "INVALID_RESPONSE"
		v.fatal = fmt.Errorf("response is not the expected JSON: %w", err)
		return v
	}
	var fatalMsgs []string
	for _, e := range list {
		code, severity := extString(e, "code"), extString(e, "severity")
		switch {
		case slices.Contains(pageLimitCodes, code):
			v.shrink = code
		case strings.Contains(e.Message, "timeout of") && strings.Contains(e.Message, "was reached"):
			// Tableau 2024.2 reports a query timeout as a plain error.
			v.shrink = "TIMEOUT"
		case code == "RATE_EXCEEDED":
			v.rate = true
		case slices.Contains(flagCodes, code):
			v.flags = append(v.flags, code)
			v.flagMsg[code] = e.Message
		case severity == "WARNING":
			v.flags = append(v.flags, code)
			v.flagMsg[code] = e.Message
		default:
			if v.code == "" {
				v.code = code
				if v.code == "" {
					v.code = "GRAPHQL_ERROR"
				}
			}
			fatalMsgs = append(fatalMsgs, e.Message)
		}
	}
	if len(fatalMsgs) > 0 {
		v.fatal = fmt.Errorf("GraphQL error %s: %s", v.code, strings.Join(fatalMsgs, "; "))
		v.shrink, v.rate = "", false
	}
	return v
}

func extString(e *gqlerror.Error, k string) string {
	if e == nil || e.Extensions == nil {
		return ""
	}
	s, _ := e.Extensions[k].(string)
	return s
}

// isWarningsOnly reports whether err carries only warnings (data usable).
func isWarningsOnly(err error) bool {
	v := classify(err, false)
	return v.fatal == nil && !v.rate
}

// notAvailable recognises a server without the Metadata API: 404 on the
// endpoint, or FEATURE_DISABLED / SITE_DISABLED (spec/metadata-api.md §5).
func notAvailable(err error) (string, bool) {
	var httpErr *graphql.HTTPError
	if errors.As(err, &httpErr) && httpErr.StatusCode == http.StatusNotFound {
		return "the endpoint answered HTTP 404", true
	}
	var list gqlerror.List
	if errors.As(err, &list) {
		for _, e := range list {
			switch c := extString(e, "code"); c {
			case "FEATURE_DISABLED", "SITE_DISABLED":
				return c + ": " + e.Message, true
			}
		}
	}
	return "", false
}

func errorCode(err error) string {
	v := classify(err, false)
	if v.code != "" {
		return v.code
	}
	return "ERROR"
}

// errorMessage keeps error text short: an HTTP error body can be a whole
// HTML page.
func errorMessage(err error) string {
	var httpErr *graphql.HTTPError
	msg := err.Error()
	if errors.As(err, &httpErr) {
		var parts []string
		for _, e := range httpErr.Response.Errors {
			parts = append(parts, e.Message)
		}
		msg = strings.Join(parts, "; ")
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

// redactURL drops any query string and user info from the endpoint for
// messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<endpoint>"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

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
	"sync"
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
	// Concurrency bounds the operations walked at once; 0 means 3.
	Concurrency int
	// NodeLimit is the server's node limit as far as known; page sizes aim
	// at TargetUtilisation of it. 0 means Tableau's default 20,000.
	NodeLimit int
	// TargetUtilisation is the share of NodeLimit a page should cost;
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
	// Progress, when set, is called after every page.
	Progress func(Progress)
	// Logger receives one line per operation; nil discards.
	Logger *slog.Logger
}

// Progress reports one page read.
type Progress struct {
	Operation  string
	Pages      int
	Objects    int
	TotalCount int
	PageSize   int
}

// Stats describe a lineage extraction.
type Stats struct {
	Requests int // GraphQL requests sent, retries and re-reads included
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

// OperationStats describe one operation's walk.
type OperationStats struct {
	Operation   string
	TotalCount  int
	Objects     int
	Pages       int // pages kept
	Requests    int
	Nodes       int // node cost of the pages kept
	Shrinks     int
	Grows       int
	PageSizes   []int // every page size used, in order of change
	Complete    bool
	Duration    time.Duration
	Utilisation float64 // Nodes / (Requests × NodeLimit)
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

	// Probe: one first:0 request tells whether the API is there at all.
	if _, err := TabauditWorkbookViews(ctx, cl, ptr(0), nil, nil); err != nil {
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
		if !isWarningsOnly(err) {
			st.Requests = int(cd.n.Load())
			st.Complete = false
			f := Failure{Operation: "TabauditWorkbookViews", Code: errorCode(err), Message: errorMessage(err)}
			st.Failures = append(st.Failures, f)
			return st, fmt.Errorf("probing the Metadata API at %s: %s", redactURL(endpoint), f)
		}
	}

	c := newCollector()
	ops := operations()
	results := make([]walkResult, len(ops))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = walkResult{stats: OperationStats{Operation: op.name}, err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			results[i] = walk(ctx, cl, op, c, o)
		}()
	}
	wg.Wait()

	var errs []error
	for _, r := range results {
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

type walkResult struct {
	stats    OperationStats
	failures []Failure
	notes    []string
	err      error
}

// maxAttemptsPerPage bounds re-reads of one page: ten halvings take 1,000
// to 1, plus rate-limit retries.
const maxAttemptsPerPage = 24

// walk reads every page of one operation. Page size policy
// (spec/metadata-api.md §5): a page cut by the node or time limit is
// discarded and re-read at half the size from the same cursor; after a
// page that was kept, the size becomes the one whose predicted cost is
// TargetUtilisation × NodeLimit, predicted from the nodes per object seen so
// far (the larger of the last page's and the running mean, so that one
// cheap page does not make the next one overshoot). An object that is over the limit on its
// own (page size 1) is recorded and skipped when the server's cursor moves
// past it; otherwise the walk stops.
func walk(ctx context.Context, cl graphql.Client, op operation, c *collector, o options) (r walkResult) {
	start := time.Now()
	r.stats = OperationStats{Operation: op.name, Complete: true}
	defer func() {
		r.stats.Duration = time.Since(start)
		if r.stats.Requests > 0 {
			r.stats.Utilisation = float64(r.stats.Nodes) / float64(r.stats.Requests*o.NodeLimit)
		}
	}()
	fail := func(after, object, code, msg string) {
		r.stats.Complete = false
		f := Failure{Operation: op.name, After: after, Object: object, Code: code, Message: msg}
		r.failures = append(r.failures, f)
	}
	size := op.initial
	if o.PageSize > 0 {
		size = o.PageSize
	}
	size = min(max(size, 1), o.MaxPageSize)
	r.stats.PageSizes = []int{size}
	setSize := func(n int) {
		n = min(max(n, 1), o.MaxPageSize)
		if n != size {
			size = n
			r.stats.PageSizes = append(r.stats.PageSizes, n)
		}
	}
	density := 0.0 // nodes per object, smoothed
	after := ""
	seen := map[string]bool{}
	maxTotal := 0
	flags := map[string]bool{}

	for {
		var p *page
		attempts, rateWait := 0, o.RateBackoff
	page:
		for {
			attempts++
			if attempts > maxAttemptsPerPage {
				fail(after, "", "TOO_MANY_ATTEMPTS", fmt.Sprintf("page re-read %d times without success", maxAttemptsPerPage))
				r.err = fmt.Errorf("metadata operation %s: page after %q: gave up after %d attempts", op.name, after, maxAttemptsPerPage)
				return r
			}
			rctx, cancel := ctx, context.CancelFunc(func() {})
			if o.RequestTimeout > 0 {
				rctx, cancel = context.WithTimeout(ctx, o.RequestTimeout)
			}
			r.stats.Requests++
			got, err := op.fetch(rctx, cl, size, after)
			timedOut := rctx.Err() != nil && ctx.Err() == nil
			cancel()
			if ctx.Err() != nil {
				r.stats.Complete = false
				r.err = ctx.Err()
				return r
			}
			v := classify(err, timedOut)
			for _, code := range v.flags {
				if !flags[code] {
					flags[code] = true
					r.notes = append(r.notes, fmt.Sprintf("%s: server warning %s: %s", op.name, code, v.flagMsg[code]))
					if code != "USER_VISIBILITY_IS_LIMITED" {
						r.stats.Complete = false
					}
				}
			}
			switch {
			case v.fatal != nil:
				fail(after, "", v.code, v.fatal.Error())
				r.err = fmt.Errorf("metadata operation %s: page after %q (page size %d): %w", op.name, after, size, v.fatal)
				return r
			case v.rate:
				if attempts > o.RateRetries {
					fail(after, "", "RATE_EXCEEDED", "still throttled after retries")
					r.err = fmt.Errorf("metadata operation %s: page after %q: rate limit still exceeded after %d retries", op.name, after, o.RateRetries)
					return r
				}
				t := time.NewTimer(rateWait)
				select {
				case <-ctx.Done():
					t.Stop()
					r.stats.Complete = false
					r.err = ctx.Err()
					return r
				case <-t.C:
				}
				rateWait *= 2
				continue
			case v.shrink != "":
				if size > 1 {
					r.stats.Shrinks++
					setSize(size / 2)
					continue
				}
				// One object is over the limit on its own.
				obj := ""
				next := ""
				if got != nil {
					obj, next = got.first, got.endCursor
				}
				fail(after, obj, v.shrink, "a single object exceeds the server's limit even at page size 1; its lineage is missing")
				if next == "" || next == after || seen[next] {
					r.err = fmt.Errorf("metadata operation %s: object %s after %q exceeds the server limit on its own and the cursor cannot move past it", op.name, obj, after)
					return r
				}
				seen[next] = true
				after = next
				if got != nil && !got.hasNext {
					return r
				}
				attempts = 0 // a new page
				continue
			}
			p = got
			break page
		}

		c.mu.Lock()
		p.apply(c)
		c.mu.Unlock()
		r.stats.Pages++
		r.stats.Objects += p.objects
		r.stats.Nodes += p.nodes
		r.stats.TotalCount = p.total
		maxTotal = max(maxTotal, p.total)
		if o.Progress != nil {
			o.Progress(Progress{Operation: op.name, Pages: r.stats.Pages, Objects: r.stats.Objects, TotalCount: p.total, PageSize: size})
		}
		if !p.hasNext {
			break
		}
		switch {
		case p.objects == 0:
			fail(after, "", "EMPTY_PAGE", "the server returned an empty page but says more follow")
			r.err = fmt.Errorf("metadata operation %s: empty page after %q with hasNextPage true", op.name, after)
			return r
		case p.endCursor == "" || p.endCursor == after || seen[p.endCursor]:
			fail(after, "", "CURSOR_STUCK", fmt.Sprintf("endCursor %q does not advance", p.endCursor))
			r.err = fmt.Errorf("metadata operation %s: cursor does not advance after %q", op.name, after)
			return r
		case r.stats.Objects > 2*maxTotal+o.MaxPageSize:
			fail(after, "", "RUNAWAY", fmt.Sprintf("%d objects read but totalCount is %d", r.stats.Objects, maxTotal))
			r.err = fmt.Errorf("metadata operation %s: server keeps returning pages beyond totalCount %d", op.name, maxTotal)
			return r
		}
		seen[p.endCursor] = true
		after = p.endCursor

		// Grow or shrink towards the target cost.
		if p.objects > 0 {
			d := float64(p.nodes) / float64(p.objects)
			if density == 0 {
				density = d
			} else {
				density = max(d, (density+d)/2)
			}
			want := int(o.TargetUtilisation * float64(o.NodeLimit) / density)
			if want > size && size < o.MaxPageSize {
				r.stats.Grows++
			}
			setSize(want)
		}
	}
	if r.stats.Objects < r.stats.TotalCount-len(r.failures) {
		r.stats.Complete = false
		r.notes = append(r.notes, fmt.Sprintf("%s: read %d objects but the last page announced totalCount %d", op.name, r.stats.Objects, r.stats.TotalCount))
	}
	return r
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

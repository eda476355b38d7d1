package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Request shape (issue #4). The Metadata API returns at most 1,000 objects
// per connection page (spec/metadata-api.md §4) and lineage objects cost
// 2-70 nodes, so one page per request cannot come near a 20,000-node limit:
// the old walk used a third of it. A request therefore carries several
// pages, each an aliased root connection:
//
//   - pages of one operation in offset mode (`sheets_0: sheetsConnection(
//     first: 1000, offset: 0) sheets_1: sheetsConnection(first: 1000,
//     offset: 1000)`): cursors cannot be used, since the cursor of a page is
//     only known once the previous page is back, and the spec allows offset
//     mode as long as `after` is not in the same field;
//   - pages of different operations (each with its own offset or cursor),
//     so that the tail of one operation and the small operations fill a
//     request instead of each taking one of their own.
//
// Offset pages are read against a set that may change between requests
// (and between aliases: each is evaluated on its own). Every page at
// offset o > 0 comes with a seam check, an id-only alias `first: 2, offset:
// o-1`, and every id is placed at its position: a position that returns two
// ids, an id at two positions, a page shorter than its totalCount implies,
// or a totalCount that moved means the set shifted under the offsets. The
// walk then stops using offsets for that operation and reads on with
// cursor paging from the last page before the first disagreement (its
// endCursor); what was read is kept (collector rows are keyed by id, so the
// overlap adds nothing twice). The guarantee is the cursor walk's: every
// object present for the whole extraction is read, and nothing is dropped
// silently.
//
// Page sizes: a request aims at TargetUtilisation × NodeLimit nodes,
// predicted from each operation's nodes per object (a prior from spec §7
// until its first page is back, then the measured value, kept on the high
// side). A request cut by NODE_LIMIT_EXCEEDED or a time limit is discarded;
// its pages go back to be read again, every operation in it doubles its
// predicted cost, caps its objects per request at half, and travels alone
// until one of its requests succeeds, so that repeated cuts end at one
// object of one operation alone in a request. That object is then over the
// limit on its own: it is recorded as a failure and skipped. A request that
// fails outright (GraphQL error, HTTP error, invalid JSON) while carrying
// several operations is retried one operation per request, so that one
// operation's failure does not fail the others.

// probeName is the operation name of the sizing probe.
const probeName = "TabauditSizes"

// batchName is the operation name of a request carrying several operations.
const batchName = "TabauditLineage"

const (
	// maxAttemptsPerPage bounds cut requests of one operation in a row:
	// ten halvings take 1,000 objects to 1, and the predicted cost doubles
	// each time as well.
	maxAttemptsPerPage = 24
	// maxOverLimit bounds the objects of one operation skipped because each
	// is over the node limit on its own: beyond it the limit is clearly too
	// low for this site and reading on one object per request is futile.
	maxOverLimit = 10
	// seamCost is the node cost of a seam check (two ids).
	seamCost = 2
)

// probe sends one request with a first:0 page of every operation's root
// connection and returns their totalCounts.
func probe(ctx context.Context, cl graphql.Client, ops []operation) ([]int, error) {
	parts := make([]part, len(ops))
	for i, op := range ops {
		f, err := rootField(op)
		if err != nil {
			return nil, err
		}
		parts[i] = part{alias: op.alias(), field: f, first: 0, offset: -1, countOnly: true}
	}
	q, vars := buildQuery(probeName, parts)
	var data map[string]json.RawMessage
	err := cl.MakeRequest(ctx, &graphql.Request{OpName: probeName, Query: q, Variables: vars}, &graphql.Response{Data: &data})
	if err != nil && !isWarningsOnly(err) {
		return nil, err
	}
	totals := make([]int, len(ops))
	for i, p := range parts {
		var c struct {
			TotalCount *int `json:"totalCount"`
		}
		if raw := data[p.alias]; len(raw) > 0 {
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, fmt.Errorf("probe answer for %s is not the expected JSON: %w", ops[i].root, err)
			}
		}
		if c.TotalCount == nil {
			return nil, fmt.Errorf("probe answer has no totalCount for %s", ops[i].root)
		}
		totals[i] = *c.TotalCount
	}
	return totals, nil
}

type opMode int

const (
	modeOffset opMode = iota // pages by position
	modeDrain                // offsets disagreed: waiting for pages in flight
	modeCursor               // one page at a time from endCursor
	modeDone
	modeFailed
)

type span struct{ lo, hi int }

// opState is one operation's walk.
type opState struct {
	op    operation
	field *ast.Field
	st    OperationStats
	mode  opMode
	total int // the probe's totalCount: positions are [0, total)

	spans    []span // positions neither read nor in flight, ascending
	checks   []int  // offsets whose seam still needs a stand-alone check
	inflight int    // pages in flight

	density float64 // predicted nodes per object
	learned bool    // density measured (a page was kept)
	capN    int     // objects per request after a cut; 0 = no cap
	solo    bool    // alone in its requests until one succeeds
	strikes int     // cut requests in a row
	over    int     // objects skipped as over the limit on their own

	ids      []string       // offset mode: id at each position, "" = unread
	seamIDs  map[int]string // ids seen by seam checks
	posOf    map[string]int
	skipped  map[int]bool
	cursorAt map[int]string // endCursor of the page that ends at a position

	anomaly   string // why offsets cannot be trusted; "" = they can
	anomalyAt int    // lowest position the disagreement may affect

	after       string // cursor mode: the cursor to read after
	seenCursors map[string]bool
	maxTotal    int

	seen     map[string]bool // distinct ids read
	lastN    int
	started  time.Time
	ended    time.Time
	flags    map[string]bool
	failures []Failure
	notes    []string
	err      error
}

// slot is one page (alias) of a request.
type slot struct {
	s      *opState
	offset int    // offset mode: first position; -1 in cursor mode
	n      int    // objects asked for
	after  string // cursor mode
	seam   bool   // a seam check alias rides with the page
	check  bool   // a stand-alone seam check (no page)
	alias  string
}

type batch struct {
	slots []*slot
	ops   []*opState
}

func (b *batch) carries(s *opState) bool { return slices.Contains(b.ops, s) }

// objects returns the objects asked of s in the batch.
func (b *batch) objects(s *opState) int {
	n := 0
	for _, sl := range b.slots {
		if sl.s == s && !sl.check {
			n += sl.n
		}
	}
	return n
}

type result struct {
	b        *batch
	data     map[string]json.RawMessage
	v        verdict
	canceled bool
}

type walker struct {
	cl     graphql.Client
	c      *collector
	o      options
	ops    []*opState
	budget float64
	ctxErr error
}

func newWalker(cl graphql.Client, c *collector, ops []operation, totals []int, o options) (*walker, error) {
	w := &walker{cl: cl, c: c, o: o, budget: o.TargetUtilisation * float64(o.NodeLimit)}
	for i, op := range ops {
		f, err := rootField(op)
		if err != nil {
			return nil, err
		}
		s := &opState{op: op, field: f, total: totals[i], maxTotal: totals[i], density: op.prior,
			seen: map[string]bool{}, flags: map[string]bool{}, seenCursors: map[string]bool{},
			seamIDs: map[int]string{}, posOf: map[string]int{}, skipped: map[int]bool{}, cursorAt: map[int]string{}}
		s.st = OperationStats{Operation: op.name, TotalCount: totals[i], Complete: true}
		switch {
		case totals[i] == 0:
			s.mode = modeDone
		case o.MaxAliases == 1:
			s.mode = modeCursor
		default:
			s.ids = make([]string, totals[i])
			s.spans = []span{{0, totals[i]}}
		}
		w.ops = append(w.ops, s)
	}
	return w, nil
}

// run sends requests, up to Concurrency at a time, until every operation
// is done or failed or ctx ends.
func (w *walker) run(ctx context.Context) {
	results := make(chan result)
	inflight := 0
	for {
		for ctx.Err() == nil && inflight < w.o.Concurrency {
			b := w.plan()
			if b == nil {
				break
			}
			inflight++
			go func() { results <- w.send(ctx, b) }()
		}
		if inflight == 0 {
			break
		}
		r := <-results
		inflight--
		w.handle(r)
		w.settle()
	}
	for _, s := range w.ops {
		switch {
		case ctx.Err() != nil && s.mode != modeDone && s.mode != modeFailed:
			s.st.Complete = false
			s.err = ctx.Err()
		case s.mode != modeDone && s.mode != modeFailed:
			// Defensive: the planner found nothing to send for a walk that
			// has not ended. Say so rather than report it complete.
			s.st.Complete = false
			s.err = fmt.Errorf("metadata operation %s: walk stopped with %d of %d objects read", s.op.name, len(s.seen), s.total)
		}
	}
}

// plannable reports whether s can add pages to a request now.
func (s *opState) plannable() bool {
	switch s.mode {
	case modeOffset:
		return len(s.spans) > 0 && (s.learned || s.inflight == 0)
	case modeCursor:
		return s.inflight == 0
	}
	return false
}

// plan builds the next request, or nil when nothing can be sent now.
func (w *walker) plan() *batch {
	b := &batch{}
	rem := w.budget
	pages := 0
	single := false // a one-object page: keep its request to itself
	for _, s := range w.ops {
		if rem <= 0 || pages >= w.o.MaxAliases || single {
			break
		}
		if !s.plannable() || s.solo && len(b.slots) > 0 {
			continue
		}
		if len(b.ops) == 1 && b.ops[0].solo {
			break
		}
		taken := 0
		limit := w.o.MaxPageSize * w.o.MaxAliases
		if s.capN > 0 {
			limit = s.capN
		}
		if !s.learned {
			// One page at the starting size until the cost is measured.
			limit = min(limit, w.startSize(s))
		}
		for rem > 0 && pages < w.o.MaxAliases && taken < limit {
			var lo, avail int
			switch s.mode {
			case modeOffset:
				if len(s.spans) == 0 {
					break
				}
				lo, avail = s.spans[0].lo, s.spans[0].hi-s.spans[0].lo
			case modeCursor:
				lo, avail = -1, w.o.MaxPageSize
			}
			if avail == 0 {
				break
			}
			extra := 0.0
			if lo > 0 {
				extra = seamCost
			}
			n := min(avail, w.o.MaxPageSize, limit-taken, int((rem-extra)/s.density))
			if n < 1 {
				if len(b.slots) > 0 {
					break
				}
				n = 1
			}
			sl := &slot{s: s, offset: lo, n: n, after: s.after, alias: fmt.Sprintf("%s_%d", s.op.alias(), len(b.slots))}
			if s.mode == modeOffset {
				// A one-object page travels without its seam check: if it is
				// cut, the object alone is over the limit, not the pair.
				sl.seam = lo > 0 && n > 1
				if sl.seam {
					rem -= seamCost
				}
				s.spans[0].lo += n
				if s.spans[0].lo == s.spans[0].hi {
					s.spans = s.spans[1:]
				}
			}
			if n == 1 && len(b.slots) == 0 && (s.capN == 1 || int((rem-extra)/s.density) < 1) {
				// Forced down to one object by cuts or its cost: alone in
				// the request, so that a cut proves it over the limit.
				single = true
			}
			b.slots = append(b.slots, sl)
			s.inflight++
			pages++
			taken += n
			rem -= float64(n) * s.density
			if s.mode == modeCursor || single {
				break
			}
		}
		if taken > 0 {
			b.ops = append(b.ops, s)
			if s.solo {
				break
			}
		}
	}
	// Seam checks left over from one-object pages ride along; they cost two
	// nodes each.
	if !single && (len(b.ops) == 0 || !b.ops[0].solo) {
		for _, s := range w.ops {
			for len(s.checks) > 0 && (len(b.slots) == 0 || rem >= seamCost) && len(b.slots) < 2*w.o.MaxAliases {
				o := s.checks[0]
				s.checks = s.checks[1:]
				b.slots = append(b.slots, &slot{s: s, offset: o, check: true, alias: fmt.Sprintf("%s_%d_check", s.op.alias(), len(b.slots))})
				s.inflight++
				rem -= seamCost
				if !b.carries(s) {
					b.ops = append(b.ops, s)
				}
			}
		}
	}
	if len(b.slots) == 0 {
		return nil
	}
	return b
}

// startSize is an operation's first page size: Options.PageSize or the
// spec's per-operation size.
func (w *walker) startSize(s *opState) int {
	if w.o.PageSize > 0 {
		return min(w.o.PageSize, w.o.MaxPageSize)
	}
	return min(s.op.initial, w.o.MaxPageSize)
}

func (b *batch) parts() []part {
	var parts []part
	for _, sl := range b.slots {
		switch {
		case sl.check:
			parts = append(parts, part{alias: sl.alias, field: sl.s.field, first: 2, offset: sl.offset - 1, idOnly: true})
		case sl.offset >= 0:
			parts = append(parts, part{alias: sl.alias, field: sl.s.field, first: sl.n, offset: sl.offset})
			if sl.seam {
				parts = append(parts, part{alias: sl.alias + "_seam", field: sl.s.field, first: 2, offset: sl.offset - 1, idOnly: true})
			}
		default:
			parts = append(parts, part{alias: sl.alias, field: sl.s.field, first: sl.n, offset: -1, after: sl.after})
		}
	}
	return parts
}

// send runs one request, retrying RATE_EXCEEDED with back-off.
func (w *walker) send(ctx context.Context, b *batch) result {
	name := batchName
	if len(b.ops) == 1 {
		name = b.ops[0].op.name
	}
	now := time.Now()
	for _, s := range b.ops {
		if s.started.IsZero() {
			s.started = now
		}
	}
	q, vars := buildQuery(name, b.parts())
	wait := w.o.RateBackoff
	for attempt := 1; ; attempt++ {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if w.o.RequestTimeout > 0 {
			rctx, cancel = context.WithTimeout(ctx, w.o.RequestTimeout)
		}
		var data map[string]json.RawMessage
		err := w.cl.MakeRequest(rctx, &graphql.Request{OpName: name, Query: q, Variables: vars}, &graphql.Response{Data: &data})
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		cancel()
		if ctx.Err() != nil {
			return result{b: b, canceled: true}
		}
		v := classify(err, timedOut)
		if v.rate && v.fatal == nil {
			if attempt > w.o.RateRetries {
				v.code = "RATE_EXCEEDED"
				v.fatal = fmt.Errorf("rate limit still exceeded after %d retries", w.o.RateRetries)
				return result{b: b, v: v}
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return result{b: b, canceled: true}
			case <-t.C:
			}
			wait *= 2
			continue
		}
		return result{b: b, data: data, v: v}
	}
}

// where names a page for messages.
func (sl *slot) where() string {
	if sl.offset >= 0 {
		return fmt.Sprintf("page at offset %d (page size %d)", sl.offset, sl.n)
	}
	return fmt.Sprintf("page after %q (page size %d)", sl.after, sl.n)
}

// abort ends the walk of s with err.
func (s *opState) abort(err error) {
	s.st.Complete = false
	s.err = err
	s.mode = modeFailed
	s.spans, s.checks = nil, nil
}

// fail records a failure; a non-nil err also ends the walk.
func (s *opState) fail(sl *slot, object, code, msg string, err error) {
	s.st.Complete = false
	f := Failure{Operation: s.op.name, Object: object, Code: code, Message: msg}
	if sl != nil && sl.offset < 0 {
		f.After = sl.after
	}
	s.failures = append(s.failures, f)
	if err != nil {
		s.abort(err)
	}
}

// giveBack returns a discarded request's pages to their operations.
func (w *walker) giveBack(b *batch) {
	for _, sl := range b.slots {
		s := sl.s
		if s.mode == modeFailed || s.mode == modeDone {
			continue
		}
		switch {
		case sl.check:
			if s.mode == modeOffset {
				s.checks = append(s.checks, sl.offset)
			}
		case sl.offset >= 0:
			if s.mode == modeOffset {
				s.spans = addSpan(s.spans, span{sl.offset, sl.offset + sl.n})
			}
		}
	}
}

// addSpan inserts x into the sorted, disjoint spans, merging neighbours.
func addSpan(spans []span, x span) []span {
	i, _ := slices.BinarySearchFunc(spans, x.lo, func(a span, lo int) int { return a.lo - lo })
	spans = slices.Insert(spans, i, x)
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && out[n-1].hi >= sp.lo {
			out[n-1].hi = max(out[n-1].hi, sp.hi)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// handle applies one answered request.
func (w *walker) handle(r result) {
	b := r.b
	now := time.Now()
	for _, sl := range b.slots {
		sl.s.inflight--
	}
	for _, s := range b.ops {
		s.st.Requests++
		if len(b.ops) > 1 {
			s.st.Shared++
		}
		s.ended = now
	}
	if r.canceled {
		return
	}
	v := r.v
	for _, s := range b.ops {
		for _, code := range v.flags {
			if !s.flags[code] {
				s.flags[code] = true
				s.notes = append(s.notes, fmt.Sprintf("%s: server warning %s: %s", s.op.name, code, v.flagMsg[code]))
				if code != "USER_VISIBILITY_IS_LIMITED" {
					s.st.Complete = false
				}
			}
		}
	}
	switch {
	case v.fatal != nil && len(b.ops) > 1:
		// Which operation the error belongs to is unknown: ask again one
		// operation per request.
		w.giveBack(b)
		for _, s := range b.ops {
			s.solo = true
		}
	case v.fatal != nil:
		s, sl := b.ops[0], b.slots[0]
		w.giveBack(b)
		s.fail(sl, "", v.code, v.fatal.Error(), fmt.Errorf("metadata operation %s: %s: %w", s.op.name, sl.where(), v.fatal))
	case v.shrink != "":
		w.cut(b, r.data, v.shrink)
	default:
		w.keep(b, r.data)
	}
}

// cut handles a request cut by a node or time limit.
func (w *walker) cut(b *batch, data map[string]json.RawMessage, code string) {
	if len(b.slots) == 1 && b.slots[0].n == 1 && !b.slots[0].check {
		w.overLimit(b.slots[0], data, code)
		return
	}
	for _, s := range b.ops {
		if s.mode == modeFailed || s.mode == modeDone {
			continue
		}
		s.st.Shrinks++
		s.strikes++
		s.density *= 2
		s.capN = max(1, b.objects(s)/2)
		if len(b.ops) > 1 {
			s.solo = true
		}
	}
	w.giveBack(b)
	for _, s := range b.ops {
		if s.strikes > maxAttemptsPerPage && s.mode != modeFailed && s.mode != modeDone {
			s.fail(nil, "", "TOO_MANY_ATTEMPTS", fmt.Sprintf("%d requests in a row cut by the server's limits", s.strikes),
				fmt.Errorf("metadata operation %s: gave up after %d requests in a row cut by the server's limits", s.op.name, s.strikes))
		}
	}
}

// overLimit handles one object over the limit on its own: it is recorded
// and skipped (spec §5 policy; the nested-connection fan-out is not built).
func (w *walker) overLimit(sl *slot, data map[string]json.RawMessage, code string) {
	s := sl.s
	s.st.Shrinks++
	if s.mode == modeFailed || s.mode == modeDone {
		return
	}
	var p *page
	if raw := data[sl.alias]; len(raw) > 0 {
		p, _ = s.op.decode(raw)
	}
	obj := ""
	if p != nil {
		obj = p.first
	}
	s.over++
	s.strikes = 0
	msg := "a single object exceeds the server's limit even at page size 1; its lineage is missing"
	if sl.offset >= 0 {
		s.fail(sl, obj, code, fmt.Sprintf("%s (offset %d)", msg, sl.offset), nil)
		s.skipped[sl.offset] = true
	} else {
		next := ""
		if p != nil {
			next = p.endCursor
		}
		s.fail(sl, obj, code, msg, nil)
		if next == "" || next == s.after || s.seenCursors[next] {
			s.abort(fmt.Errorf("metadata operation %s: object %s after %q exceeds the server limit on its own and the cursor cannot move past it", s.op.name, obj, s.after))
			return
		}
		s.seenCursors[next] = true
		s.after = next
		if p != nil && !p.hasNext {
			s.mode = modeDone
		}
	}
	if s.over > maxOverLimit {
		s.abort(fmt.Errorf("metadata operation %s: %d objects each exceed the node limit on their own; giving up on the rest", s.op.name, s.over))
	}
}

// keep applies a request answered in full.
func (w *walker) keep(b *batch, data map[string]json.RawMessage) {
	type acc struct{ objects, nodes, pages int }
	got := map[*opState]*acc{}
	for _, sl := range b.slots {
		s := sl.s
		if s.mode == modeFailed {
			continue
		}
		a := got[s]
		if a == nil {
			a = &acc{}
			got[s] = a
		}
		if sl.check || sl.seam {
			alias := sl.alias
			if sl.seam {
				alias += "_seam"
			}
			var sp seamPage
			raw := data[alias]
			if err := unmarshalPart(raw, &sp); err != nil {
				s.fail(sl, "", "INVALID_RESPONSE", err.Error(), fmt.Errorf("metadata operation %s: seam check at offset %d: response is not the expected JSON: %w", s.op.name, sl.offset-1, err))
				continue
			}
			s.st.Nodes += len(sp.Nodes)
			if sp.TotalCount != s.total {
				s.disagree(sl.offset-1, fmt.Sprintf("totalCount %d at a seam check, %d at the start", sp.TotalCount, s.total))
			}
			if len(sp.Nodes) != min(2, sp.TotalCount-(sl.offset-1)) {
				s.disagree(sl.offset-1, fmt.Sprintf("seam check at offset %d returned %d ids", sl.offset-1, len(sp.Nodes)))
			}
			for j, n := range sp.Nodes {
				id := ""
				if n != nil {
					id = n.Id
				}
				s.place(sl.offset-1+j, id, false)
			}
			if sl.check {
				continue
			}
		}
		raw := data[sl.alias]
		var p *page
		err := unmarshalPart(raw, nil)
		if err == nil {
			p, err = s.op.decode(raw)
		}
		if err != nil {
			s.fail(sl, "", "INVALID_RESPONSE", err.Error(), fmt.Errorf("metadata operation %s: %s: response is not the expected JSON: %w", s.op.name, sl.where(), err))
			continue
		}
		w.c.mu.Lock()
		p.apply(w.c)
		w.c.mu.Unlock()
		s.st.Pages++
		s.st.Nodes += p.nodes
		s.st.TotalCount = p.total
		s.maxTotal = max(s.maxTotal, p.total)
		for _, id := range p.ids {
			s.seen[id] = true
		}
		a.objects += p.objects
		a.nodes += p.nodes
		a.pages++
		if sl.offset >= 0 {
			w.checkOffsetPage(sl, p)
		} else {
			w.nextCursor(sl, p)
		}
	}
	for _, s := range b.ops {
		a := got[s]
		if a == nil || s.mode == modeFailed {
			continue
		}
		s.strikes, s.solo, s.capN = 0, false, 0
		if a.objects > 0 {
			d := float64(a.nodes) / float64(a.objects)
			if !s.learned {
				s.density, s.learned = d, true
			} else {
				// The larger of the measured and the running mean, so that
				// one cheap request does not make the next one overshoot.
				s.density = max(d, (s.density+d)/2)
			}
		}
		if n := b.objects(s); n > 0 && n != s.lastN {
			if s.lastN > 0 && n > s.lastN {
				s.st.Grows++
			}
			s.lastN = n
			s.st.PageSizes = append(s.st.PageSizes, n)
		}
		if w.o.Progress != nil {
			w.o.Progress(Progress{Operation: s.op.name, Pages: s.st.Pages, Objects: len(s.seen), TotalCount: s.st.TotalCount, PageSize: b.objects(s)})
		}
	}
}

// unmarshalPart decodes one alias's answer; a missing or null alias is an
// invalid answer (the generated types would decode null as an empty page).
func unmarshalPart(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return errors.New("the page is missing from the answer")
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// checkOffsetPage places an offset page's ids and checks it against the
// totalCount it was planned with.
func (w *walker) checkOffsetPage(sl *slot, p *page) {
	s := sl.s
	if p.total != s.total {
		s.disagree(min(sl.offset, s.total), fmt.Sprintf("totalCount %d at offset %d, %d at the start", p.total, sl.offset, s.total))
	}
	want := max(0, min(sl.n, p.total-sl.offset))
	if len(p.ids) != want {
		s.disagree(sl.offset+min(len(p.ids), want), fmt.Sprintf("page at offset %d returned %d objects, %d expected", sl.offset, len(p.ids), want))
	}
	if p.hasNext != (sl.offset+len(p.ids) < p.total) {
		s.disagree(sl.offset+len(p.ids), fmt.Sprintf("page at offset %d says hasNextPage %v with %d of totalCount %d read", sl.offset, p.hasNext, sl.offset+len(p.ids), p.total))
	}
	for j, id := range p.ids {
		s.place(sl.offset+j, id, true)
	}
	if len(p.ids) > 0 && p.endCursor != "" {
		s.cursorAt[sl.offset+len(p.ids)-1] = p.endCursor
	}
	if sl.offset > 0 && !sl.seam && s.mode == modeOffset {
		s.checks = append(s.checks, sl.offset)
	}
}

// place records id at a position and notes any disagreement.
func (s *opState) place(pos int, id string, data bool) {
	if pos < 0 || pos >= len(s.ids) {
		if s.mode == modeOffset || s.mode == modeDrain {
			s.disagree(min(max(pos, 0), s.total), fmt.Sprintf("an object at position %d, beyond totalCount %d", pos, s.total))
		}
		return
	}
	if id == "" {
		s.disagree(pos, fmt.Sprintf("a null object at position %d", pos))
		return
	}
	prev := s.ids[pos]
	if prev == "" {
		prev = s.seamIDs[pos]
	}
	if prev != "" && prev != id {
		s.disagree(pos, fmt.Sprintf("position %d held %s and later %s", pos, prev, id))
	}
	if !data {
		if _, ok := s.seamIDs[pos]; !ok {
			s.seamIDs[pos] = id
		}
		return
	}
	if q, ok := s.posOf[id]; ok && q != pos {
		s.disagree(min(q, pos), fmt.Sprintf("%s at positions %d and %d", id, q, pos))
	}
	s.posOf[id] = pos
	if s.ids[pos] == "" {
		s.ids[pos] = id
	}
}

// disagree records that the offset pages cannot be trusted from position
// at on; the operation stops planning offset pages.
func (s *opState) disagree(at int, why string) {
	if s.mode != modeOffset && s.mode != modeDrain {
		return
	}
	if s.anomaly == "" || at < s.anomalyAt {
		if s.anomaly == "" {
			s.anomaly = why
		}
		s.anomalyAt = at
	}
	if s.mode == modeOffset {
		s.mode = modeDrain
		s.spans, s.checks = nil, nil
	}
}

// nextCursor checks a cursor-mode page and moves the cursor.
func (w *walker) nextCursor(sl *slot, p *page) {
	s := sl.s
	if !p.hasNext {
		s.mode = modeDone
		return
	}
	switch {
	case p.objects == 0:
		s.fail(sl, "", "EMPTY_PAGE", "the server returned an empty page but says more follow",
			fmt.Errorf("metadata operation %s: empty page after %q with hasNextPage true", s.op.name, sl.after))
		return
	case p.endCursor == "" || p.endCursor == sl.after || s.seenCursors[p.endCursor]:
		s.fail(sl, "", "CURSOR_STUCK", fmt.Sprintf("endCursor %q does not advance", p.endCursor),
			fmt.Errorf("metadata operation %s: cursor does not advance after %q", s.op.name, sl.after))
		return
	case len(s.seen) > 2*s.maxTotal+w.o.MaxPageSize:
		s.fail(sl, "", "RUNAWAY", fmt.Sprintf("%d objects read but totalCount is %d", len(s.seen), s.maxTotal),
			fmt.Errorf("metadata operation %s: server keeps returning pages beyond totalCount %d", s.op.name, s.maxTotal))
		return
	}
	s.seenCursors[p.endCursor] = true
	s.after = p.endCursor
}

// settle ends offset walks whose pages are all back: verified, or read on
// with cursors from before the first disagreement.
func (w *walker) settle() {
	for _, s := range w.ops {
		if s.inflight > 0 {
			continue
		}
		switch s.mode {
		case modeOffset:
			if len(s.spans) > 0 || len(s.checks) > 0 {
				continue
			}
			for pos, id := range s.ids {
				if id == "" && !s.skipped[pos] {
					s.disagree(pos, fmt.Sprintf("position %d was never read", pos))
					break
				}
			}
			if s.mode == modeOffset {
				s.mode = modeDone
				continue
			}
			fallthrough
		case modeDrain:
			w.toCursor(s)
		}
	}
}

// toCursor switches a drained offset walk to cursor paging from the last
// page that ends before the first disagreement.
func (w *walker) toCursor(s *opState) {
	g := s.anomalyAt
	for pos, id := range s.ids {
		if pos >= g {
			break
		}
		if id == "" && !s.skipped[pos] {
			g = pos
			break
		}
	}
	from, after := 0, ""
	for pos, c := range s.cursorAt {
		if pos < g && pos+1 > from {
			from, after = pos+1, c
		}
	}
	s.mode, s.after = modeCursor, after
	s.capN, s.solo = 0, false
	s.st.CursorFallback = true
	s.notes = append(s.notes, fmt.Sprintf("%s: offset pages disagreed (%s): the set changed while it was read; read on from position %d with cursor paging", s.op.name, s.anomaly, from))
}

// walkResult is one operation's outcome.
type walkResult struct {
	stats    OperationStats
	failures []Failure
	notes    []string
	err      error
}

func (s *opState) result(nodeLimit int) walkResult {
	st := s.st
	if st.Requests > 0 {
		st.Utilisation = float64(st.Nodes) / float64(st.Requests*nodeLimit)
	}
	st.Objects = len(s.seen)
	if !s.started.IsZero() {
		st.Duration = s.ended.Sub(s.started)
	}
	if s.err != nil || s.mode != modeDone {
		st.Complete = false
	}
	r := walkResult{stats: st, failures: s.failures, notes: s.notes, err: s.err}
	if st.Objects < st.TotalCount-len(s.failures) && s.mode == modeDone {
		r.stats.Complete = false
		r.notes = append(r.notes, fmt.Sprintf("%s: read %d objects but the last page announced totalCount %d", s.op.name, st.Objects, st.TotalCount))
	}
	return r
}

package metadata

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
)

// pageAliases matches the page aliases of a request's query ("sheets_3:"),
// seam checks aside.
var pageAliases = regexp.MustCompile(`\b[a-zA-Z]+_\d+:`)

func queryOf(body []byte) string {
	var req struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(body, &req)
	return req.Query
}

// TestBatchEqualsSinglePage: on the generated S site, requests of many
// offset pages (with seam checks) and of several operations give exactly
// the rows, completeness and notes of one cursor page per request.
func TestBatchEqualsSinglePage(t *testing.T) {
	s, err := site.Generate("S", 1)
	if err != nil {
		t.Fatal(err)
	}
	name := func(v string) string { return v }
	sm := newSim(t, s, metadatasim.Config{}, 0, nil)
	base, baseSt, err := runSite(t, sm.URL, s.ContentURL, Options{MaxAliases: 1})
	if err != nil || len(baseSt.Failures) > 0 {
		t.Fatalf("one page per request: %v %v", err, baseSt.Failures)
	}
	baseOut := render(base, name)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		// 20 objects a page: dozens of offset pages per request.
		{"small pages", Options{MaxPageSize: 20}},
		{"small pages, node limit 2,000", Options{MaxPageSize: 20, NodeLimit: 2000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			maxPages := 0
			watch := func(_ int, _ string, body []byte, _ http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				mu.Lock()
				maxPages = max(maxPages, len(pageAliases.FindAllString(queryOf(body), -1)))
				mu.Unlock()
				return false
			}
			got, st, err := runSite(t, newSim(t, s, metadatasim.Config{}, 0, watch).URL, s.ContentURL, tc.opts)
			if err != nil || len(st.Failures) > 0 {
				t.Fatalf("Extract: %v %v", err, st.Failures)
			}
			if d := lineDiff(baseOut, render(got, name)); d != "" {
				t.Errorf("rows differ from one page per request:\n%.3000s", d)
			}
			if st.Complete != baseSt.Complete || !slices.Equal(st.Notes, baseSt.Notes) {
				t.Errorf("complete %v notes %q; one page per request: %v %q", st.Complete, st.Notes, baseSt.Complete, baseSt.Notes)
			}
			shared := 0
			for _, op := range st.Operations {
				shared += op.Shared
				if op.Objects != op.TotalCount || op.CursorFallback {
					t.Errorf("%s: %d objects of %d, cursor fallback %v", op.Operation, op.Objects, op.TotalCount, op.CursorFallback)
				}
			}
			if maxPages < 3 || shared == 0 {
				t.Errorf("at most %d pages in a request, %d shared requests: batching not exercised", maxPages, shared)
			}
			if st.Requests >= baseSt.Requests {
				t.Errorf("%d requests; one page per request took %d", st.Requests, baseSt.Requests)
			}
			t.Logf("%d requests (one page per request: %d), up to %d pages a request, utilisation %.0f%%", st.Requests, baseSt.Requests, maxPages, 100*st.Utilisation)
		})
	}
}

// TestCutBatchFallsBack: requests of several pages cut by the node limit
// are discarded and read again smaller; the rows equal an uncut run.
func TestCutBatchFallsBack(t *testing.T) {
	s := synthSite(smallParams, 1)
	name := func(v string) string { return v }
	base, _, err := run(t, newSim(t, s, metadatasim.Config{}, 0, nil).URL, Options{MaxPageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	cut := 0
	// The first five requests of more than one page come back cut: data
	// as far as the limit, then nulls, and the warning.
	f := func(_ int, _ string, body []byte, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
		mu.Lock()
		defer mu.Unlock()
		if cut >= 5 || len(pageAliases.FindAllString(queryOf(body), -1)) < 2 {
			return false
		}
		cut++
		rec := next()
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			panic(err)
		}
		for _, conn := range resp["data"].(map[string]any) {
			if nodes, ok := conn.(map[string]any)["nodes"].([]any); ok && len(nodes) > 1 {
				nodes[len(nodes)-1] = nil
			}
		}
		resp["errors"] = []any{map[string]any{"message": "Showing partial results. The request exceeded the 20000 node limit.",
			"extensions": map[string]any{"severity": "WARNING", "code": "NODE_LIMIT_EXCEEDED"}}}
		b, _ := json.Marshal(resp)
		writeRaw(w, 200, string(b))
		return true
	}
	got, st, err := run(t, newSim(t, s, metadatasim.Config{}, 0, f).URL, Options{MaxPageSize: 10})
	if err != nil || len(st.Failures) > 0 || !st.Complete {
		t.Fatalf("Extract: %v, failures %v, complete %v, notes %v", err, st.Failures, st.Complete, st.Notes)
	}
	if cut != 5 {
		t.Fatalf("%d requests cut; want 5", cut)
	}
	if d := lineDiff(render(base, name), render(got, name)); d != "" {
		t.Errorf("rows after cut requests differ from an uncut run:\n%.3000s", d)
	}
	shrinks := 0
	for _, op := range st.Operations {
		shrinks += op.Shrinks
	}
	if shrinks < 5 {
		t.Errorf("%d shrinks recorded; want ≥ 5 (each cut request counts for every operation it carried)", shrinks)
	}
}

// TestSetMovesWhileRead: a sheet is deleted (or published) while the
// sheets are read by offset. The walk notices (a totalCount that moved, a
// seam that shifted), reads on with cursor paging, and loses nothing that
// existed throughout; no row is invented or doubled.
func TestSetMovesWhileRead(t *testing.T) {
	// without removes sheets that are in no dashboard, with their views.
	without := func(sheets ...string) *site.Site {
		s := synthSite(smallParams, 1)
		n := len(s.Lineage.Sheets)
		s.Lineage.Sheets = slices.DeleteFunc(s.Lineage.Sheets, func(x site.LSheet) bool { return slices.Contains(sheets, x.ID) })
		s.Items = slices.DeleteFunc(s.Items, func(x site.Item) bool { return slices.Contains(sheets, "sh"+strings.TrimPrefix(x.ID, "v")) })
		if len(s.Lineage.Sheets) != n-len(sheets) {
			t.Fatalf("fixture: %v not all found", sheets)
		}
		return s
	}
	// By position in the id order sheetsConnection pages by: early goes
	// within the first request, late well after it, so that between them
	// the positions shift when one goes and the other comes.
	var free []string // sheets in no dashboard, in id order
	for _, x := range synthSite(smallParams, 1).Lineage.Sheets {
		if regexp.MustCompile(`^sh\d+-[2-9]$`).MatchString(x.ID) {
			free = append(free, x.ID)
		}
	}
	slices.SortFunc(free, func(a, b string) int {
		return strings.Compare(metadatasim.GraphID("sheet", a), metadatasim.GraphID("sheet", b))
	})
	early, late := free[1], free[len(free)-5]
	full, less, other, neither := without(), without(early), without(late), without(early, late)
	name := func(v string) string { return v }
	// key identifies a row: a node by id, luid and kind (a deleted object's
	// attributes may come from before and after its deletion), an edge by
	// the whole line.
	key := func(l string) string {
		if f := strings.Split(l, "\t"); len(f) > 3 {
			return strings.Join(f[:3], "\t")
		}
		return l
	}
	lines := func(s *site.Site) map[string]bool {
		r, _, err := run(t, newSim(t, s, metadatasim.Config{}, 0, nil).URL, Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, l := range strings.Split(render(r, name), "\n") {
			m[l] = true
		}
		return m
	}
	fullLines, lessLines, neitherLines := lines(full), lines(less), lines(neither)
	known := map[string]bool{}
	for _, m := range []map[string]bool{fullLines, lessLines} {
		for l := range m {
			known[key(l)] = true
		}
	}
	for _, tc := range []struct {
		name         string
		before, then *site.Site
		throughout   map[string]bool // rows of objects present for the whole run
	}{
		{"deleted", full, less, lessLines},
		{"published", less, full, lessLines},
		// totalCount stays the same: only the seam checks can tell.
		{"one deleted, another published", other, less, neitherLines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := metadatasim.New(tc.then, metadatasim.Config{})
			var mu sync.Mutex
			sheetReqs := 0
			// Requests after the first one carrying sheets see the new site.
			f := func(_ int, _ string, body []byte, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
				mu.Lock()
				switched := sheetReqs > 0
				if carries(body, "TabauditSheetLineage") {
					sheetReqs++
				}
				mu.Unlock()
				if !switched {
					return false
				}
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/api/metadata/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				after.ServeHTTP(rec, req)
				writeRaw(w, rec.Code, rec.Body.String())
				return true
			}
			opts := Options{MaxPageSize: 10, NodeLimit: 400, Concurrency: 1}
			r, st, err := run(t, newSim(t, tc.before, metadatasim.Config{}, 0, f).URL, opts)
			if err != nil || len(st.Failures) > 0 {
				t.Fatalf("Extract: %v %v", err, st.Failures)
			}
			var sheets OperationStats
			for _, op := range st.Operations {
				if op.Operation == "TabauditSheetLineage" {
					sheets = op
				}
			}
			if !sheets.CursorFallback || !strings.Contains(strings.Join(st.Notes, "\n"), "TabauditSheetLineage: offset pages disagreed") {
				t.Errorf("sheets: cursor fallback %v, notes %q; want the move noticed", sheets.CursorFallback, st.Notes)
			}
			if sheetReqs < 3 {
				t.Errorf("%d requests carried sheets; the move must happen mid-walk", sheetReqs)
			}
			out := strings.Split(render(r, name), "\n")
			seen := map[string]bool{}
			for _, l := range out {
				if seen[l] && l != "" {
					t.Errorf("row twice: %s", l)
				}
				seen[l] = true
				if !known[key(l)] {
					t.Errorf("row in neither version of the site: %s", l)
				}
			}
			for l := range tc.throughout {
				if !seen[l] {
					t.Errorf("row of an object present throughout is missing: %s", l)
				}
			}
			t.Logf("%d requests (%d with sheets); notes %q", st.Requests, sheetReqs, st.Notes)
		})
	}
}

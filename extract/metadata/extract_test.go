package metadata

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
)

func run(t *testing.T, endpointBase string, opts Options) (*rows, Stats, error) {
	t.Helper()
	return runSite(t, endpointBase, "", opts)
}

// runSite signs in to the site with the content URL (the minimal sign-in
// of newSim ignores it) and extracts, failing the test if Extract is still
// running after 30 s: every loop must end.
func runSite(t *testing.T, endpointBase, contentURL string, opts Options) (*rows, Stats, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &rows{}
	st, err := Extract(ctx, endpointBase+"/api/metadata/graphql", newDoer(endpointBase, contentURL), r.emit, opts)
	if ctx.Err() != nil {
		t.Fatalf("Extract did not end within 30 s: %v", ctx.Err())
	}
	return r, st, err
}

func TestRoundTrip(t *testing.T) {
	s := loadSite(t, "roundtrip.yaml")
	sm := newSim(t, s, metadatasim.Config{}, 0, nil)
	r, st, err := run(t, sm.URL, Options{})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	golden(t, "roundtrip.tsv", render(r, namer(s)))
	if !st.Complete || len(st.Failures) > 0 {
		t.Errorf("Complete = %v, Failures = %v, Notes = %v; want complete", st.Complete, st.Failures, st.Notes)
	}
	t.Logf("stats: %+v", st)
}

var smallParams = synthParams{Workbooks: 40, Datasources: 20, Flows: 20, Tables: 60, Databases: 4, CustomSQL: 12, VirtualConnections: 2}

// TestNodeLimit: under a node limit that cuts every operation's pages, the
// rows equal those of an unlimited run, at the cost of extra requests, and
// the lineage is still complete: with the limit known (requests planned
// under it) and unknown (the extractor assumes Tableau's default 20,000, so
// its multi-page, multi-operation requests are cut and re-read smaller).
func TestNodeLimit(t *testing.T) {
	s := synthSite(smallParams, 1)
	name := func(v string) string { return v }
	base, baseSt, err := run(t, newSim(t, s, metadatasim.Config{}, 0, nil).URL, Options{})
	if err != nil {
		t.Fatalf("unlimited run: %v", err)
	}
	// Columns add nodes to two operations: the comparison must cover them.
	baseOut := render(base, name)
	for _, want := range []string{"\tcolumn\t", "\ttable>column\n", "\tcolumn>sheet\n"} {
		if strings.Count(baseOut, want) < 10 {
			t.Fatalf("fixture has fewer than 10 %q rows; column lineage is not exercised", want)
		}
	}
	const limit = 60
	for _, tc := range []struct {
		name        string
		opts        Options
		wantShrinks bool // every operation has a request cut
	}{
		{"known", Options{NodeLimit: limit}, false},
		{"unknown", Options{}, true},
		{"unknown, one page per request", Options{MaxAliases: 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, st, err := run(t, newSim(t, s, metadatasim.Config{NodeLimit: limit}, 0, nil).URL, tc.opts)
			if err != nil {
				t.Fatalf("limited run: %v", err)
			}
			if d := lineDiff(baseOut, render(got, name)); d != "" {
				t.Errorf("rows under a node limit of %d differ from the unlimited run:\n%s", limit, d)
			}
			if !st.Complete || len(st.Failures) > 0 {
				t.Errorf("Complete = %v, Failures = %v, Notes = %v; want complete", st.Complete, st.Failures, st.Notes)
			}
			for _, op := range st.Operations {
				if tc.wantShrinks && op.Shrinks == 0 {
					t.Errorf("%s: no request was cut; lower the limit or grow the fixture", op.Operation)
				}
				if op.Nodes > op.Requests*limit {
					t.Errorf("%s: %d nodes in %d requests exceeds the limit %d", op.Operation, op.Nodes, op.Requests, limit)
				}
				if op.Objects != op.TotalCount || op.CursorFallback {
					t.Errorf("%s: %d objects of %d, cursor fallback %v", op.Operation, op.Objects, op.TotalCount, op.CursorFallback)
				}
			}
			if st.Requests <= baseSt.Requests {
				t.Errorf("limited run used %d requests, unlimited %d; want more", st.Requests, baseSt.Requests)
			}
			if st.ResponseNodes > st.Requests*limit {
				t.Errorf("%d response nodes in %d requests: over the limit", st.ResponseNodes, st.Requests)
			}
			t.Logf("node limit %d: %d requests (unlimited: %d, extra %d), %d nodes, %d edges, utilisation %.0f%%",
				limit, st.Requests, baseSt.Requests, st.Requests-baseSt.Requests, st.Nodes, st.Edges, 100*st.Utilisation)
			for _, op := range st.Operations {
				t.Logf("  %-36s total %4d pages %3d requests %3d shrinks %2d sizes %v", op.Operation, op.TotalCount, op.Pages, op.Requests, op.Shrinks, op.PageSizes)
			}
		})
	}
}

// TestObjectOverLimit: a workbook that costs more nodes than the limit at
// page size 1 is named in the stats, lineage is incomplete, and the walk
// continues past it.
func TestObjectOverLimit(t *testing.T) {
	s := loadSite(t, "roundtrip.yaml")
	// wb-sales costs 10 nodes in TabauditWorkbookViews; everything else ≤ 9.
	r, st, err := run(t, newSim(t, s, metadatasim.Config{NodeLimit: 9}, 0, nil).URL, Options{NodeLimit: 9})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if st.Complete {
		t.Error("Complete = true; want false")
	}
	want := metadatasim.GraphID("workbook", "wb-sales") + " (Sales)"
	if len(st.Failures) != 1 || st.Failures[0].Object != want || st.Failures[0].Operation != "TabauditWorkbookViews" || st.Failures[0].Code != "NODE_LIMIT_EXCEEDED" {
		t.Fatalf("Failures = %+v; want one NODE_LIMIT_EXCEEDED failure naming %s", st.Failures, want)
	}
	// The other workbook was still read.
	out := render(r, namer(s))
	if !strings.Contains(out, "workbook:wb-direct\tsheet:sh-customers\tworkbook>sheet") {
		t.Errorf("wb-direct's edges missing after skipping wb-sales:\n%s", out)
	}
	if strings.Contains(out, "workbook:wb-sales\tsheet:sh-orders") {
		t.Errorf("edges of the unreadable workbook were emitted from a truncated page")
	}
}

// TestNodeLimitGeneratedSite: on the synthetic S site (site.Generate, with
// columns, hidden tables, custom SQL, virtual connections and flows), a
// node limit that cuts the default pages gives the same rows as an
// unlimited run.
func TestNodeLimitGeneratedSite(t *testing.T) {
	s, err := site.Generate("S", 1)
	if err != nil {
		t.Fatal(err)
	}
	name := func(v string) string { return v }
	base, baseSt, err := runSite(t, newSim(t, s, metadatasim.Config{}, 0, nil).URL, s.ContentURL, Options{})
	if err != nil || len(baseSt.Failures) > 0 {
		t.Fatalf("unlimited run: %v %v", err, baseSt.Failures)
	}
	baseOut := render(base, name)
	if strings.Count(baseOut, "\tcolumn>sheet\n") < 100 {
		t.Fatalf("generated S site has fewer than 100 column>sheet edges")
	}
	const limit = 400
	got, st, err := runSite(t, newSim(t, s, metadatasim.Config{NodeLimit: limit}, 0, nil).URL, s.ContentURL, Options{NodeLimit: limit})
	if err != nil || len(st.Failures) > 0 {
		t.Fatalf("limited run: %v %v", err, st.Failures)
	}
	if d := lineDiff(baseOut, render(got, name)); d != "" {
		t.Errorf("rows under a node limit of %d differ from the unlimited run:\n%.3000s", limit, d)
	}
	if st.Complete != baseSt.Complete || !slices.Equal(st.Notes, baseSt.Notes) {
		t.Errorf("limited run: complete %v notes %q; unlimited: %v %q", st.Complete, st.Notes, baseSt.Complete, baseSt.Notes)
	}
	shrinks := 0
	for _, op := range st.Operations {
		shrinks += op.Shrinks
		if op.Nodes > op.Pages*limit {
			t.Errorf("%s: %d nodes in %d kept pages exceeds the limit %d", op.Operation, op.Nodes, op.Pages, limit)
		}
	}
	if shrinks == 0 {
		t.Errorf("no page was cut at node limit %d; lower it", limit)
	}
	t.Logf("S site, node limit %d: %d requests (unlimited %d), %d nodes, %d edges, utilisation %.0f%%",
		limit, st.Requests, baseSt.Requests, st.Nodes, st.Edges, 100*st.Utilisation)
}

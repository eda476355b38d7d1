package metadata

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
)

// BenchmarkLineageM walks the lineage of the synthetic M site
// (site.Generate("M", 42): 2,500 workbooks, 15,000 views, 800 published
// datasources, 100 flows, 900 tables with their columns) through the
// simulator at 20 ms per request, at Tableau's default node limit and at
// 5,000.
// Run: go test -run '^$' -bench LineageM -benchtime 1x ./extract/metadata/
//
// Requests carry several pages (offset aliases of one operation, pages of
// several operations; walk.go). Measured (issue #4, 2 shared cores): at
// 20,000, 16 requests, 13,178 nodes/request, 65.9% of the limit, 1.8 s
// (one page per request: 32 requests, 32.9%); at 5,000, 61 requests, 69.2%
// (was 65, 64.9%). Per operation, Requests counts every request that
// carried one of its pages, so shared requests count once per operation.
//
// The generated site hides a few tables from the extracting user
// (obfuscated names), so the walk reads everything but reports lineage
// incomplete; the benchmark fails on errors and unread pages only.
func BenchmarkLineageM(b *testing.B) {
	s, err := site.Generate("M", 42)
	if err != nil {
		b.Fatal(err)
	}
	// 20,000 is Tableau's default; 5,000 shows the page sizes converging
	// when the limit, not the 1,000 page-size cap, binds.
	for _, limit := range []int{20000, 5000} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			sm := newSim(b, s, metadatasim.Config{NodeLimit: limit}, 20*time.Millisecond, nil)
			b.ResetTimer()
			for range b.N {
				benchLineage(b, sm, s.ContentURL, limit)
			}
		})
	}
}

func benchLineage(b *testing.B, sm *sim, contentURL string, limit int) {
	r := &rows{}
	start := time.Now()
	st, err := Extract(context.Background(), sm.URL+"/api/metadata/graphql", newDoer(sm.URL, contentURL), r.emit, Options{NodeLimit: limit})
	if err != nil || len(st.Failures) > 0 {
		b.Fatalf("Extract: %v, failures %v, notes %v", err, st.Failures, st.Notes)
	}
	for _, op := range st.Operations {
		if !op.Complete || op.Objects != op.TotalCount {
			b.Fatalf("%s: read %d of %d objects (complete %v)", op.Operation, op.Objects, op.TotalCount, op.Complete)
		}
	}
	wall := time.Since(start)
	b.ReportMetric(float64(st.Requests), "requests")
	b.ReportMetric(float64(st.ResponseNodes)/float64(st.Requests), "nodes/request")
	b.ReportMetric(100*st.Utilisation, "%limit")
	b.ReportMetric(wall.Seconds(), "wall-s")
	kinds := map[string]int{}
	for _, row := range r.tables["lineage_nodes"] {
		kinds[row[2].(string)]++
	}
	rels := map[string]int{}
	for _, row := range r.tables["lineage_edges"] {
		rels[row[2].(string)]++
	}
	b.Logf("M site, node limit %d: %d requests, %v wall, %d lineage nodes (%d columns), %d edges (%d table>column, %d column>sheet), %d response nodes, utilisation %.1f%%, complete %v",
		limit, st.Requests, wall.Round(time.Millisecond), st.Nodes, kinds["column"], st.Edges, rels["table>column"], rels["column>sheet"], st.ResponseNodes, 100*st.Utilisation, st.Complete)
	for _, op := range st.Operations {
		b.Logf("  %-36s total %6d pages %4d requests %4d shrinks %2d util %5.1f%% sizes %v", op.Operation, op.TotalCount, op.Pages, op.Requests, op.Shrinks, 100*op.Utilisation, op.PageSizes)
	}
	for _, n := range st.Notes {
		b.Logf("  note: %.160s", n)
	}
}

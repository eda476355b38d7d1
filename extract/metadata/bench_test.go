package metadata

import (
	"context"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
)

// BenchmarkLineageM walks the lineage of the synthetic M site
// (site.Generate("M", 42): 2,500 workbooks, 15,000 views, 800 published
// datasources, 100 flows, 900 tables with their columns) through the
// simulator at 20 ms per request and Tableau's default node limit.
// Run: go test -run '^$' -bench LineageM -benchtime 1x ./extract/metadata/
//
// The generated site hides a few tables from the extracting user
// (obfuscated names), so the walk reads everything but reports lineage
// incomplete; the benchmark fails on errors and unread pages only.
func BenchmarkLineageM(b *testing.B) {
	s, err := site.Generate("M", 42)
	if err != nil {
		b.Fatal(err)
	}
	sm := newSim(b, s, metadatasim.Config{NodeLimit: 20000}, 20*time.Millisecond, nil)
	b.ResetTimer()
	for range b.N {
		r := &rows{}
		start := time.Now()
		st, err := Extract(context.Background(), sm.URL+"/api/metadata/graphql", newDoer(sm.URL, s.ContentURL), r.emit, Options{})
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
		b.Logf("M site: %d requests, %v wall, %d lineage nodes (%d columns), %d edges (%d table>column, %d column>sheet), %d response nodes, utilisation %.1f%% of 20,000, complete %v",
			st.Requests, wall.Round(time.Millisecond), st.Nodes, kinds["column"], st.Edges, rels["table>column"], rels["column>sheet"], st.ResponseNodes, 100*st.Utilisation, st.Complete)
		for _, op := range st.Operations {
			b.Logf("  %-36s total %6d pages %4d requests %4d shrinks %2d util %5.1f%% sizes %v", op.Operation, op.TotalCount, op.Pages, op.Requests, op.Shrinks, 100*op.Utilisation, op.PageSizes)
		}
		for _, n := range st.Notes {
			b.Logf("  note: %.200s", n)
		}
	}
}

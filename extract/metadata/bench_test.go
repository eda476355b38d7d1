package metadata

import (
	"context"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
)

// BenchmarkLineageM walks the lineage of a synthetic M site (2,500
// workbooks, ~15,000 views, 800 published datasources, 100 flows) through
// the simulator at 20 ms per request and Tableau's default node limit.
// Run: go test -run '^$' -bench LineageM -benchtime 1x ./extract/metadata/
func BenchmarkLineageM(b *testing.B) {
	s := synthSite(mParams, 42)
	sm := newSim(b, s, metadatasim.Config{NodeLimit: 20000}, 20*time.Millisecond, nil)
	b.ResetTimer()
	for range b.N {
		r := &rows{}
		start := time.Now()
		st, err := Extract(context.Background(), sm.URL+"/api/metadata/graphql", newDoer(sm.URL, ""), r.emit, Options{})
		if err != nil || !st.Complete {
			b.Fatalf("Extract: %v, complete %v, failures %v, notes %v", err, st.Complete, st.Failures, st.Notes)
		}
		wall := time.Since(start)
		b.ReportMetric(float64(st.Requests), "requests")
		b.ReportMetric(float64(st.ResponseNodes)/float64(st.Requests), "nodes/request")
		b.ReportMetric(100*st.Utilisation, "%limit")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.Logf("M site: %d requests, %v wall, %d lineage nodes, %d edges, %d response nodes, utilisation %.1f%% of 20,000",
			st.Requests, wall.Round(time.Millisecond), st.Nodes, st.Edges, st.ResponseNodes, 100*st.Utilisation)
		for _, op := range st.Operations {
			b.Logf("  %-36s total %6d pages %4d requests %4d shrinks %2d util %5.1f%% sizes %v", op.Operation, op.TotalCount, op.Pages, op.Requests, op.Shrinks, 100*op.Utilisation, op.PageSizes)
		}
	}
}

package metadata

import (
	"context"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
)

func run(t *testing.T, endpointBase string, opts Options) (*rows, Stats, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &rows{}
	st, err := Extract(ctx, endpointBase+"/api/metadata/graphql", newDoer(endpointBase), r.emit, opts)
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

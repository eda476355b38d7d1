package metadata

import (
	"testing"

	"github.com/tabaudit/tabaudit/extract/tableautest"
)

// TestRoundTripThroughRESTSimulator: the same golden when the Metadata API
// is reached through tableautest.NewServer (REST sign-in with the default
// PAT, X-Tableau-Auth checked by the REST simulator).
func TestRoundTripThroughRESTSimulator(t *testing.T) {
	s := loadSite(t, "roundtrip.yaml")
	srv := tableautest.NewServer(t, s)
	r, st, err := runSite(t, srv.URL, s.ContentURL, Options{})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if !st.Complete {
		t.Errorf("Complete = false: %v %v", st.Failures, st.Notes)
	}
	golden(t, "roundtrip.tsv", render(r, namer(s)))
}

package model_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract"
	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/extract/tableautest"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/eval"
)

// extractSite serves s with the simulator, extracts it over HTTP and loads
// the snapshot into a fresh model.
func extractSite(t *testing.T, s *site.Site) *model.DB {
	t.Helper()
	srv := tableautest.NewServer(t, s)
	res, err := extract.Extract(context.Background(), extract.Config{
		ServerURL:   srv.URL,
		Credentials: tableau.Credentials{PATName: tableautest.DefaultPATName, PATSecret: tableautest.DefaultPATSecret, ContentURL: srv.ContentURL},
		OutRoot:     t.TempDir(),
		// Lineage on: REST gives no table -> database link; the
		// Metadata API does (PS-36).
		NoLineage:   false,
		ToolVersion: "test",
		RetryPolicy: &tableau.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxWait: time.Second, MaxReSignIns: 1},
	})
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	if len(res.Snapshots) != 1 {
		t.Fatalf("%d snapshots, want 1", len(res.Snapshots))
	}
	db, err := model.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.LoadSnapshot(t.Context(), res.Snapshots[0].Dir, model.LoadOptions{}); err != nil {
		t.Fatalf("LoadSnapshot: %v", err)
	}
	return db
}

// knownE2E lists vectors that fail end to end for a reason outside the
// model, with the reason. A listed vector that passes fails the test so the
// entry gets removed.
var knownE2E = map[string]string{}

// TestVectorsEndToEnd runs every spec vector the way production data flows:
// site -> REST simulator -> extractor -> Parquet snapshot -> LoadSnapshot ->
// effective_permissions, and asks model/eval the same questions on the same
// loaded tables.
func TestVectorsEndToEnd(t *testing.T) {
	vs, err := model.LoadVectors(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Run(v.ID, func(t *testing.T) {
			if why, ok := knownE2E[v.ID]; ok {
				db := extractSite(t, v.Site)
				outs, err := model.CheckVector(t.Context(), db.SQL(), v)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range outs {
					if !o.OK() {
						t.Skipf("known end-to-end failure: %s", why)
					}
				}
				t.Fatalf("%s now passes end to end: remove it from knownE2E", v.ID)
			}
			db := extractSite(t, v.Site)
			outs, err := model.CheckVector(t.Context(), db.SQL(), v)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range outs {
				if !o.OK() {
					t.Errorf("SQL: %s %s %s (%s): %s [got %s %s %v rule=%q]", o.User, o.Item, o.Cap, o.Basis,
						strings.Join(o.Problems, "; "), o.GotResult, o.GotReason, o.GotFlags, o.GotRule)
				}
			}
			f, err := eval.LoadFacts(t.Context(), db.SQL())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range v.Expect {
				typ := "project"
				if it := v.Site.ItemByID(e.Item); it != nil {
					typ = it.Type
				}
				basis := eval.Current
				if e.Basis == "projected" {
					basis = eval.Projected
				}
				d := eval.Decide(f, site.LUID("user", e.User), typ, site.LUID(typ, e.Item), e.Cap, basis)
				if string(d.Result) != e.Result || (e.Reason != "" && d.Reason != e.Reason) {
					t.Errorf("eval: %s %s %s: got %s %s, want %s %s", e.User, e.Item, e.Cap, d.Result, d.Reason, e.Result, e.Reason)
				}
				for _, fl := range e.Flags {
					if !slices.Contains(d.Flags, fl) {
						t.Errorf("eval: %s %s %s: flag %s missing (got %v)", e.User, e.Item, e.Cap, fl, d.Flags)
					}
				}
			}
			// The two engines agree on every triple of the vector's site,
			// not only on the expectations.
			diffs, err := compare(t.Context(), db, 5)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diffs {
				t.Errorf("SQL and eval disagree: %s", d)
			}
		})
	}
}

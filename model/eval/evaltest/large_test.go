//go:build large

package evaltest

import (
	"context"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model/eval"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

// TestLoadFactsLarge times LoadFacts on a model of a synthetic site:
// go test -tags large -run TestLoadFactsLarge -v ./model/eval/evaltest
func TestLoadFactsLarge(t *testing.T) {
	ctx := context.Background()
	s, err := site.Generate("M", 1)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	db, _, err := modeltest.FromSite(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tBuild := time.Since(t0)
	t0 = time.Now()
	f, err := eval.LoadFacts(ctx, db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	var rules int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM permission_rules").Scan(&rules); err != nil {
		t.Fatal(err)
	}
	t.Logf("M: model build %v; LoadFacts %v (%d users, %d items, %d permission_rules rows)", tBuild, time.Since(t0), len(f.Users), len(f.Items), rules)
}

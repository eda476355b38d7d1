//go:build large

package eval

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// TestLarge measures the evaluator on a synthetic site of a DESIGN.md size
// preset: go test -tags large -run TestLarge -v ./model/eval [-preset L].
// explain must answer in under a second once the facts are loaded.
func TestLarge(t *testing.T) {
	for _, preset := range []string{"M", "L"} {
		t.Run(preset, func(t *testing.T) {
			t0 := time.Now()
			s, err := site.Generate(preset, 1)
			if err != nil {
				t.Fatal(err)
			}
			tGen := time.Since(t0)
			t0 = time.Now()
			f, err := FromSite(s)
			if err != nil {
				t.Fatal(err)
			}
			tFacts := time.Since(t0)
			r := rand.New(rand.NewPCG(1, 2))
			t0 = time.Now()
			n := 0
			var worst time.Duration
			for range 200 {
				uid := f.UserIDs[r.IntN(len(f.UserIDs))]
				k := f.ItemKeys[r.IntN(len(f.ItemKeys))]
				t1 := time.Now()
				for _, c := range caps.For(k.Type) {
					Decide(f, uid, k.Type, k.ID, c, Current)
					n++
				}
				worst = max(worst, time.Since(t1))
			}
			tDecide := time.Since(t0)
			nop := func(code, objType, objID, relType, relID, format string, args ...any) {}
			for _, phase := range []struct {
				name string
				run  func(addFunc)
			}{{"stale", f.staleRules}, {"users", f.userFindings}, {"leaders", f.inheritedLeaders}, {"views", f.viewsWithoutWorkbookRead}} {
				t0 = time.Now()
				phase.run(nop)
				t.Logf("%s: findings phase %s %v", preset, phase.name, time.Since(t0))
			}
			t0 = time.Now()
			fs := Findings(f)
			tFind := time.Since(t0)
			t.Logf("%s: %d users, %d groups, %d projects, %d items, %d rule sets; generate %v, FromSite %v; %d decisions in %v (%.1f µs each), worst explain-all %v; Findings %d in %v",
				preset, len(f.Users), len(f.Groups), len(f.Projects), len(f.Items), len(f.ruleKeys), tGen, tFacts, n, tDecide,
				float64(tDecide.Microseconds())/float64(n), worst, len(fs), tFind)
			if worst > time.Second {
				t.Errorf("explaining every capability of one item took %v", worst)
			}
		})
	}
}

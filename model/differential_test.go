package model_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/eval"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

var randomSites = flag.Int("random-sites", 150, "random sites TestDifferential compares (e.g. -random-sites=5000)")

// row is one decision as both engines report it.
type row struct {
	Result, Reason, Rule, Flags, Confidence string
}

// compare evaluates every (user, item, capability, basis) of the model's
// site with model/eval and with effective_permissions and returns the
// differences, at most max of them.
func compare(ctx context.Context, db *model.DB, max int) ([]string, error) {
	f, err := eval.LoadFacts(ctx, db.SQL())
	if err != nil {
		return nil, fmt.Errorf("eval.LoadFacts: %w", err)
	}
	got := map[string]row{}
	rows, err := db.SQL().QueryContext(ctx, `SELECT user_id, content_type, content_id, capability, basis, decision, reason,
		coalesce(deciding_rule, ''), array_to_string(flags, ','), confidence FROM effective_permissions`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var u, t, id, c, b string
		var r row
		if err := rows.Scan(&u, &t, &id, &c, &b, &r.Result, &r.Reason, &r.Rule, &r.Flags, &r.Confidence); err != nil {
			rows.Close()
			return nil, err
		}
		got[strings.Join([]string{u, t, id, c, b}, "|")] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var diffs []string
	keys := []eval.Key{}
	for _, id := range f.ProjectIDs {
		keys = append(keys, eval.Key{Type: caps.Project, ID: id})
	}
	keys = append(keys, f.ItemKeys...)
	userIDs := make([]string, 0, len(f.Users))
	for id := range f.Users {
		userIDs = append(userIDs, id)
	}
	slices.Sort(userIDs)
	seen := 0
	for _, uid := range userIDs {
		for _, k := range keys {
			cs := append(slices.Clone(caps.For(k.Type)), f.ObservedUnknown(k.Type)...)
			for _, c := range cs {
				for _, b := range []eval.Basis{eval.Current, eval.Projected} {
					d := eval.Decide(f, uid, k.Type, k.ID, c, b)
					key := strings.Join([]string{uid, k.Type, k.ID, c, string(b)}, "|")
					g, ok := got[key]
					delete(got, key)
					if d.Result == eval.NotApplicable {
						if ok {
							diffs = append(diffs, fmt.Sprintf("%s: SQL has a row (%s %s), eval says not_applicable", key, g.Result, g.Reason))
						}
						continue
					}
					seen++
					want := row{string(d.Result), d.Reason, d.DecidingRule, strings.Join(d.Flags, ","), d.Confidence.String()}
					if !ok {
						diffs = append(diffs, fmt.Sprintf("%s: no SQL row; eval %+v", key, want))
					} else if g != want {
						diffs = append(diffs, fmt.Sprintf("%s (%s %s):\n   sql  %+v\n   eval %+v", key, f.Name("user", uid), f.Name(k.Type, k.ID), g, want))
					}
					if len(diffs) >= max {
						return diffs, nil
					}
				}
			}
		}
	}
	for k, g := range got {
		diffs = append(diffs, fmt.Sprintf("%s: SQL row %+v that eval does not evaluate", k, g))
		if len(diffs) >= max {
			break
		}
	}
	if seen == 0 {
		return nil, fmt.Errorf("no triples compared")
	}
	return diffs, nil
}

// TestDifferential compares the SQL engine with model/eval on random small
// sites, every (user, item, capability, basis). A disagreement is shrunk to
// a minimal site file that reproduces it.
func TestDifferential(t *testing.T) {
	ctx := t.Context()
	db, err := model.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fails := func(s *site.Site) bool {
		if _, err := modeltest.Load(ctx, db, s); err != nil {
			return false
		}
		d, err := compare(ctx, db, 1)
		return err == nil && len(d) > 0
	}
	for i := range *randomSites {
		seed := uint64(i)
		s := site.Random(rand.New(rand.NewPCG(seed, seed^0x5eed)), site.RandomParams{})
		if _, err := modeltest.Load(ctx, db, s); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		diffs, err := compare(ctx, db, 5)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if len(diffs) == 0 {
			continue
		}
		small := site.Shrink(s, fails)
		y, _ := site.Marshal(small)
		modeltest.Load(ctx, db, small)
		sd, _ := compare(ctx, db, 3)
		t.Fatalf("seed %d: SQL and eval disagree:\n%s\nminimal site:\n%s\ndifferences on it:\n%s", seed, strings.Join(diffs, "\n"), y, strings.Join(sd, "\n"))
	}
}

// FuzzDifferential drives the same comparison from fuzzed seeds and size
// bounds: go test -fuzz FuzzDifferential ./model/
func FuzzDifferential(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, uint8(8), uint8(4), uint8(5), uint8(6))
	}
	db, err := model.Open(context.Background(), "")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, seed uint64, users, groups, projects, items uint8) {
		p := site.RandomParams{MaxUsers: int(users%12) + 3, MaxGroups: int(groups%6) + 1, MaxProjects: int(projects%7) + 1, MaxItems: int(items%8) + 1}
		s := site.Random(rand.New(rand.NewPCG(seed, seed^0xf00d)), p)
		if _, err := modeltest.Load(t.Context(), db, s); err != nil {
			t.Fatalf("loading: %v", err)
		}
		diffs, err := compare(t.Context(), db, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) > 0 {
			y, _ := site.Marshal(s)
			t.Fatalf("SQL and eval disagree:\n%s\nsite:\n%s", strings.Join(diffs, "\n"), y)
		}
	})
}

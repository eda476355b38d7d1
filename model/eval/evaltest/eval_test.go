package evaltest

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
	"github.com/tabaudit/tabaudit/model/eval"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

var (
	diffSites  = flag.Int("diff-sites", 60, "random sites for the differential test against the SQL engine")
	diffStrict = flag.Bool("diff-strict", false, "fail the differential test on any disagreement (default: log a summary)")
)

// corpus returns the spec vectors' and the eval case files' sites.
func corpus(t *testing.T) map[string]*site.Site {
	t.Helper()
	out := map[string]*site.Site{}
	files, _ := filepath.Glob("../testdata/cases/*.yaml")
	files = append(files, "../../../testdata/spec/permission-vectors.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Vectors []yaml.Node `yaml:"vectors"`
			Cases   []yaml.Node `yaml:"cases"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		for _, n := range append(doc.Vectors, doc.Cases...) {
			var v struct {
				ID   string    `yaml:"id"`
				Site yaml.Node `yaml:"site"`
			}
			if err := n.Decode(&v); err != nil {
				t.Fatal(err)
			}
			s, err := site.FromNode(v.ID, &v.Site)
			if err != nil {
				t.Fatal(err)
			}
			out[v.ID] = s
		}
	}
	return out
}

// snapshotable drops what a snapshot cannot hold (data roles, lenses and
// metrics have no inventory table) and states showTabs, which the simulator
// defaults to true and modeltest to false.
func snapshotable(s *site.Site) *site.Site {
	c := s.Clone()
	c.Items = slices.DeleteFunc(c.Items, func(it site.Item) bool {
		return it.Type == caps.DataRole || it.Type == caps.Lens || it.Type == caps.Metric
	})
	for i := range c.Items {
		if c.Items[i].Type == caps.Workbook && c.Items[i].ShowTabs == nil {
			yes := true
			c.Items[i].ShowTabs = &yes
		}
	}
	return c
}

// readingDifferences are the fields where modeltest's rows differ from what
// an extraction of the simulator records; none of them changes a decision.
var readingDifferences = cmp.Options{
	cmpopts.IgnoreFields(eval.Facts{}, "SiteName"),
	cmpopts.IgnoreFields(eval.Group{}, "Domain"),          // modeltest writes "local"
	cmpopts.IgnoreFields(eval.Item{}, "LocationType"),     // modeltest writes "Project" for ""
	cmpopts.IgnoreFields(eval.RuleSet{}, "Parent"),        // modeltest writes no <parent> element
	cmpopts.IgnoreFields(eval.Project{}, "Mode"),          // the simulator reports LockedToProject under a lock root
	cmpopts.IgnoreFields(eval.Item{}, "ProjectID"),        // checked below, except for Personal Space
	cmpopts.IgnoreFields(eval.Finding{}, "Detail"),        // names the project mode
	cmp.Exporter(func(reflect.Type) bool { return true }), // compare unexported indexes too
}

// TestLoadFactsMatchesFromSite builds a model from each corpus site and from
// random sites with modeltest, loads Facts from its snapshot tables and
// checks they equal FromSite's, and that every decision agrees.
func TestLoadFactsMatchesFromSite(t *testing.T) {
	sites := corpus(t)
	for i := range 30 {
		sites[fmt.Sprintf("random-%d", i)] = site.Random(rand.New(rand.NewPCG(uint64(i), 99)), site.RandomParams{})
	}
	ids := make([]string, 0, len(sites))
	for id := range sites {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			s := snapshotable(sites[id])
			want, err := eval.FromSite(s)
			if err != nil {
				t.Fatal(err)
			}
			db := modeltest.New(t, s)
			got, err := eval.LoadFacts(t.Context(), db.SQL())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got, readingDifferences); d != "" {
				t.Errorf("LoadFacts differs from FromSite (-FromSite +LoadFacts):\n%s", d)
			}
			for _, k := range want.ItemKeys {
				if it := want.Items[k]; !it.Personal() && it.ProjectID != got.Items[k].ProjectID {
					t.Errorf("%s: project %q, loaded %q", k, it.ProjectID, got.Items[k].ProjectID)
				}
			}
			n := 0
			for _, uid := range want.UserIDs {
				keys := append([]eval.Key{}, want.ItemKeys...)
				for _, p := range want.ProjectIDs {
					keys = append(keys, eval.Key{Type: caps.Project, ID: p})
				}
				for _, k := range keys {
					for _, c := range append(caps.For(k.Type), want.ObservedUnknown(k.Type)...) {
						for _, b := range []eval.Basis{eval.Current, eval.Projected} {
							a, g := eval.Decide(want, uid, k.Type, k.ID, c, b), eval.Decide(got, uid, k.Type, k.ID, c, b)
							n++
							if a.Result != g.Result || a.Reason != g.Reason || a.DecidingRule != g.DecidingRule || !slices.Equal(a.Flags, g.Flags) {
								t.Fatalf("%s %s %s %s: FromSite %s %s %v, LoadFacts %s %s %v", uid, k, c, b, a.Result, a.Reason, a.Flags, g.Result, g.Reason, g.Flags)
							}
						}
					}
				}
			}
			if n == 0 {
				t.Fatal("no decisions compared")
			}
		})
	}
}

// decisionRow is one effective_permissions row, or the same fields from Decide.
type decisionRow struct {
	Decision, Reason, Rule, Confidence string
	Flags                              []string
}

// specFlags are the flags both engines must agree on (spec §13's list and
// UNKNOWN_SITE_ROLE); the others are this package's extra [U] flags.
var specFlags = []string{eval.FlagDirectDataAPI, eval.FlagNoPublishTarget, eval.FlagInertInLocked, eval.FlagGroupSetDenyShadowed,
	eval.FlagViewWithoutWorkbook, eval.FlagLegacySiteRole, eval.FlagGuestRole, eval.FlagSupportUser, eval.FlagUnknownCapability, eval.FlagRetired, eval.FlagUnknownSiteRole}

func keepSpecFlags(fl []string) []string {
	var out []string
	for _, f := range fl {
		if slices.Contains(specFlags, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// TestDifferentialSQL compares every effective_permissions row of the SQL
// engine with Decide on the corpus and on random sites (spec §15.1; DESIGN
// §4: both evaluators must agree). Disagreements are grouped by kind; with
// -diff-strict any disagreement fails the test.
func TestDifferentialSQL(t *testing.T) {
	ctx := context.Background()
	sites := corpus(t)
	for i := range *diffSites {
		sites[fmt.Sprintf("random-%d", i)] = site.Random(rand.New(rand.NewPCG(uint64(i), 7)), site.RandomParams{})
	}
	ids := make([]string, 0, len(sites))
	for id := range sites {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	kinds := map[string]int{}
	examples := map[string]string{}
	rows := 0
	for _, id := range ids {
		s := snapshotable(sites[id])
		f, err := eval.FromSite(s)
		if err != nil {
			t.Fatal(err)
		}
		db, _, err := modeltest.FromSite(ctx, s)
		if err != nil {
			t.Fatalf("%s: building the model: %v", id, err)
		}
		q, err := db.SQL().QueryContext(ctx, `SELECT user_id, content_type, content_id, capability, basis, decision, reason,
			coalesce(deciding_rule, ''), flags, confidence FROM effective_permissions`)
		if err != nil {
			db.Close()
			t.Fatalf("%s: %v", id, err)
		}
		seen := map[string]bool{}
		for q.Next() {
			var uid, typ, cid, c, basis string
			var r decisionRow
			var flags any
			if err := q.Scan(&uid, &typ, &cid, &c, &basis, &r.Decision, &r.Reason, &r.Rule, &flags, &r.Confidence); err != nil {
				t.Fatal(err)
			}
			if l, ok := flags.([]any); ok {
				for _, x := range l {
					r.Flags = append(r.Flags, fmt.Sprint(x))
				}
			}
			rows++
			seen[strings.Join([]string{uid, typ, cid, c, basis}, "|")] = true
			d := eval.Decide(f, uid, typ, cid, c, eval.Basis(basis))
			want := decisionRow{Decision: string(d.Result), Reason: d.Reason, Rule: d.DecidingRule, Confidence: d.Confidence.String(), Flags: keepSpecFlags(d.Flags)}
			r.Flags = keepSpecFlags(r.Flags)
			var kind string
			switch {
			case want.Decision != r.Decision || want.Reason != r.Reason:
				kind = fmt.Sprintf("decision %s/%s vs SQL %s/%s on %s %s", want.Decision, want.Reason, r.Decision, r.Reason, typ, c)
			case want.Rule != r.Rule:
				kind = "deciding rule (" + d.Reason + ")"
			case !slices.Equal(want.Flags, r.Flags):
				kind = fmt.Sprintf("flags %v vs SQL %v", want.Flags, r.Flags)
			case want.Confidence != r.Confidence:
				kind = fmt.Sprintf("confidence %s vs SQL %s (%s %s %s)", want.Confidence, r.Confidence, d.Reason, typ, c)
			}
			if known := knownDisagreement(f, d, r, typ, c); kind != "" && known != "" && !strings.HasPrefix(kind, "confidence ") {
				kind = "known: " + known
			}
			if kind != "" {
				kinds[kind]++
				if examples[kind] == "" {
					examples[kind] = fmt.Sprintf("%s: user %s %s %s %s %s: eval %+v SQL %+v", id, f.Name("user", uid), typ, f.Name(typ, cid), c, basis, want, r)
				}
			}
		}
		q.Close()
		// Every catalogue triple must have a row.
		for _, uid := range f.UserIDs {
			for _, k := range append(append([]eval.Key{}, f.ItemKeys...), projectKeys(f)...) {
				for _, c := range caps.For(k.Type) {
					if !seen[strings.Join([]string{uid, k.Type, k.ID, c, "current"}, "|")] {
						kinds["missing row"]++
						if examples["missing row"] == "" {
							examples["missing row"] = fmt.Sprintf("%s: %s %s %s", id, uid, k, c)
						}
					}
				}
			}
		}
		db.Close()
	}
	var lines []string
	total := 0
	for k, n := range kinds {
		total += n
		lines = append(lines, fmt.Sprintf("%6d  %s\n        e.g. %s", n, k, examples[k]))
	}
	sort.Strings(lines)
	t.Logf("%d sites, %d effective_permissions rows, %d disagreements", len(ids), rows, total)
	hard := 0
	for k, n := range kinds {
		if !strings.HasPrefix(k, "known: ") && !strings.HasPrefix(k, "confidence ") {
			hard += n
		}
	}
	if total > 0 {
		msg := "disagreements between eval.Decide and effective_permissions:\n" + strings.Join(lines, "\n")
		if hard > 0 || *diffStrict {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}

// knownDisagreement names a disagreement already reported to the model
// package (see the eval package doc for the readings), so that the test
// fails only on new kinds; -diff-strict fails on these too. Confidence
// differences are logged, not failed: the two engines tag [U] facts
// differently and the spec leaves several tags open.
func knownDisagreement(f *eval.Facts, d eval.Decision, r decisionRow, typ, c string) string {
	switch {
	case !caps.Applies(typ, c):
		return "unknown capability: SQL denies at the ceiling; eval evaluates generically where the site's rules carry it"
	case typ == caps.VirtualConnection && (c == "Write" || c == "Overwrite") && (d.Reason != r.Reason):
		return "virtual-connection Write/Overwrite alias (spec §2.6) not merged in SQL"
	case d.Reason == eval.ReasonPersonalSpace || slices.Contains(d.Flags, eval.FlagPersonalSpace):
		return "Personal Space: SQL grants project positions / treats views of personal workbooks as project content"
	case d.Reason == eval.ReasonCeiling && d.Reason == r.Reason && strings.HasPrefix(d.DecidingRule, "ceiling:") && slices.Contains(d.Flags, eval.FlagUnknownSiteRole):
		return "unknown site role: SQL records ceiling:Unlicensed, eval ceiling:<role>"
	case slices.Contains(d.Flags, eval.FlagViewWithoutWorkbook) && !slices.Contains(r.Flags, eval.FlagViewWithoutWorkbook) && d.Result == eval.Allow && string(d.Result) == r.Decision:
		return "VIEW_WITHOUT_WORKBOOK_READ flag not raised by SQL"
	}
	return ""
}

func projectKeys(f *eval.Facts) []eval.Key {
	var out []eval.Key
	for _, p := range f.ProjectIDs {
		out = append(out, eval.Key{Type: caps.Project, ID: p})
	}
	return out
}

package eval

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

var randomSites = flag.Int("random-sites", 300, "random sites TestRandomSites checks (e.g. -random-sites=5000)")

var validReasons = map[Result][]string{
	Allow: {ReasonAdmin, ReasonProjectOwner, ReasonProjectLeader, ReasonContentOwner, ReasonUserAllow, ReasonGroupAllow, ReasonGroupSetAllow},
	Deny: {ReasonCeiling, ReasonUserDeny, ReasonGroupDeny, ReasonGroupSetDeny, ReasonLockedProject, ReasonUnspecified,
		ReasonPersonalSpace},
	NotApplicable: {ReasonNotApplicable},
}

// triples lists every question worth asking on a site: each user against
// each project and item, with the type's capabilities, capabilities of other
// types (not applicable), and whatever unknown names the rules carry.
func triples(f *Facts) (keys []Key, capsOf func(string) []string) {
	for _, id := range f.ProjectIDs {
		keys = append(keys, Key{caps.Project, id})
	}
	keys = append(keys, f.ItemKeys...)
	capsOf = func(typ string) []string {
		cs := slices.Clone(caps.For(typ))
		cs = append(cs, f.ObservedUnknown(typ)...)
		return append(cs, "Execute", "ProjectLeader", "RunExplainData", "InheritedProjectLeader", "NoSuchCapability")
	}
	return keys, capsOf
}

// checkInvariants asserts what must hold for every decision whatever the
// site: spec §8.2 step 0 and 1 (ceiling first, admins within it),
// consistent reasons and flags, determinism.
func checkInvariants(f *Facts, d Decision) error {
	u := f.Users[d.UserID]
	ri := u.Role(d.Basis)
	applies := caps.Applies(d.ContentType, d.Capability)
	if !slices.Contains(validReasons[d.Result], d.Reason) {
		return fmt.Errorf("reason %s with result %s", d.Reason, d.Result)
	}
	if d.Confidence < U || d.Confidence > D {
		return fmt.Errorf("confidence %d", d.Confidence)
	}
	if d.Result == NotApplicable {
		if applies {
			return fmt.Errorf("not_applicable for a catalogue capability")
		}
		if f.Observed(d.ContentType, d.Capability) && d.Capability != "InheritedProjectLeader" {
			return fmt.Errorf("not_applicable for a capability the site's rules carry on %s", d.ContentType)
		}
		return nil
	}
	if !applies && !slices.Contains(d.Flags, FlagUnknownCapability) {
		return fmt.Errorf("evaluated a non-catalogue capability without UNKNOWN_CAPABILITY")
	}
	allowed, _, _, known := ceilingCell(ri.Row, d.ContentType, d.Capability)
	if !known {
		allowed = ri.Row.Ceiling != "-" && ri.Row.Ceiling != "Guest"
	}
	if d.Result == Allow && !allowed {
		return fmt.Errorf("allowed outside the %s ceiling", ri.Row.TreatedAs)
	}
	if !allowed && (d.Result != Deny || d.Reason != ReasonCeiling) {
		return fmt.Errorf("outside the ceiling but %s %s", d.Result, d.Reason)
	}
	if allowed && d.Reason == ReasonCeiling {
		return fmt.Errorf("SITE_ROLE_CEILING inside the ceiling")
	}
	if ri.Row.Admin && allowed && (d.Result != Allow || d.Reason != ReasonAdmin) {
		return fmt.Errorf("administrator %s within the ceiling got %s %s", ri.Row.TreatedAs, d.Result, d.Reason)
	}
	if !ri.Row.Admin && d.Reason == ReasonAdmin {
		return fmt.Errorf("ADMIN for %s", ri.Row.TreatedAs)
	}
	if ri.Row.TreatedAs == "Unlicensed" && d.Result == Allow {
		return fmt.Errorf("unlicensed user allowed")
	}
	has := func(fl string) bool { return slices.Contains(d.Flags, fl) }
	if has(FlagDirectDataAPI) != (d.Result == Allow && d.Capability == "VizqlDataApiAccess") {
		return fmt.Errorf("DIRECT_DATA_API flag %v on %s %s", has(FlagDirectDataAPI), d.Result, d.Capability)
	}
	if has(FlagInertInLocked) != (d.Reason == ReasonLockedProject) {
		return fmt.Errorf("INERT_IN_LOCKED_PROJECT %v with reason %s", has(FlagInertInLocked), d.Reason)
	}
	if d.Reason == ReasonLockedProject && (d.Capability != "ChangePermissions" || d.ContentType == caps.Project) {
		return fmt.Errorf("LOCKED_PROJECT on %s %s", d.ContentType, d.Capability)
	}
	if has(FlagNoPublishTarget) && (d.Reason != ReasonCeiling || d.Capability != "ChangeHierarchy" || ri.Row.TreatedAs != "Explorer") {
		return fmt.Errorf("NO_PUBLISH_TARGET on %s %s for %s", d.Reason, d.Capability, ri.Row.TreatedAs)
	}
	if has(FlagGroupSetDenyShadowed) && d.Result == Deny && d.Reason != ReasonCeiling && d.Reason != ReasonLockedProject {
		return fmt.Errorf("GROUPSET_DENY_SHADOWED on a %s deny", d.Reason)
	}
	if ri.Row.Flag != "" && !has(ri.Row.Flag) {
		return fmt.Errorf("role flag %s missing", ri.Row.Flag)
	}
	if (d.Reason == ReasonUserAllow || d.Reason == ReasonGroupAllow || d.Reason == ReasonGroupSetAllow ||
		d.Reason == ReasonUserDeny || d.Reason == ReasonGroupDeny || d.Reason == ReasonGroupSetDeny || d.Reason == ReasonLockedProject) && d.DecidingRule == "" {
		return fmt.Errorf("%s without a deciding rule", d.Reason)
	}
	if u.Role(d.Basis).Row.Confidence == U && d.Confidence != U {
		return fmt.Errorf("a [U] role gave confidence %s", d.Confidence)
	}
	return nil
}

func randomSite(seed uint64) *site.Site {
	return site.Random(rand.New(rand.NewPCG(seed, 0x7ab)), site.RandomParams{})
}

// shuffled returns a copy of the site with every list reversed, so that any
// dependence on input order shows up as a different decision.
func shuffled(s *site.Site) *site.Site {
	c := s.Clone()
	slices.Reverse(c.Users)
	slices.Reverse(c.Groups)
	slices.Reverse(c.GroupSets)
	slices.Reverse(c.Projects)
	slices.Reverse(c.Items)
	for i := range c.Groups {
		slices.Reverse(c.Groups[i].Members)
	}
	for i := range c.Items {
		slices.Reverse(c.Items[i].Rules)
	}
	for i := range c.Projects {
		slices.Reverse(c.Projects[i].Rules)
	}
	return c
}

func checkSite(t *testing.T, s *site.Site, seed uint64) int {
	t.Helper()
	f, err := FromSite(s)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	g, err := FromSite(shuffled(s))
	if err != nil {
		t.Fatalf("seed %d shuffled: %v", seed, err)
	}
	n := 0
	keys, capsOf := triples(f)
	for _, uid := range f.UserIDs {
		for _, k := range keys {
			for _, c := range capsOf(k.Type) {
				for _, b := range []Basis{Current, Projected} {
					d := Decide(f, uid, k.Type, k.ID, c, b)
					n++
					if err := checkInvariants(f, d); err != nil {
						yml, _ := site.Marshal(s)
						t.Fatalf("seed %d: %s %s %s %s: %v\n%s\n%s", seed, f.Users[uid].Name, f.Name(k.Type, k.ID), c, b, err, renderChain(d), yml)
					}
					e := Decide(g, uid, k.Type, k.ID, c, b)
					if e.Result != d.Result || e.Reason != d.Reason || e.DecidingRule != d.DecidingRule || !slices.Equal(e.Flags, d.Flags) || e.Confidence != d.Confidence {
						t.Fatalf("seed %d: %s %s %s %s depends on input order: %s %s %q %v vs %s %s %q %v", seed, f.Users[uid].Name,
							f.Name(k.Type, k.ID), c, b, d.Result, d.Reason, d.DecidingRule, d.Flags, e.Result, e.Reason, e.DecidingRule, e.Flags)
					}
				}
			}
		}
	}
	// The keyed shortcut behind VIEW_WITHOUT_WORKBOOK_READ findings agrees
	// with asking Decide for every user.
	for _, k := range f.ItemKeys {
		if k.Type != caps.View {
			continue
		}
		var want []string
		for _, uid := range f.UserIDs {
			if slices.Contains(Decide(f, uid, k.Type, k.ID, "Read", Current).Flags, FlagViewWithoutWorkbook) {
				want = append(want, uid)
			}
		}
		if n, got := f.viewReadWithoutWorkbook(k, -1); n != len(want) || !slices.Equal(got, want) {
			t.Fatalf("seed %d: view %s: VIEW_WITHOUT_WORKBOOK_READ users %d %v, Decide says %v", seed, f.Name(k.Type, k.ID), n, got, want)
		}
		if n, got := f.viewReadWithoutWorkbook(k, 2); n != len(want) || !slices.Equal(got, want[:min(2, len(want))]) {
			t.Fatalf("seed %d: view %s: limited VIEW_WITHOUT_WORKBOOK_READ users %d %v, Decide says %v", seed, f.Name(k.Type, k.ID), n, got, want)
		}
	}
	a, b := Findings(f), Findings(g)
	if len(a) != len(b) {
		t.Fatalf("seed %d: findings depend on input order: %d vs %d", seed, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed %d: findings depend on input order: %+v vs %+v", seed, a[i], b[i])
		}
	}
	return n
}

// TestRandomSites checks the invariants on every triple of many random
// sites (site.Random), and that nothing depends on input order.
func TestRandomSites(t *testing.T) {
	n := 0
	for seed := range uint64(*randomSites) {
		n += checkSite(t, randomSite(seed), seed)
	}
	t.Logf("%d random sites, %d decisions", *randomSites, n)
}

// FuzzDecide builds a random site from the fuzzed seed and checks the
// invariants on one fuzzed triple: go test -fuzz FuzzDecide ./model/eval.
func FuzzDecide(f *testing.F) {
	for _, seed := range []uint64{0, 1, 42, 1 << 40} {
		f.Add(seed, uint8(0), uint8(0), uint8(0), false)
		f.Add(seed, uint8(3), uint8(7), uint8(11), true)
	}
	f.Fuzz(func(t *testing.T, seed uint64, ui, ki, ci uint8, projected bool) {
		facts, err := FromSite(randomSite(seed))
		if err != nil {
			t.Fatal(err)
		}
		keys, capsOf := triples(facts)
		uid := facts.UserIDs[int(ui)%len(facts.UserIDs)]
		k := keys[int(ki)%len(keys)]
		cs := capsOf(k.Type)
		c := cs[int(ci)%len(cs)]
		b := Current
		if projected {
			b = Projected
		}
		d := Decide(facts, uid, k.Type, k.ID, c, b)
		if err := checkInvariants(facts, d); err != nil {
			t.Fatalf("%s %s %s %s: %v\n%s", facts.Users[uid].Name, facts.Name(k.Type, k.ID), c, b, err, renderChain(d))
		}
		if again := Decide(facts, uid, k.Type, k.ID, c, b); again.Result != d.Result || again.Reason != d.Reason || again.DecidingRule != d.DecidingRule {
			t.Fatalf("not deterministic: %+v vs %+v", d, again)
		}
	})
}

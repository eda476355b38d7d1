package site

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/internal/caps"
)

func randSite(seed uint64, p RandomParams) *Site {
	return Random(rand.New(rand.NewPCG(seed, 0x5eed)), p)
}

// TestRandomSites checks a thousand random sites: each is valid, stays
// within its bounds and reads back from its site file unchanged; together
// they cover every shape the differential test needs.
func TestRandomSites(t *testing.T) {
	seen := map[string]int{}
	for seed := range uint64(1000) {
		s := randSite(seed, RandomParams{})
		if err := s.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		data, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse("random.yaml", data)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, data)
		}
		if d := cmp.Diff(s, back, ignoreLines); d != "" {
			t.Fatalf("seed %d: round trip changed the site (-random +parsed):\n%s", seed, d)
		}
		top := 0
		for _, it := range s.Items {
			if it.Type != caps.View && it.Type != caps.Table {
				top++
			}
		}
		for _, b := range []struct {
			what        string
			got, lo, hi int
		}{
			{"users", len(s.Users), 3, 8},
			{"groups with All Users", len(s.Groups), 2, 5},
			{"group sets", len(s.GroupSets), 0, 2},
			{"projects", len(s.Projects), 1, 5},
			{"top-level items", top, 1, 6},
		} {
			if b.got < b.lo || b.got > b.hi {
				t.Fatalf("seed %d: %s = %d, want %d..%d", seed, b.what, b.got, b.lo, b.hi)
			}
		}
		countRandomFeatures(s, seen)
	}
	for _, f := range []string{
		"role:admin", "role:Unlicensed", "role:legacy", "role:Guest", "role:SupportUser",
		"group:minimum role", "group:onLogin", "group:onSync", "groupset", "groupset:empty", "glsi",
		"project:nested", "project:LockedToProject", "project:LockedToProjectWithoutNested", "project:default mode",
		"owner:missing", "rule:ProjectLeader allow", "rule:ProjectLeader deny", "rule:conflict", "rule:unknown capability",
		"rule:template", "grantee:user", "grantee:group", "grantee:groupset", "grantee:all-users",
		"defaults:workbook", "defaults:datasource", "defaults:flow", "defaults:virtualconnection", "defaults:table",
		"item:workbook", "item:view", "item:datasource", "item:flow", "item:virtualconnection", "item:database", "item:table",
		"item:datarole", "item:metric", "tabs:on", "tabs:off", "view rules with tabs on", "database:LockedToDatabase",
		"database:table defaults",
	} {
		if seen[f] == 0 {
			t.Errorf("no random site has %s", f)
		}
	}
	t.Logf("features over 1000 sites: %v", seen)
}

func countRandomFeatures(s *Site, seen map[string]int) {
	for _, u := range s.Users {
		norm, legacy, _ := caps.NormaliseRole(u.Role)
		switch {
		case legacy:
			seen["role:legacy"]++
		case caps.IsAdmin(u.Role):
			seen["role:admin"]++
		default:
			seen["role:"+norm]++
		}
		if u.GLSIMinimumSiteRole != "" {
			seen["glsi"]++
		}
	}
	for _, g := range s.Groups {
		if g.MinimumSiteRole != "" {
			seen["group:minimum role"]++
		}
		if g.LicenseMode != "" {
			seen["group:"+g.LicenseMode]++
		}
	}
	for _, gs := range s.GroupSets {
		seen["groupset"]++
		if len(gs.Groups) == 0 {
			seen["groupset:empty"]++
		}
	}
	users := map[string]bool{}
	for _, u := range s.Users {
		users[u.ID] = true
	}
	rules := func(typ string, rs []Rule) {
		for _, r := range rs {
			kind, id, _ := ParseGrantee(r.Grantee)
			seen["grantee:"+kind]++
			if id == AllUsersID {
				seen["grantee:all-users"]++
			}
			if r.Template != "" {
				seen["rule:template"]++
			}
			for _, c := range r.Allow {
				if slices.Contains(r.Deny, c) {
					seen["rule:conflict"]++
				}
			}
			if slices.Contains(r.Allow, unknownCapability) || slices.Contains(r.Deny, unknownCapability) {
				seen["rule:unknown capability"]++
			}
			if typ == caps.Project && slices.Contains(r.Allow, "ProjectLeader") {
				seen["rule:ProjectLeader allow"]++
			}
			if typ == caps.Project && slices.Contains(r.Deny, "ProjectLeader") {
				seen["rule:ProjectLeader deny"]++
			}
		}
	}
	for _, p := range s.Projects {
		if p.Parent != "" {
			seen["project:nested"]++
		}
		mode := p.ContentPermissions
		if mode == "" {
			mode = "default mode"
		}
		seen["project:"+mode]++
		if !users[p.Owner] {
			seen["owner:missing"]++
		}
		rules(caps.Project, p.Rules)
		for _, d := range caps.DefaultPermissionTypes {
			if rs, ok := p.Defaults[d.Type]; ok {
				seen["defaults:"+d.Type]++
				rules(d.Type, rs)
			}
		}
	}
	tabs := map[string]bool{}
	for _, it := range s.Items {
		seen["item:"+it.Type]++
		rules(it.Type, it.Rules)
		if it.ShowTabs != nil {
			tabs[it.ID] = *it.ShowTabs
			seen[map[bool]string{true: "tabs:on", false: "tabs:off"}[*it.ShowTabs]]++
		}
		if it.Type == caps.View && tabs[it.Workbook] && len(it.Rules) > 0 {
			seen["view rules with tabs on"]++
		}
		if it.ContentPermissions == "LockedToDatabase" {
			seen["database:LockedToDatabase"]++
		}
		if rs, ok := it.Defaults[caps.Table]; ok {
			seen["database:table defaults"]++
			rules(caps.Table, rs)
		}
		if it.Type != caps.View && it.Owner != "" && !users[it.Owner] {
			seen["owner:missing"]++
		}
	}
}

func TestRandomDeterministicAndParams(t *testing.T) {
	if d := cmp.Diff(randSite(9, RandomParams{}), randSite(9, RandomParams{})); d != "" {
		t.Fatalf("same seed, different sites:\n%s", d)
	}
	if cmp.Equal(randSite(9, RandomParams{}), randSite(10, RandomParams{})) {
		t.Fatal("seeds 9 and 10 gave the same site")
	}
	p := RandomParams{MaxUsers: 3, MaxGroups: 1, MaxGroupSets: -1, MaxProjects: 1, MaxItems: 1, NoUnknownCapabilities: true, NoConflicts: true}
	for seed := range uint64(300) {
		s := randSite(seed, p)
		if len(s.Users) != 3 || len(s.Groups) != 2 || len(s.GroupSets) != 0 || len(s.Projects) != 1 {
			t.Fatalf("seed %d: %d users, %d groups, %d group sets, %d projects; want 3, 2, 0, 1",
				seed, len(s.Users), len(s.Groups), len(s.GroupSets), len(s.Projects))
		}
		forEachRuleList(s, func(_ ruleList, rs []Rule) {
			for _, r := range rs {
				for _, c := range r.Allow {
					if c == unknownCapability || slices.Contains(r.Deny, c) {
						t.Fatalf("seed %d: rule %+v breaks NoUnknownCapabilities/NoConflicts", seed, r)
					}
				}
				if slices.Contains(r.Deny, unknownCapability) {
					t.Fatalf("seed %d: rule %+v has an unknown capability", seed, r)
				}
			}
		})
	}
}

// TestShrink shrinks a random site against a predicate that stands for an
// engine disagreement: "some user is denied Delete on a workbook". The
// result keeps only what the predicate needs.
func TestShrink(t *testing.T) {
	fails := func(s *Site) bool {
		for _, it := range s.Items {
			if it.Type != caps.Workbook {
				continue
			}
			for _, r := range it.Rules {
				if strings.HasPrefix(r.Grantee, "user:") && slices.Contains(r.Deny, "Delete") {
					return true
				}
			}
		}
		return false
	}
	var s *Site
	for seed := uint64(0); ; seed++ {
		s = randSite(seed, RandomParams{MaxItems: 6})
		if fails(s) && len(s.Items) >= 4 && len(s.Users) >= 5 {
			break
		}
	}
	orig := s.Clone()
	calls := 0
	got := Shrink(s, func(c *Site) bool {
		calls++
		if err := c.Validate(); err != nil {
			t.Fatalf("Shrink passed an invalid site to fails: %v", err)
		}
		return fails(c)
	})
	if d := cmp.Diff(orig, s); d != "" {
		t.Fatalf("Shrink modified its input:\n%s", d)
	}
	if !fails(got) {
		t.Fatal("shrunk site no longer fails")
	}
	if len(got.Items) != 1 || len(got.Users) != 1 || len(got.Groups) != 1 || len(got.Projects) != 1 || len(got.GroupSets) != 0 {
		data, _ := Marshal(got)
		t.Fatalf("shrunk to %d items, %d users, %d groups, %d projects, %d group sets; want 1, 1, 1 (All Users), 1, 0:\n%s",
			len(got.Items), len(got.Users), len(got.Groups), len(got.Projects), len(got.GroupSets), data)
	}
	w := got.Items[0]
	want := []Rule{{Grantee: "user:" + got.Users[0].ID, Deny: []string{"Delete"}}}
	if d := cmp.Diff(want, w.Rules); d != "" {
		t.Errorf("shrunk rules (-want +got):\n%s", d)
	}
	if got.Projects[0].Parent != "" || got.Projects[0].Rules != nil || got.Projects[0].Defaults != nil || got.Projects[0].ContentPermissions != "" {
		t.Errorf("shrunk project = %+v, want no parent, rules, defaults or mode", got.Projects[0])
	}
	data, err := Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("shrunk.yaml", data); err != nil {
		t.Fatalf("shrunk site does not load: %v\n%s", err, data)
	}
	t.Logf("%d calls to fails; shrunk site:\n%s", calls, data)
}

func TestValidateDoesNotModify(t *testing.T) {
	s := &Site{
		Users:    []User{{ID: "a", Role: "Viewer"}},
		Groups:   []Group{{ID: "g", Members: []string{"a", "b"}}},
		Projects: []Project{{ID: "p", Rules: []Rule{{Grantee: "group:" + AllUsersID, Template: "View"}}}},
	}
	before := s.Clone()
	err := s.Validate()
	if err == nil || err.Error() != `site: group "g" members: unknown user "b"` {
		t.Fatalf("Validate() = %v, want the dangling member (and All Users known)", err)
	}
	if d := cmp.Diff(before, s); d != "" {
		t.Fatalf("Validate modified the site:\n%s", d)
	}
}

func TestClone(t *testing.T) {
	s := randSite(3, RandomParams{})
	c := s.Clone()
	if d := cmp.Diff(s, c); d != "" {
		t.Fatalf("clone differs:\n%s", d)
	}
	c.Users[0].Role = "changed"
	c.Groups[0].Members[0] = "changed"
	forEachRuleList(c, func(l ruleList, rs []Rule) {
		l.edit(c, func(rs []Rule) []Rule { return append(rs, Rule{Grantee: "user:changed"}) })
	})
	if s.Users[0].Role == "changed" || s.Groups[0].Members[0] == "changed" {
		t.Fatal("clone shares users or members with the original")
	}
	forEachRuleList(s, func(_ ruleList, rs []Rule) {
		for _, r := range rs {
			if r.Grantee == "user:changed" {
				t.Fatal("clone shares rule lists with the original")
			}
		}
	})
}

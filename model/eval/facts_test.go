package eval

import (
	"slices"
	"strings"
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// rawSite is a hand-built snapshot with the oddities a site file cannot
// express: rules naming missing grantees, memberships of missing users,
// unknown modes, a missing All Users flag.
func rawSite() *rawFacts {
	return &rawFacts{
		users: []rawUser{{id: "u1", name: "ana", siteRole: "Creator"}, {id: "u2", name: "bo", siteRole: "Explorer"}},
		groups: []rawGroup{
			{id: "gall", name: "All Users"}, // no is_all_users flag: found by name
			{id: "g1", name: "sales"},
		},
		members:   [][2]string{{"g1", "u1"}, {"g1", "ghost-user"}, {"gnone", "u2"}},
		groupSets: []rawGroupSet{{id: "s1", name: "set"}},
		setMember: [][2]string{{"s1", "g1"}, {"s1", "gmissing"}},
		projects: []rawProject{
			{id: "p1", name: "Top", owner: "u2", mode: "LockedToProject", controlling: "p1"},
			{id: "p2", name: "Sub", parent: "p1", owner: "u2", controlling: "pnowhere"},
			{id: "p3", name: "Lost", parent: "pmissing"},
		},
		items: []rawItem{
			{typ: caps.Workbook, id: "w1", name: "Sales", project: "p2", owner: "u1"},
			{typ: caps.View, id: "v1", name: "Map", workbook: "wmissing"},
			{typ: caps.Datasource, id: "d1", project: "pmissing", owner: "u1"},
		},
		rules: []rawRule{
			{objType: caps.Project, objID: "p1", granteeType: "group", granteeID: "gall", capability: "Read", mode: "Allow", set: "item"},
			{objType: caps.Project, objID: "p1", granteeType: "user", granteeID: "ughost", capability: "Read", mode: "Allow", set: "item"},
			{objType: caps.Project, objID: "p1", granteeType: "groupSet", granteeID: "s1", capability: "Write", mode: "Allow", set: "item"},
			{objType: caps.Project, objID: "p1", granteeType: "group", granteeID: "g1", capability: "Read", mode: "Maybe", set: "item"},
			{objType: caps.Workbook, objID: "wgone", granteeType: "group", granteeID: "g1", capability: "Read", mode: "Allow", set: "item"},
		},
	}
}

func TestBuildOddData(t *testing.T) {
	f, err := build(rawSite())
	if err != nil {
		t.Fatal(err)
	}
	if f.AllUsersID != "gall" || !f.Users["u2"].InGroup("gall") {
		t.Errorf("All Users not found by name or not added: %q", f.AllUsersID)
	}
	if f.Users["u1"].InGroupSet("s1") {
		t.Error("a set naming a missing group must match nobody")
	}
	if s := f.RuleSet(Key{caps.Project, "p1"}, RuleSetItem); s.Rule(Grantee{"groupset", "s1"}) == nil {
		t.Error("groupSet grantee kind not normalised")
	}
	p2 := f.Projects["p2"]
	if p2.ComputedControlling != "p1" || p2.Controlling != "p1" || !p2.Locked || p2.Path != "Top/Sub" {
		t.Errorf("p2: %+v", p2)
	}
	if p3 := f.Projects["p3"]; p3.ParentID != "" || p3.Path != "Lost" {
		t.Errorf("p3: %+v", p3)
	}
	var got []string
	for _, fd := range Findings(f) {
		got = append(got, fd.Code+":"+fd.ObjectType+":"+fd.ObjectID+":"+fd.RelatedID)
	}
	for _, want := range []string{
		"UNKNOWN_GRANTEE:project:p1:ughost",
		"UNKNOWN_RULE_MODE:project:p1:g1",
		"DANGLING_REFERENCE:group:g1:ghost-user",
		"DANGLING_REFERENCE:group:gnone:u2",
		"DANGLING_REFERENCE:groupset:s1:gmissing",
		"DANGLING_REFERENCE:project:p2:pnowhere",
		"DANGLING_REFERENCE:project:p3:pmissing",
		"DANGLING_REFERENCE:view:v1:wmissing",
		"DANGLING_REFERENCE:datasource:d1:pmissing",
		"DANGLING_REFERENCE:workbook:wgone:",
		"ALL_USERS_HAS_ALLOWS:project:p1:gall",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("finding %s missing; got\n%s", want, strings.Join(got, "\n"))
		}
	}
	// A rule naming a missing user still decides nothing for anyone else.
	if d := Decide(f, "u1", caps.Project, "p1", "Read", Current); d.Result != Allow || d.Reason != ReasonGroupAllow {
		t.Errorf("u1 p1 Read: %s %s", d.Result, d.Reason)
	}
}

func TestBuildCycle(t *testing.T) {
	r := &rawFacts{projects: []rawProject{{id: "a", parent: "b"}, {id: "b", parent: "a"}}}
	if _, err := build(r); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("want a cycle error, got %v", err)
	}
	r = &rawFacts{users: []rawUser{{id: "u"}, {id: "u"}}}
	if _, err := build(r); err == nil {
		t.Fatal("duplicate user accepted")
	}
}

func TestDecideUnknownIDs(t *testing.T) {
	f, err := build(rawSite())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, typ, id, flag string }{
		{"nobody", caps.Workbook, "w1", FlagUnknownUser},
		{"u1", caps.Workbook, "nothing", FlagUnknownItem},
		{"u1", caps.Project, "nothing", FlagUnknownItem},
	} {
		d := Decide(f, tc.user, tc.typ, tc.id, "Read", Current)
		if d.Result != NotApplicable || d.Reason != ReasonNotApplicable || !slices.Contains(d.Flags, tc.flag) {
			t.Errorf("%+v: got %s %s %v", tc, d.Result, d.Reason, d.Flags)
		}
	}
}

// TestChain pins the explanation of one decision: the steps a reader sees.
func TestChain(t *testing.T) {
	v := loadVectors(t, vectorsFile)
	var s *site.Site
	for _, x := range v {
		if x.ID == "PS-40" {
			s = x.Site
		}
	}
	f, err := FromSite(s)
	if err != nil {
		t.Fatal(err)
	}
	d := Decide(f, site.LUID("user", "uri"), caps.Workbook, site.LUID(caps.Workbook, "w1"), "ChangePermissions", Current)
	var got []string
	for _, st := range d.Chain {
		got = append(got, st.Stage+" | "+st.Outcome+" | "+st.Text)
	}
	want := []string{
		`role |  | user "uri" has site role Creator`,
		`project |  | project chain "plock" [LockedToProject, locked, owner "pow"]`,
		`acl |  | governing rules: default workbook rules of the controlling project "plock" (project locked, §7.3)`,
		`ceiling | pass | ceiling workbook/ChangePermissions (tier P) for Creator: inside the cap`,
		`admin | pass | not an administrator`,
		`owner | pass | not the owner of any project in the chain`,
		`leader | pass | not a project leader of any project in the chain`,
		`owner | pass | not the content owner (owner: "vic")`,
		`user rule | none | no user rule for "uri" mentions ChangePermissions`,
		`group rule | allow | group "stewards": Allow ChangePermissions`,
		`lock | deny | the project is locked: only administrators, project owners and leaders may set permissions; the Allow is inert (§8.2 step 9)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("chain:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d.DecidingRule != "project:"+site.LUID("project", "plock")+"/default:workbook group:"+site.LUID("group", "stewards")+" Allow" {
		t.Errorf("deciding rule %q", d.DecidingRule)
	}
}

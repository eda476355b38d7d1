package site

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tabaudit/tabaudit/internal/caps"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// synthStats are the figures a synthetic site is judged by.
type synthStats struct {
	Users, Groups, GroupSets, Projects       int
	Items                                    map[string]int
	Roles                                    map[string]int
	Memberships                              int // excluding All Users
	Classes                                  int // distinct (normalised role, group set)
	SingletonClasses                         int
	LargestGroup, MedianGroup                int
	MaxDepth                                 int
	Modes                                    map[string]int
	Rules, CapabilityRows                    int
	UserRules, DenyRules, GroupSetRules      int
	AllUsersAllow, AllUsersDeny              int
	LeaderGroup, LeaderUser, LeaderLegacyDen int
	OrphanOwners, DemotedOwners              int
	TabsOffViewsWithRules, HiddenViews       int
	Confidential                             int
	NeverSignedIn, Inactive180               int
	MinRoleGroups                            int
	Lineage                                  map[string]int
	MaxTableFanIn, MaxDatasourceFanOut       int
	HiddenSheets                             int
	Schedules, Tasks, Jobs                   int
}

func statsOf(s *Site) synthStats {
	st := synthStats{Users: len(s.Users), Groups: len(s.Groups), GroupSets: len(s.GroupSets), Projects: len(s.Projects),
		Items: map[string]int{}, Roles: map[string]int{}, Modes: map[string]int{}, Lineage: map[string]int{},
		Schedules: len(s.Schedules), Tasks: len(s.ExtractRefreshTasks), Jobs: len(s.Jobs)}
	role := map[string]string{}
	userGroups := map[string][]string{}
	var sizes []int
	for _, u := range s.Users {
		st.Roles[u.Role]++
		role[u.ID] = u.Role
		if u.LastLogin == nil {
			st.NeverSignedIn++
		} else if SyntheticNow().Sub(*u.LastLogin) > 180*24*time.Hour {
			st.Inactive180++
		}
	}
	for _, g := range s.Groups {
		if g.MinimumSiteRole != "" && g.LicenseMode != "" {
			st.MinRoleGroups++
		}
		if g.ID == AllUsersID {
			continue
		}
		sizes = append(sizes, len(g.Members))
		st.Memberships += len(g.Members)
		for _, m := range g.Members {
			userGroups[m] = append(userGroups[m], g.ID)
		}
	}
	slices.Sort(sizes)
	if len(sizes) > 0 {
		st.LargestGroup, st.MedianGroup = sizes[len(sizes)-1], sizes[len(sizes)/2]
	}
	classes := map[string]int{}
	for _, u := range s.Users {
		n, _, _ := caps.NormaliseRole(u.Role)
		gs := slices.Clone(userGroups[u.ID])
		slices.Sort(gs)
		classes[n+"|"+strings.Join(gs, ",")]++
	}
	st.Classes = len(classes)
	for _, n := range classes {
		if n == 1 {
			st.SingletonClasses++
		}
	}
	parent := map[string]string{}
	for _, p := range s.Projects {
		parent[p.ID] = p.Parent
		st.Modes[p.ContentPermissions]++
	}
	for _, p := range s.Projects {
		d := 0
		for q := p.ID; parent[q] != ""; q = parent[q] {
			d++
		}
		st.MaxDepth = max(st.MaxDepth, d+1)
	}
	owner := func(id string) {
		r, ok := role[id]
		switch {
		case id == "":
		case !ok:
			st.OrphanOwners++
		default:
			if n, _, _ := caps.NormaliseRole(r); n == "Viewer" || n == "Explorer" || n == "Unlicensed" {
				st.DemotedOwners++
			}
		}
	}
	countRules := func(typ string, rs []Rule) {
		for _, r := range rs {
			st.Rules++
			cs, _ := r.Capabilities(typ)
			st.CapabilityRows += len(cs)
			kind, _, _ := ParseGrantee(r.Grantee)
			denies := slices.ContainsFunc(cs, func(c Capability) bool { return c.Mode == "Deny" })
			allows := slices.ContainsFunc(cs, func(c Capability) bool { return c.Mode == "Allow" })
			switch {
			case kind == "user":
				st.UserRules++
			case kind == "groupset":
				st.GroupSetRules++
			case r.Grantee == "group:"+AllUsersID:
				if allows {
					st.AllUsersAllow++
				}
				if denies {
					st.AllUsersDeny++
				}
			}
			if denies {
				st.DenyRules++
			}
			if typ == caps.Project && slices.Contains(r.Allow, "ProjectLeader") {
				if kind == "user" {
					st.LeaderUser++
				} else {
					st.LeaderGroup++
				}
			}
			if typ == caps.Project && slices.Contains(r.Deny, "ProjectLeader") {
				st.LeaderLegacyDen++
			}
		}
	}
	for _, p := range s.Projects {
		owner(p.Owner)
		countRules(caps.Project, p.Rules)
		for _, d := range caps.DefaultPermissionTypes {
			countRules(d.Type, p.Defaults[d.Type])
		}
	}
	tabsOff := map[string]bool{}
	for _, it := range s.Items {
		st.Items[it.Type]++
		if it.Type != caps.View {
			owner(it.Owner)
		}
		countRules(it.Type, it.Rules)
		countRules(caps.Table, it.Defaults[caps.Table])
		if it.Type == caps.Workbook && it.ShowTabs != nil && !*it.ShowTabs {
			tabsOff[it.ID] = true
		}
		if it.Type == caps.View && tabsOff[it.Workbook] && len(it.Rules) > 0 {
			st.TabsOffViewsWithRules++
		}
		if it.Hidden {
			st.HiddenViews++
		}
		if slices.Contains(it.Tags, "confidential") {
			st.Confidential++
		}
	}
	if l := s.Lineage; l != nil {
		st.Lineage["databases"] = len(l.Databases)
		st.Lineage["tables"] = len(l.Tables)
		st.Lineage["custom_sql"] = len(l.CustomSQL)
		st.Lineage["published"] = len(l.PublishedDatasources)
		st.Lineage["embedded"] = len(l.EmbeddedDatasources)
		st.Lineage["vct"] = len(l.VirtualConnectionTables)
		st.Lineage["sheets"] = len(l.Sheets)
		st.Lineage["dashboards"] = len(l.Dashboards)
		st.Lineage["flows"] = len(l.Flows)
		fanIn := map[string]int{}
		for _, p := range l.PublishedDatasources {
			for _, t := range p.Tables {
				fanIn[t]++
			}
		}
		for _, n := range fanIn {
			st.MaxTableFanIn = max(st.MaxTableFanIn, n)
		}
		fanOut := map[string]map[string]bool{}
		for _, e := range l.EmbeddedDatasources {
			for _, p := range e.Published {
				if fanOut[p] == nil {
					fanOut[p] = map[string]bool{}
				}
				fanOut[p][e.Workbook] = true
			}
		}
		for _, wbs := range fanOut {
			st.MaxDatasourceFanOut = max(st.MaxDatasourceFanOut, len(wbs))
		}
		for _, sh := range l.Sheets {
			if sh.View == "" {
				st.HiddenSheets++
			}
		}
	}
	return st
}

func (st synthStats) String() string {
	return fmt.Sprintf("users %d, groups %d, group sets %d, projects %d (max depth %d, modes %v), items %v\n"+
		"roles %v\n"+
		"memberships %d, classes %d (%.1f%% of users, %d singletons), largest group %d, median %d\n"+
		"rules %d (%d capability rows): user %d, deny %d, group set %d, All Users allow %d / deny %d, leaders group %d / user %d / legacy deny %d\n"+
		"owners: orphan %d, demoted %d; tabs-off views with rules %d, hidden views %d, confidential %d\n"+
		"never signed in %d, inactive >180d %d, groups with minimum role %d\n"+
		"lineage %v, max table fan-in %d, max datasource fan-out %d, hidden sheets %d\n"+
		"schedules %d, tasks %d, jobs %d",
		st.Users, st.Groups, st.GroupSets, st.Projects, st.MaxDepth, st.Modes, st.Items, st.Roles,
		st.Memberships, st.Classes, 100*float64(st.Classes)/float64(st.Users), st.SingletonClasses, st.LargestGroup, st.MedianGroup,
		st.Rules, st.CapabilityRows, st.UserRules, st.DenyRules, st.GroupSetRules, st.AllUsersAllow, st.AllUsersDeny,
		st.LeaderGroup, st.LeaderUser, st.LeaderLegacyDen,
		st.OrphanOwners, st.DemotedOwners, st.TabsOffViewsWithRules, st.HiddenViews, st.Confidential,
		st.NeverSignedIn, st.Inactive180, st.MinRoleGroups,
		st.Lineage, st.MaxTableFanIn, st.MaxDatasourceFanOut, st.HiddenSheets, st.Schedules, st.Tasks, st.Jobs)
}

// ignoreLines compares sites without the file positions Parse records.
var ignoreLines = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && sf.Name() == "Line"
}, cmp.Ignore())

func TestGeneratePresets(t *testing.T) {
	for _, preset := range []string{"S", "M"} {
		t.Run(preset, func(t *testing.T) { checkPreset(t, preset, 7) })
	}
}

// checkPreset generates a preset and checks exact sizes, the presence of
// every pattern the audit handles and the skew of memberships and lineage.
func checkPreset(t *testing.T, preset string, seed int64) {
	sz, err := PresetSizes(preset)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s, err := Generate(preset, seed)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	st := statsOf(s)
	t.Logf("%s seed %d, generated in %v:\n%s", preset, seed, elapsed, st)
	exact := []struct {
		what      string
		got, want int
	}{
		{"users", st.Users, sz.Users},
		{"groups (with All Users)", st.Groups, sz.Groups},
		{"projects", st.Projects, sz.Projects},
		{"workbooks", st.Items[caps.Workbook], sz.Workbooks},
		{"views", st.Items[caps.View], sz.Views},
		{"datasources", st.Items[caps.Datasource], sz.Datasources},
		{"flows", st.Items[caps.Flow], sz.Flows},
		{"virtual connections", st.Items[caps.VirtualConnection], sz.VirtualConnections},
		{"database items", st.Items[caps.Database], sz.DatabaseItems},
		{"group sets", st.GroupSets, sz.GroupSets},
		{"lineage databases", st.Lineage["databases"], sz.Databases},
		{"lineage tables", st.Lineage["tables"], sz.Tables},
		{"custom SQL", st.Lineage["custom_sql"], sz.CustomSQL},
		{"published datasource lineage", st.Lineage["published"], sz.Datasources},
		{"flow lineage", st.Lineage["flows"], sz.Flows},
		{"sheets and dashboards with a view", st.Lineage["sheets"] - st.HiddenSheets + st.Lineage["dashboards"], sz.Views},
		{"schedules", st.Schedules, sz.Schedules},
		{"extract refresh tasks", st.Tasks, sz.ExtractRefreshTasks},
		{"jobs", st.Jobs, sz.Jobs},
		{"max project depth", st.MaxDepth, 5},
	}
	for _, e := range exact {
		if e.got != e.want {
			t.Errorf("%s = %d, want %d", e.what, e.got, e.want)
		}
	}
	// Every pattern the audit must handle appears at least once.
	present := []struct {
		what string
		n    int
	}{
		{"LockedToProject projects", st.Modes["LockedToProject"]},
		{"LockedToProjectWithoutNested projects", st.Modes["LockedToProjectWithoutNested"]},
		{"ManagedByOwner projects", st.Modes["ManagedByOwner"]},
		{"All Users Allow rules", st.AllUsersAllow},
		{"All Users Deny rules", st.AllUsersDeny},
		{"user rules", st.UserRules},
		{"Deny rules", st.DenyRules},
		{"group set rules", st.GroupSetRules},
		{"group project leaders", st.LeaderGroup},
		{"orphan owners", st.OrphanOwners},
		{"demoted owners", st.DemotedOwners},
		{"views with own rules under tabs-off workbooks", st.TabsOffViewsWithRules},
		{"hidden views", st.HiddenViews},
		{"confidential items", st.Confidential},
		{"users who never signed in", st.NeverSignedIn},
		{"users inactive > 180 days", st.Inactive180},
		{"groups with minimum role and license mode", st.MinRoleGroups},
		{"Unlicensed users", st.Roles["Unlicensed"]},
		{"legacy roles", st.Roles["Interactor"] + st.Roles["Publisher"] + st.Roles["ViewerWithPublish"] + st.Roles["ReadOnly"] + st.Roles["UnlicensedWithPublish"]},
		{"table items", st.Items[caps.Table]},
		{"virtual connection tables", st.Lineage["vct"]},
		{"hidden sheets", st.HiddenSheets},
		{"singleton classes (long tail)", st.SingletonClasses},
	}
	for _, p := range present {
		if p.n == 0 {
			t.Errorf("no %s", p.what)
		}
	}
	if preset != "S" {
		if st.LeaderUser == 0 || st.LeaderLegacyDen == 0 {
			t.Errorf("leaders: user %d, legacy deny %d; want both", st.LeaderUser, st.LeaderLegacyDen)
		}
		if st.Roles["Guest"] != 1 {
			t.Errorf("Guest users = %d, want 1", st.Roles["Guest"])
		}
	}
	// Realistic skew: classes compress users but keep a long tail,
	// and group sizes are far from uniform.
	frac := float64(st.Classes) / float64(st.Users)
	if hi := map[string]float64{"S": 0.5, "M": 0.4, "L": 0.4}[preset]; frac < 0.1 || frac > hi {
		t.Errorf("distinct (role, group set) classes = %.1f%% of users, want 10%%..%.0f%%", 100*frac, 100*hi)
	}
	if st.LargestGroup < 5*st.MedianGroup {
		t.Errorf("largest group %d, median %d: want a skewed distribution", st.LargestGroup, st.MedianGroup)
	}
	if st.MaxTableFanIn < 3 || st.MaxDatasourceFanOut < 3 {
		t.Errorf("fan-in %d, fan-out %d: want lineage fan-in and fan-out", st.MaxTableFanIn, st.MaxDatasourceFanOut)
	}
	checkSensitiveLineage(t, s)
}

// checkSensitiveLineage looks for the tables an exposure audit is about and
// for each lineage shape the closure must walk.
func checkSensitiveLineage(t *testing.T, s *Site) {
	t.Helper()
	l := s.Lineage
	want := map[string][]string{"hr.salaries": {"salary"}, "finance.card_payments": {"card_number"}, "crm.customers": {"email"}}
	for _, name := range []string{"hr.salaries", "finance.card_payments", "crm.customers"} {
		found := false
		for _, tb := range l.Tables {
			if tb.Schema+"."+tb.Name == name && slices.Contains(tb.Columns, want[name][0]) {
				found = true
			}
		}
		if !found {
			t.Errorf("no table %s with column %s", name, want[name][0])
		}
	}
	var multiSQL, vct, chained, embPub, embTab, dashHidden, flowIO, sheetCols bool
	for _, q := range l.CustomSQL {
		multiSQL = multiSQL || len(q.Tables) >= 2
	}
	for _, p := range l.PublishedDatasources {
		vct = vct || len(p.VirtualConnectionTables) > 0
		chained = chained || len(p.Datasources) > 0
	}
	for _, e := range l.EmbeddedDatasources {
		embPub = embPub || len(e.Published) > 0
		embTab = embTab || len(e.Tables) > 0
	}
	hidden := map[string]bool{}
	for _, sh := range l.Sheets {
		if sh.View == "" {
			hidden[sh.ID] = true
		}
		sheetCols = sheetCols || len(sh.Columns) > 0
	}
	inDash := map[string]bool{}
	for _, d := range l.Dashboards {
		for _, sh := range d.Sheets {
			inDash[sh] = true
			dashHidden = dashHidden || hidden[sh]
		}
	}
	for sh := range hidden {
		if !inDash[sh] {
			t.Errorf("hidden sheet %s is in no dashboard", sh)
		}
	}
	for _, f := range l.Flows {
		flowIO = flowIO || (len(f.InputTables) > 0 && len(f.OutputTables) > 0)
	}
	for what, ok := range map[string]bool{"custom SQL over several tables": multiSQL, "datasource over virtual connection tables": vct,
		"datasource over a published datasource": chained, "embedded datasource on a published one": embPub,
		"embedded datasource on tables": embTab, "hidden sheet in a dashboard": dashHidden, "flow with inputs and outputs": flowIO,
		"sheet with column lineage": sheetCols} {
		if !ok {
			t.Errorf("no %s", what)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, err := Generate("S", 42)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate("s", 42)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("same seed, different sites (-first +second):\n%.2000s", d)
	}
	c, err := Generate("S", 43)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(a, c) {
		t.Fatal("seeds 42 and 43 gave the same site")
	}
	if _, err := Generate("XL", 1); err == nil || !strings.Contains(err.Error(), `unknown size preset "XL"`) {
		t.Fatalf("Generate(XL) error = %v", err)
	}
}

// TestGenerateRoundTrip writes a generated site as a site file and reads it
// back with the loader the simulator and the CLI use.
func TestGenerateRoundTrip(t *testing.T) {
	s, err := Generate("S", 3)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("synth-S-3.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s, back, ignoreLines); d != "" {
		t.Fatalf("round trip changed the site (-generated +parsed):\n%.3000s", d)
	}
	// Plain yaml.Marshal of the wrapper reads back the same too; Marshal
	// only changes the indentation.
	plain, err := yaml.Marshal(struct {
		Site *Site `yaml:"site"`
	}{s})
	if err != nil {
		t.Fatal(err)
	}
	back, err = Parse("synth-S-3-plain.yaml", plain)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s, back, ignoreLines); d != "" {
		t.Fatalf("yaml.Marshal round trip changed the site:\n%.3000s", d)
	}
}

// TestGenerateGolden pins the S site of seed 1: its figures and the hash of
// its site file. A change to the generator shows up here; rerun with
// -update when the change is intended.
func TestGenerateGolden(t *testing.T) {
	s, err := Generate("S", 1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s\nsite file sha256 %x (%d bytes)\n", statsOf(s), sha256.Sum256(data), len(data))
	path := filepath.Join("testdata", "synth-S-1.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("S seed 1 changed (-want +got):\n%s", d)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, p := range []string{"S", "M", "L"} {
		b.Run(p, func(b *testing.B) {
			var s *Site
			for b.Loop() {
				var err error
				if s, err = Generate(p, 1); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/1e6, "live_MB")
			st := statsOf(s)
			b.ReportMetric(float64(st.Rules), "rules")
			b.ReportMetric(float64(st.CapabilityRows), "capability_rows")
			b.ReportMetric(float64(st.Memberships), "memberships")
			b.ReportMetric(float64(st.Classes), "classes")
			b.ReportMetric(100*float64(st.Classes)/float64(st.Users), "classes_%users")
			b.Logf("%s seed 1:\n%s", p, st)
		})
	}
}

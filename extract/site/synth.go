package site

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// Sizes is the size of a synthetic site. Groups counts the All Users group.
// Views, tables and every other count are exact.
type Sizes struct {
	Users, Groups, Projects, Workbooks, Views, Datasources, Flows int

	VirtualConnections int
	GroupSets          int
	// Databases and Tables are lineage databases and tables; CustomSQL the
	// custom SQL queries over them.
	Databases, Tables, CustomSQL int
	// DatabaseItems of the lineage databases are also REST database assets
	// (Data Management); their tables are table items.
	DatabaseItems int

	Schedules, ExtractRefreshTasks, Jobs int
}

// PresetSizes returns the sizes of a preset: S, M or L (DESIGN.md §8; the
// counts after Flows are proportionate extras chosen here).
func PresetSizes(preset string) (Sizes, error) {
	switch strings.ToUpper(preset) {
	case "S":
		return Sizes{Users: 200, Groups: 30, Projects: 20, Workbooks: 100, Views: 600, Datasources: 40, Flows: 10,
			VirtualConnections: 3, GroupSets: 4, Databases: 8, Tables: 60, CustomSQL: 10, DatabaseItems: 2,
			Schedules: 6, ExtractRefreshTasks: 30, Jobs: 60}, nil
	case "M":
		return Sizes{Users: 5000, Groups: 400, Projects: 300, Workbooks: 2500, Views: 15000, Datasources: 800, Flows: 100,
			VirtualConnections: 40, GroupSets: 25, Databases: 60, Tables: 900, CustomSQL: 150, DatabaseItems: 12,
			Schedules: 20, ExtractRefreshTasks: 600, Jobs: 1500}, nil
	case "L":
		return Sizes{Users: 50000, Groups: 3000, Projects: 1500, Workbooks: 20000, Views: 120000, Datasources: 6000, Flows: 1000,
			VirtualConnections: 300, GroupSets: 150, Databases: 400, Tables: 7000, CustomSQL: 1200, DatabaseItems: 80,
			Schedules: 60, ExtractRefreshTasks: 5000, Jobs: 12000}, nil
	}
	return Sizes{}, fmt.Errorf("unknown size preset %q (want S, M or L)", preset)
}

// SyntheticNow is the instant synthetic sites are generated "at": last
// logins, creation dates and jobs lie before it, so that a site does not
// change with the wall clock.
func SyntheticNow() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) }

// Generate builds a synthetic site of a size preset (S, M, L) from a seed.
// The same preset and seed always give the same site: every draw comes from
// one PCG stream in a fixed order, and no map is ever iterated.
//
// The site looks like a real one an auditor would meet: a skewed role mix
// (mostly Viewers and Explorers, few administrators, some Unlicensed and
// legacy roles), Zipf-sized groups where most users share a department,
// region and team combination but a long tail holds unique ones, projects
// nested up to five levels with locked hierarchies, project defaults copied
// onto content with drift (user rules, Deny rules, All Users grants, group
// set rules), project leaders, owners who left or were demoted, workbooks
// whose views carry their own rules, and lineage from databases and tables
// (hr.salaries, finance.card_payments, crm.customers among them) through
// custom SQL, virtual connections, published and embedded data sources to
// sheets, dashboards and flows. The result passes Validate.
func Generate(preset string, seed int64) (*Site, error) {
	sz, err := PresetSizes(preset)
	if err != nil {
		return nil, err
	}
	g := &synth{
		r:   rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		sz:  sz,
		now: SyntheticNow(),
		s:   &Site{},
	}
	g.build()
	if err := g.s.Validate(); err != nil {
		return nil, fmt.Errorf("generated %s site (seed %d) is invalid: %w", preset, seed, err)
	}
	return g.s, nil
}

// synth holds the generator's working state; indexes into the Site's slices
// are kept instead of pointers because the slices grow.
type synth struct {
	r   *rand.Rand
	sz  Sizes
	now time.Time
	s   *Site

	// users
	publishers    []string // may own content: Creator, ExplorerCanPublish, admins, Publisher
	publisherPick *rand.Zipf
	demoted       []string // Viewer/Explorer/Unlicensed users: owners only through demotion
	gone          []string // owner ids of users who left the site

	// groups
	deptGroup   []string
	regionGroup []string
	teams       [][]string // per department
	teamPick    []*rand.Zipf
	adhoc       []string
	adhocPick   *rand.Zipf
	creators    string
	admins      string
	contractors string
	groupSets   []string
	deptSets    [][]string // group sets that involve a department

	// projects
	projDept   []int
	projLocked []bool // content is governed by a controlling project's defaults
	projPick   picker

	// lineage
	dbDomains  [][]string
	dbTables   [][]int // indexes into Lineage.Tables
	dbTabPick  []*rand.Zipf
	dbPick     *rand.Zipf
	tableCols  map[string][]string
	sensitive  map[string]bool
	csqlTables [][]string
	vcts       []string
	vctTables  [][]string
	vctVCName  []string
	dsID       []string
	dsName     []string
	dsTables   [][]string // every table a published datasource draws from, upstream included
	dsPick     *rand.Zipf
	warehouse  int // database index of the flow-output warehouse
	names      map[string]int
	fold       *strings.Replacer
}

func (g *synth) pct(p float64) bool { return g.r.Float64() < p }

// between returns an int in [lo, hi].
func (g *synth) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

func (g *synth) zipf(n int, s float64) *rand.Zipf {
	if n < 1 {
		n = 1
	}
	return rand.NewZipf(g.r, s, 1, uint64(n-1))
}

func pickZ(z *rand.Zipf) int { return int(z.Uint64()) }

func (g *synth) daysAgo(lo, hi int) *time.Time {
	t := g.now.Add(-time.Duration(g.between(lo*24*60, hi*24*60)) * time.Minute)
	return &t
}

// unique returns name, or name with a counter when scope+name was used.
func (g *synth) unique(scope, name string) string {
	k := scope + "\x00" + name
	n := g.names[k]
	g.names[k] = n + 1
	if n == 0 {
		return name
	}
	return fmt.Sprintf("%s (%d)", name, n+1)
}

// picker draws an index with probability proportional to its weight.
type picker struct{ cum []float64 }

func newPicker(w []float64) picker {
	cum := make([]float64, len(w))
	t := 0.0
	for i, x := range w {
		t += x
		cum[i] = t
	}
	return picker{cum}
}

func (p picker) pick(r *rand.Rand) int {
	x := r.Float64() * p.cum[len(p.cum)-1]
	return sort.Search(len(p.cum), func(i int) bool { return p.cum[i] > x })
}

// lognormal weights give the heavy-tailed sizes real sites show: a few huge
// projects and workbooks, many small ones.
func (g *synth) lognormal(n int, sigma float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Exp(g.r.NormFloat64() * sigma)
	}
	return w
}

func (g *synth) build() {
	g.names = map[string]int{}
	// Email addresses are ASCII.
	g.fold = strings.NewReplacer("ü", "u", "á", "a", "é", "e", "í", "i", "ó", "o", "ñ", "n", "ö", "o", "ä", "a", "'", "")
	s := g.s
	company := synthCompanies[g.r.IntN(len(synthCompanies))]
	s.Name = company + " Analytics"
	s.ContentURL = strings.ToLower(company)
	s.ID = s.ContentURL
	g.users()
	g.groups()
	g.projects()
	s.Lineage = &Lineage{}
	// Sized up front: the item and sheet lists are the bulk of an L site
	// and would otherwise be copied on every doubling.
	s.Items = make([]Item, 0, g.sz.VirtualConnections+g.sz.Datasources+g.sz.Flows+g.sz.Workbooks+g.sz.Views+g.sz.DatabaseItems+g.sz.Tables)
	s.Lineage.Sheets = make([]LSheet, 0, g.sz.Views+g.sz.Views/8)
	s.Lineage.EmbeddedDatasources = make([]LEmbeddedDatasource, 0, g.sz.Workbooks*3/2)
	g.databases()
	g.customSQL()
	g.virtualConnections()
	g.datasources()
	g.flows()
	g.workbooks()
	g.databaseItems()
	g.jobs()
}

// ---------------------------------------------------------------- users

var synthRoles = []struct {
	role string
	w    float64
}{
	{"Viewer", 42}, {"Explorer", 22}, {"ExplorerCanPublish", 8}, {"Creator", 12}, {"Unlicensed", 9},
	{"SiteAdministratorExplorer", 0.4}, {"SiteAdministratorCreator", 0.6},
	{"Interactor", 0.8}, {"Publisher", 0.5}, {"ViewerWithPublish", 0.3}, {"ReadOnly", 0.2}, {"UnlicensedWithPublish", 0.2},
}

func (g *synth) users() {
	s := g.s
	n := g.sz.Users
	w := make([]float64, len(synthRoles))
	for i, r := range synthRoles {
		w[i] = r.w
	}
	rolePick := newPicker(w)
	emails := map[string]int{}
	s.Users = make([]User, n)
	for i := range s.Users {
		var role string
		switch {
		case i == 0:
			role = "ServerAdministrator"
		case i == 1:
			role = "SiteAdministratorCreator"
		case i == 2 && n >= 1000:
			role = "Guest"
		case i == 3 && n >= 10000:
			role = "SupportUser"
		default:
			role = synthRoles[rolePick.pick(g.r)].role
		}
		first := synthFirst[g.r.IntN(len(synthFirst))]
		last := synthLast[g.r.IntN(len(synthLast))]
		domain := "example.com"
		full := first + " " + last
		if g.pct(0.03) {
			domain = "contractor.example"
			full += " (contractor)"
		}
		local := g.fold.Replace(strings.ToLower(first + "." + strings.ReplaceAll(last, "'", "")))
		if i == 0 {
			local, full = "tableau.admin", "Tableau Admin"
		}
		k := emails[local+"@"+domain]
		emails[local+"@"+domain] = k + 1
		if k > 0 {
			local = fmt.Sprintf("%s%d", local, k+1)
		}
		email := local + "@" + domain
		u := User{ID: fmt.Sprintf("u%05d", i+1), Role: role, Name: email, FullName: full, Email: email}
		if g.pct(0.7) {
			u.AuthSetting, u.Domain = "SAML", "EXAMPLE"
		} else {
			u.AuthSetting, u.Domain = "ServerDefault", "local"
		}
		never := 0.07
		if norm, _, _ := caps.NormaliseRole(role); norm == "Unlicensed" {
			never = 0.6
		}
		switch x := g.r.Float64(); {
		case x < never:
			// never signed in: LastLogin stays nil
		case x < never+0.13:
			u.LastLogin = g.daysAgo(181, 900)
		default:
			u.LastLogin = g.daysAgo(0, 90)
		}
		s.Users[i] = u
		switch norm, _, _ := caps.NormaliseRole(role); norm {
		case "Creator", "ExplorerCanPublish", "SiteAdministratorCreator", "SiteAdministratorExplorer", "ServerAdministrator":
			g.publishers = append(g.publishers, u.ID)
		case "Viewer", "Explorer", "Unlicensed":
			g.demoted = append(g.demoted, u.ID)
		}
	}
	// A few prolific owners, in random positions (not the first accounts,
	// which are the administrators).
	g.r.Shuffle(len(g.publishers), func(i, j int) { g.publishers[i], g.publishers[j] = g.publishers[j], g.publishers[i] })
	g.publisherPick = g.zipf(len(g.publishers), 1.05)
	for i := range n/50 + 2 {
		g.gone = append(g.gone, fmt.Sprintf("gone%04d", i+1))
	}
}

// owner picks a content or project owner: usually a publisher (a few are
// prolific), sometimes a user who left (ORPHAN_OWNER) or was demoted.
func (g *synth) owner() string {
	switch x := g.r.Float64(); {
	case x < 0.03:
		return g.gone[g.r.IntN(len(g.gone))]
	case x < 0.06 && len(g.demoted) > 0:
		return g.demoted[g.r.IntN(len(g.demoted))]
	}
	return g.publishers[pickZ(g.publisherPick)]
}

func (g *synth) anyUser() string { return g.s.Users[g.r.IntN(len(g.s.Users))].ID }

// ---------------------------------------------------------------- groups

func (g *synth) groups() {
	s := g.s
	total := g.sz.Groups - 1 // All Users is one of them
	nDept := min(max(total/5, 4), len(synthDepts))
	nRegion := min(5, len(synthRegions))
	fixed := 5
	rest := max(total-fixed-nDept-nRegion, 0)
	nTeam := rest * 7 / 10
	nAdhoc := rest - nTeam

	s.Groups = make([]Group, 0, g.sz.Groups)
	s.Groups = append(s.Groups, Group{ID: AllUsersID, Name: AllUsersName})
	add := func(name, domain string) string {
		id := fmt.Sprintf("g%04d", len(s.Groups))
		s.Groups = append(s.Groups, Group{ID: id, Name: name, Domain: domain})
		return id
	}
	g.creators = add("Tableau Creators", "")
	g.admins = add("Tableau Site Admins", "")
	g.contractors = add("Contractors", "")
	newHires := add("New Hires", "")
	s.Groups[len(s.Groups)-1].MinimumSiteRole, s.Groups[len(s.Groups)-1].LicenseMode = "Explorer", "onLogin"
	adViewers := add("AD Tableau Viewers", "EXAMPLE")
	s.Groups[len(s.Groups)-1].MinimumSiteRole, s.Groups[len(s.Groups)-1].LicenseMode = "Viewer", "onSync"
	for d := range nDept {
		g.deptGroup = append(g.deptGroup, add(synthDepts[d].name, "EXAMPLE"))
	}
	for i := range nRegion {
		g.regionGroup = append(g.regionGroup, add(synthRegions[i], "EXAMPLE"))
	}
	// Teams go to departments by a skewed share, so Sales and Operations
	// have many teams and Legal a handful. Each team sits in one region and
	// has a usual site role (licences follow jobs); AD-imported teams also
	// feed the AD viewers group.
	deptPick := g.zipf(nDept, 1.2)
	regionPick := newPicker([]float64{40, 30, 18, 8, 4}[:nRegion])
	teamRoles := []string{"Viewer", "Explorer", "ExplorerCanPublish", "Creator", "Unlicensed"}
	teamRolePick := newPicker([]float64{45, 25, 9, 13, 8})
	var teamID []string
	var teamDept, teamRegion []int
	var teamRole []string
	var teamAD []bool
	teamsByRole := map[string][]int{}
	g.teams = make([][]string, nDept)
	for range nTeam {
		d := pickZ(deptPick)
		k := len(g.teams[d])
		subs := synthDepts[d].teams
		name := synthDepts[d].name + " - " + subs[k%len(subs)]
		if c := k / len(subs); c > 0 {
			if c <= len(synthRegions) {
				name += " " + synthRegions[c-1]
			} else {
				name += fmt.Sprintf(" %d", c)
			}
		}
		domain := ""
		if g.pct(0.4) {
			domain = "EXAMPLE"
		}
		id := add(name, domain)
		if g.pct(0.03) {
			s.Groups[len(s.Groups)-1].MinimumSiteRole = "Explorer"
			s.Groups[len(s.Groups)-1].LicenseMode = []string{"onLogin", "onSync"}[g.r.IntN(2)]
		}
		g.teams[d] = append(g.teams[d], id)
		role := teamRoles[teamRolePick.pick(g.r)]
		teamsByRole[role] = append(teamsByRole[role], len(teamID))
		teamID = append(teamID, id)
		teamDept = append(teamDept, d)
		teamRegion = append(teamRegion, regionPick.pick(g.r))
		teamRole = append(teamRole, role)
		teamAD = append(teamAD, domain != "")
	}
	// Popular teams are spread over departments: the popularity rank is a
	// permutation of the team list.
	teamRank := g.r.Perm(len(teamID))
	teamPick := g.zipf(len(teamID), 1.05)
	roleTeamPick := map[string]*rand.Zipf{}
	for _, r := range teamRoles {
		roleTeamPick[r] = g.zipf(len(teamsByRole[r]), 1.05)
	}
	for i := range nAdhoc {
		name := synthAdhoc[i%len(synthAdhoc)]
		if c := i / len(synthAdhoc); c > 0 {
			name += fmt.Sprintf(" %d", c+1)
		}
		g.adhoc = append(g.adhoc, add(name, ""))
	}
	for d := range nDept {
		g.teamPick = append(g.teamPick, g.zipf(len(g.teams[d]), 1.3))
	}
	g.adhocPick = g.zipf(len(g.adhoc), 1.1)

	// Memberships: most users are in their department, region and one team,
	// so they share classes; extra ad-hoc groups make the long tail.
	idx := map[string]int{}
	for i := range s.Groups {
		idx[s.Groups[i].ID] = i
	}
	minRole := make([]string, len(s.Users))
	var mine []string
	for ui, u := range s.Users {
		mine = mine[:0]
		join := func(id string) {
			if id != "" && !slices.Contains(mine, id) {
				mine = append(mine, id)
			}
		}
		norm, _, _ := caps.NormaliseRole(u.Role)
		admin := caps.IsAdmin(u.Role)
		if norm == "ServerAdministrator" {
			// Server administrators need no group (spec §9.6).
			continue
		}
		// A user's team decides department and region; most users sit in
		// a team whose usual role is theirs.
		t := -1
		if len(teamID) > 0 {
			if ts := teamsByRole[norm]; len(ts) > 0 && g.pct(0.8) {
				t = ts[pickZ(roleTeamPick[norm])]
			} else {
				t = teamRank[pickZ(teamPick)]
			}
		}
		var d, rg int
		if t >= 0 {
			d, rg = teamDept[t], teamRegion[t]
		} else {
			d, rg = g.r.IntN(nDept), regionPick.pick(g.r)
		}
		if t >= 0 && g.pct(0.88) {
			join(teamID[t])
			if teamAD[t] {
				join(adViewers)
			}
			if g.pct(0.02) {
				join(teamID[g.r.IntN(len(teamID))])
			}
		}
		if g.pct(0.97) {
			join(g.deptGroup[d])
		}
		switch x := g.r.Float64(); {
		case x < 0.94:
			join(g.regionGroup[rg])
		case x < 0.97:
			join(g.regionGroup[g.r.IntN(nRegion)])
		}
		if (norm == "Creator" || norm == "SiteAdministratorCreator") && g.pct(0.9) {
			join(g.creators)
		}
		if admin {
			join(g.admins)
		}
		if strings.HasSuffix(u.Email, "@contractor.example") {
			join(g.contractors)
		}
		if (norm == "Unlicensed" && u.LastLogin == nil) || g.pct(0.005) {
			join(newHires)
			minRole[ui] = "Explorer"
		}
		if len(g.adhoc) > 0 && g.pct(0.08) {
			join(g.adhoc[pickZ(g.adhocPick)])
			for g.pct(0.35) {
				join(g.adhoc[pickZ(g.adhocPick)])
			}
		}
		for _, id := range mine {
			gi := idx[id]
			s.Groups[gi].Members = append(s.Groups[gi].Members, u.ID)
		}
		// The server's own summary of the grant-on-sign-in role, present
		// for some users (spec §9.3).
		if minRole[ui] != "" && g.pct(0.5) {
			s.Users[ui].GLSIMinimumSiteRole = minRole[ui]
		}
	}
	all := &s.Groups[0]
	for _, u := range s.Users {
		all.Members = append(all.Members, u.ID)
	}

	// Group sets: department ∩ region mostly, a few department ∩ team or
	// creators ∩ department, one three-way and one left empty after its
	// groups were deleted (matches nobody, spec §9.2).
	g.deptSets = make([][]string, nDept)
	for i := range g.sz.GroupSets {
		id := fmt.Sprintf("gs%03d", i+1)
		d := pickZ(deptPick)
		var groups []string
		var name string
		switch x := g.r.Float64(); {
		case i == g.sz.GroupSets-1 && i > 0:
			name = "Retired Cross-Team Access"
		case x < 0.6:
			rg := g.r.IntN(nRegion)
			groups = []string{g.deptGroup[d], g.regionGroup[rg]}
			name = synthDepts[d].name + " " + synthRegions[rg]
		case x < 0.8 && len(g.teams[d]) > 0:
			t := g.teams[d][pickZ(g.teamPick[d])]
			groups = []string{g.deptGroup[d], t}
			name = s.Groups[idx[t]].Name + " (core)"
		case x < 0.9:
			groups = []string{g.creators, g.deptGroup[d]}
			name = synthDepts[d].name + " Creators"
		default:
			rg := g.r.IntN(nRegion)
			groups = []string{g.deptGroup[d], g.regionGroup[rg], g.creators}
			name = synthDepts[d].name + " " + synthRegions[rg] + " Creators"
		}
		s.GroupSets = append(s.GroupSets, GroupSet{ID: id, Name: g.unique("groupset", name), Groups: groups})
		g.groupSets = append(g.groupSets, id)
		if len(groups) > 0 {
			g.deptSets[d] = append(g.deptSets[d], id)
		}
	}
}

func (g *synth) team(d int) string {
	if d < 0 || len(g.teams[d]) == 0 {
		return ""
	}
	return g.teams[d][pickZ(g.teamPick[d])]
}

func (g *synth) groupSet(d int) string {
	if d >= 0 && len(g.deptSets[d]) > 0 {
		return g.deptSets[d][g.r.IntN(len(g.deptSets[d]))]
	}
	if len(g.groupSets) == 0 {
		return ""
	}
	return g.groupSets[g.r.IntN(len(g.groupSets))]
}

// ---------------------------------------------------------------- rules

// onType keeps the capabilities that exist on a content type.
func onType(typ string, cs ...string) []string {
	var out []string
	for _, c := range cs {
		if caps.Applies(typ, c) {
			out = append(out, c)
		}
	}
	return out
}

// addRule appends r unless its grantee already has a rule in the list: REST
// returns one grantee capabilities element per grantee.
func addRule(rs []Rule, r Rule) []Rule {
	if r.Grantee == "" || r.Grantee == "group:" || r.Grantee == "user:" || r.Grantee == "groupset:" {
		return rs
	}
	for _, x := range rs {
		if x.Grantee == r.Grantee {
			return rs
		}
	}
	return append(rs, r)
}

// allowOn adds capability c to the grantee's rule, creating the rule if
// the grantee has none.
func allowOn(rs []Rule, grantee, c string) []Rule {
	for i := range rs {
		if rs[i].Grantee == grantee {
			if !slices.Contains(rs[i].Allow, c) {
				rs[i].Allow = append(slices.Clone(rs[i].Allow), c)
			}
			return rs
		}
	}
	return append(rs, Rule{Grantee: grantee, Allow: []string{c}})
}

func cloneRules(rs []Rule) []Rule {
	if rs == nil {
		return nil
	}
	out := make([]Rule, len(rs))
	for i, r := range rs {
		out[i] = Rule{Grantee: r.Grantee, Template: r.Template, Allow: slices.Clone(r.Allow), Deny: slices.Clone(r.Deny)}
	}
	return out
}

var downloadCaps = []string{"ExportData", "ViewUnderlyingData", "ExportXml"}

func (g *synth) projectRules(p int) []Rule {
	d := g.projDept[p]
	var rs []Rule
	if d >= 0 {
		rs = addRule(rs, Rule{Grantee: "group:" + g.deptGroup[d], Template: "View"})
		if g.pct(0.3) {
			rs = addRule(rs, Rule{Grantee: "group:" + g.team(d), Template: "Publish"})
		}
	} else {
		rs = addRule(rs, Rule{Grantee: "group:" + AllUsersID, Template: "View"})
	}
	if g.pct(0.3) {
		rs = addRule(rs, Rule{Grantee: "group:" + g.creators, Template: "Publish"})
	}
	if d >= 0 && g.pct(0.08) {
		rs = addRule(rs, Rule{Grantee: "group:" + AllUsersID, Template: "View"})
	}
	if g.pct(0.15) {
		leader := g.team(d)
		if leader == "" && d >= 0 {
			leader = g.deptGroup[d]
		}
		if leader == "" {
			leader = g.creators
		}
		rs = addRule(rs, Rule{Grantee: "group:" + leader, Template: "Publish", Allow: []string{"ProjectLeader"}})
	}
	if g.pct(0.1) {
		rs = addRule(rs, Rule{Grantee: "user:" + g.publishers[pickZ(g.publisherPick)], Template: "Publish", Allow: []string{"ProjectLeader"}})
	}
	if g.pct(0.04) {
		rs = addRule(rs, Rule{Grantee: "group:" + g.contractors, Template: "Denied"})
	}
	if g.pct(0.05) {
		rs = addRule(rs, Rule{Grantee: "groupset:" + g.groupSet(d), Template: "View"})
	}
	if g.pct(0.05) {
		rs = addRule(rs, Rule{Grantee: "user:" + g.anyUser(), Template: "View"})
	}
	if g.pct(0.01) && len(g.adhoc) > 0 {
		// The legacy way of taking leadership away (spec §8.4).
		rs = addRule(rs, Rule{Grantee: "group:" + g.adhoc[pickZ(g.adhocPick)], Deny: []string{"ProjectLeader"}})
	}
	return rs
}

// contentRules is what a project's defaults (or a fresh item) grant on a
// content type: the department explores, a team publishes, and now and
// then the patterns auditors look for.
func (g *synth) contentRules(p int, typ string) []Rule {
	d := g.projDept[p]
	var rs []Rule
	main := "Explore"
	if typ != caps.Workbook && g.pct(0.5) {
		main = "View"
	}
	if d >= 0 {
		r := Rule{Grantee: "group:" + g.deptGroup[d], Template: main}
		if g.pct(0.12) {
			r.Deny = onType(typ, downloadCaps...)
		}
		rs = addRule(rs, r)
		if g.pct(0.35) {
			rs = addRule(rs, Rule{Grantee: "group:" + g.team(d), Template: "Publish"})
		}
	}
	if g.pct(0.25) {
		rs = addRule(rs, Rule{Grantee: "group:" + g.creators, Template: "Publish"})
	}
	// The Default project keeps Tableau's out-of-the-box All Users grant;
	// other shared areas usually do.
	if (d < 0 && (p == 0 || g.pct(0.6))) || g.pct(0.08) {
		r := Rule{Grantee: "group:" + AllUsersID, Template: "View"}
		if g.pct(0.2) {
			r.Deny = onType(typ, downloadCaps...)
		}
		rs = addRule(rs, r)
	} else if g.pct(0.04) {
		// "Nobody downloads": a Deny to All Users that only user Allows
		// and special positions get past (spec §9.1).
		rs = addRule(rs, Rule{Grantee: "group:" + AllUsersID, Deny: onType(typ, "ExportData", "ViewUnderlyingData", "ExportXml", "Write")})
	}
	if g.pct(0.08) {
		if g.pct(0.5) {
			rs = addRule(rs, Rule{Grantee: "group:" + g.contractors, Template: "Denied"})
		} else {
			rs = addRule(rs, Rule{Grantee: "group:" + g.contractors, Template: "View", Deny: onType(typ, downloadCaps...)})
		}
	}
	if g.pct(0.08) {
		rs = addRule(rs, Rule{Grantee: "user:" + g.publishers[pickZ(g.publisherPick)], Template: "Administer"})
	}
	if g.pct(0.05) {
		rs = addRule(rs, Rule{Grantee: "groupset:" + g.groupSet(d), Template: "View"})
	}
	if g.pct(0.03) && len(g.adhoc) > 0 {
		rs = addRule(rs, Rule{Grantee: "group:" + g.adhoc[pickZ(g.adhocPick)], Deny: onType(typ, "Read")})
	}
	if g.pct(0.03) {
		rs = addRule(rs, Rule{Grantee: "group:" + g.regionGroup[g.r.IntN(len(g.regionGroup))], Template: "View"})
	}
	return rs
}

// drift adds what happens to an item's rules after publishing: a grant to
// one person, All Users, a Deny, a group set.
func (g *synth) drift(p int, typ string, rs []Rule) []Rule {
	d := g.projDept[p]
	if g.pct(0.12) {
		r := Rule{Grantee: "user:" + g.anyUser(), Template: []string{"View", "Explore"}[g.r.IntN(2)]}
		if g.pct(0.3) {
			r = Rule{Grantee: r.Grantee, Allow: onType(typ, "Read", "Connect", "ExportData", "ViewUnderlyingData", "Execute")}
		}
		rs = addRule(rs, r)
	}
	if g.pct(0.04) {
		rs = addRule(rs, Rule{Grantee: "group:" + AllUsersID, Template: "View"})
	}
	if g.pct(0.04) {
		t := g.team(d)
		if t == "" {
			t = g.contractors
		}
		rs = addRule(rs, Rule{Grantee: "group:" + t, Deny: onType(typ, "ExportData", "Read")})
	}
	if g.pct(0.03) {
		rs = addRule(rs, Rule{Grantee: "groupset:" + g.groupSet(d), Template: "Explore"})
	}
	if g.pct(0.01) {
		rs = addRule(rs, Rule{Grantee: "user:" + g.anyUser(), Deny: onType(typ, "Read")})
	}
	return rs
}

// itemRules returns the rules stored on an item published into project p.
// In a locked project the item's own list plays no part (spec §7.3); most
// carry none, a few keep stale rules from before the lock.
func (g *synth) itemRules(p int, typ string) []Rule {
	proj := &g.s.Projects[p]
	if g.projLocked[p] {
		if g.pct(0.06) {
			return g.drift(p, typ, cloneRules(proj.Defaults[typ]))
		}
		return nil
	}
	base := proj.Defaults[typ]
	if base == nil {
		return g.drift(p, typ, g.contentRules(p, typ))
	}
	return g.drift(p, typ, cloneRules(base))
}

// ---------------------------------------------------------------- projects

func (g *synth) projects() {
	s := g.s
	n := g.sz.Projects
	s.Projects = make([]Project, 0, n)
	depth := make([]int, 0, n)
	ctrl := make([]int, 0, n)
	idx := map[string]int{}
	nDept := len(g.deptGroup)
	newProject := func(name string, parent, dept int) int {
		p := Project{ID: fmt.Sprintf("p%04d", len(s.Projects)+1), Owner: g.owner()}
		p.CreatedAt = g.daysAgo(200, 2500)
		up := g.now.Sub(*p.CreatedAt)
		t := p.CreatedAt.Add(time.Duration(g.r.Int64N(int64(up/time.Minute)+1)) * time.Minute)
		p.UpdatedAt = &t
		dp := 0
		scope := ""
		if parent >= 0 {
			p.Parent = s.Projects[parent].ID
			dp = depth[parent] + 1
			scope = p.Parent
		}
		p.Name = g.unique("project:"+scope, name)
		if g.pct(0.3) {
			p.Description = synthProjectDesc[g.r.IntN(len(synthProjectDesc))]
		}
		s.Projects = append(s.Projects, p)
		depth = append(depth, dp)
		g.projDept = append(g.projDept, dept)
		idx[p.ID] = len(s.Projects) - 1
		return len(s.Projects) - 1
	}
	// Top level: Default, the departments, shared areas, then regional
	// department projects on large sites.
	type top struct {
		name string
		dept int
	}
	newProject("Default", -1, -1)
	var tops []top
	for d := range nDept {
		tops = append(tops, top{synthDepts[d].name, d})
	}
	tops = append(tops, top{"Sandbox", -1}, top{"Shared Data Sources", -1}, top{"Archive", -1}, top{"Certified Data", -1})
	for _, rg := range synthRegions {
		for d := range nDept {
			tops = append(tops, top{synthDepts[d].name + " " + rg, d})
		}
	}
	nTop := min(n, max(n/8, nDept+2), len(tops)+1)
	for i := 0; len(s.Projects) < nTop; i++ {
		newProject(tops[i].name, -1, tops[i].dept)
	}
	// One chain five levels deep under the first department, so every
	// preset has the deepest nesting Tableau sites commonly show.
	if len(s.Projects) > 1 && n-len(s.Projects) >= 4 {
		parent := 1
		for _, name := range []string{"Reports", "EMEA", "FY26 Planning", "Drafts"} {
			parent = newProject(name, parent, g.projDept[parent])
		}
	}
	for len(s.Projects) < n {
		// Shallow parents are likelier; depth stops at five levels.
		parent := g.r.IntN(len(s.Projects))
		if depth[parent] >= 4 || !g.pct(math.Pow(0.55, float64(depth[parent]))) {
			continue
		}
		name := synthSubProjects[g.r.IntN(len(synthSubProjects))]
		if d := g.projDept[parent]; d >= 0 && g.pct(0.25) {
			ts := synthDepts[d].teams
			name = ts[g.r.IntN(len(ts))]
		}
		newProject(name, parent, g.projDept[parent])
	}
	// Lock modes, controlling projects, then rules: a project under a
	// LockedToProject ancestor reports the lock and its root's rules, as
	// Tableau shows them (spec §7.2).
	g.projLocked = make([]bool, n)
	for i := range s.Projects {
		p := &s.Projects[i]
		ctrl = append(ctrl, i)
		if p.Parent != "" {
			pi := idx[p.Parent]
			if c := ctrl[pi]; s.Projects[c].ContentPermissions == "LockedToProject" {
				ctrl[i] = c
				p.ContentPermissions = "LockedToProject"
				p.Rules = cloneRules(s.Projects[c].Rules)
				p.Defaults = cloneDefaults(s.Projects[c].Defaults)
				g.projLocked[i] = true
				continue
			}
		}
		pl, pn := 0.12, 0.08
		if p.Parent == "" {
			pl, pn = 0.2, 0.1
		}
		if i == 0 {
			pl, pn = 0, 0
		}
		switch x := g.r.Float64(); {
		case x < pl:
			p.ContentPermissions = "LockedToProject"
		case x < pl+pn:
			p.ContentPermissions = "LockedToProjectWithoutNested"
		default:
			p.ContentPermissions = "ManagedByOwner"
		}
		g.projLocked[i] = p.ContentPermissions != "ManagedByOwner"
		p.Rules = g.projectRules(i)
		// Leadership patterns appear on every site, whatever the draws:
		// top-level projects 1-3 are never under another's lock.
		switch i {
		case 1:
			p.Rules = allowOn(p.Rules, "group:"+g.deptGroup[g.projDept[i]], "ProjectLeader")
		case 2:
			p.Rules = addRule(p.Rules, Rule{Grantee: "user:" + g.publishers[pickZ(g.publisherPick)], Template: "Publish", Allow: []string{"ProjectLeader"}})
		case 3:
			if len(g.adhoc) > 0 {
				p.Rules = addRule(p.Rules, Rule{Grantee: "group:" + g.adhoc[len(g.adhoc)-1], Deny: []string{"ProjectLeader"}})
			}
		}
		if p.Parent != "" && g.pct(0.7) {
			// New nested projects copy their parent's defaults (spec §7.5).
			p.Defaults = cloneDefaults(s.Projects[idx[p.Parent]].Defaults)
		}
		if p.Defaults == nil {
			p.Defaults = map[string][]Rule{}
			set := func(t string) {
				// An empty list would not survive a trip through YAML.
				if rs := g.contentRules(i, t); len(rs) > 0 {
					p.Defaults[t] = rs
				}
			}
			for _, t := range []string{caps.Workbook, caps.Datasource, caps.Flow} {
				set(t)
			}
			if g.pct(0.4) {
				set(caps.VirtualConnection)
			}
			if g.pct(0.1) {
				set(caps.Lens)
				set(caps.Metric)
			}
			if g.pct(0.05) {
				set(caps.DataRole)
			}
			if len(p.Defaults) == 0 {
				p.Defaults = nil
			}
		}
	}
	g.projPick = newPicker(g.lognormal(n, 1.3))
}

func cloneDefaults(m map[string][]Rule) map[string][]Rule {
	if m == nil {
		return nil
	}
	out := make(map[string][]Rule, len(m))
	for t, rs := range m {
		out[t] = cloneRules(rs)
	}
	return out
}

// ---------------------------------------------------------------- items

func (g *synth) newItem(typ, id, name string, p int) Item {
	it := Item{ID: id, Type: typ, Project: g.s.Projects[p].ID, Owner: g.owner()}
	it.Name = g.unique(typ+":"+it.Project, name)
	it.CreatedAt = g.daysAgo(1, 1800)
	up := g.now.Sub(*it.CreatedAt)
	t := it.CreatedAt.Add(time.Duration(g.r.Int64N(int64(up/time.Minute)+1)) * time.Minute)
	it.UpdatedAt = &t
	it.SizeBytes = int64(math.Exp(13+g.r.NormFloat64()*1.5)) + 1024
	it.Rules = g.itemRules(p, typ)
	it.Tags = g.tags()
	return it
}

func (g *synth) tags() []string {
	var tags []string
	for g.pct(0.35) && len(tags) < 4 {
		t := synthTags[g.r.IntN(len(synthTags))]
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if g.pct(0.05) && !slices.Contains(tags, "confidential") {
		tags = append(tags, "confidential")
	}
	return tags
}

func (g *synth) markConfidential(it *Item, tables []string) {
	for _, t := range tables {
		if g.sensitive[t] {
			if !slices.Contains(it.Tags, "confidential") && g.pct(0.2) {
				it.Tags = append(it.Tags, "confidential")
			}
			if !slices.Contains(it.Tags, "pii") && g.pct(0.15) {
				it.Tags = append(it.Tags, "pii")
			}
			return
		}
	}
}

func (g *synth) virtualConnections() {
	s := g.s
	for i := range g.sz.VirtualConnections {
		id := fmt.Sprintf("vc%03d", i+1)
		db := pickZ(g.dbPick)
		name := synthVCNames[i%len(synthVCNames)]
		if c := i / len(synthVCNames); c > 0 {
			name += fmt.Sprintf(" %d", c+1)
		}
		it := g.newItem(caps.VirtualConnection, id, name, g.projPick.pick(g.r))
		s.Items = append(s.Items, it)
		for k := range g.between(1, 4) {
			vid := fmt.Sprintf("%s-t%d", id, k+1)
			tabs := g.tablesOf(db, g.between(1, 2))
			s.Lineage.VirtualConnectionTables = append(s.Lineage.VirtualConnectionTables, LVirtualConnectionTbl{
				ID: vid, VirtualConnection: id, Name: g.tableName(tabs[0]), Tables: tabs})
			g.vcts = append(g.vcts, vid)
			g.vctTables = append(g.vctTables, tabs)
			g.vctVCName = append(g.vctVCName, it.Name)
		}
	}
}

func (g *synth) datasources() {
	s := g.s
	l := s.Lineage
	for i := range g.sz.Datasources {
		id := fmt.Sprintf("ds%04d", i+1)
		pd := LPublishedDatasource{Item: id}
		var tables []string
		vcName := ""
		addT := func(ts ...string) {
			for _, t := range ts {
				if !slices.Contains(tables, t) {
					tables = append(tables, t)
				}
			}
		}
		switch x := g.r.Float64(); {
		case x < 0.5:
			pd.Tables = g.tablesOf(pickZ(g.dbPick), g.between(1, 4))
			addT(pd.Tables...)
		case x < 0.62 && len(l.CustomSQL) > 0:
			q := g.r.IntN(len(l.CustomSQL))
			pd.CustomSQL = []string{l.CustomSQL[q].ID}
			addT(g.csqlTables[q]...)
			if g.pct(0.3) {
				pd.Tables = g.tablesOf(g.dbIndex(l.CustomSQL[q].Database), 1)
				addT(pd.Tables...)
			}
		case x < 0.72 && len(g.vcts) > 0:
			for range g.between(1, 2) {
				v := g.r.IntN(len(g.vcts))
				if len(pd.VirtualConnectionTables) == 0 {
					vcName = g.vctVCName[v]
				}
				if !slices.Contains(pd.VirtualConnectionTables, g.vcts[v]) {
					pd.VirtualConnectionTables = append(pd.VirtualConnectionTables, g.vcts[v])
					addT(g.vctTables[v]...)
				}
			}
		case x < 0.8:
			pd.Tables = append(g.tablesOf(pickZ(g.dbPick), g.between(1, 2)), g.tablesOf(g.r.IntN(len(l.Databases)), 1)...)
			pd.Tables = slices.Compact(pd.Tables)
			addT(pd.Tables...)
		case x < 0.9 && i > 0:
			// Chained: a published source built on earlier ones.
			for range g.between(1, 2) {
				up := g.r.IntN(i)
				if !slices.Contains(pd.Datasources, g.dsID[up]) {
					pd.Datasources = append(pd.Datasources, g.dsID[up])
					addT(g.dsTables[up]...)
				}
			}
			if g.pct(0.4) {
				pd.Tables = g.tablesOf(pickZ(g.dbPick), 1)
				addT(pd.Tables...)
			}
		default:
			// Built on what the flows write.
			pd.Tables = g.tablesOf(g.warehouse, g.between(1, 2))
			addT(pd.Tables...)
		}
		name := g.nameFromTables(tables)
		if vcName != "" {
			name = vcName + " - " + name
		}
		if g.pct(0.15) {
			name += []string{" (Extract)", " - Certified", " Live", " v2"}[g.r.IntN(4)]
		}
		it := g.newItem(caps.Datasource, id, name, g.projPick.pick(g.r))
		it.Certified = g.pct(0.15)
		it.HasExtracts = g.pct(0.45)
		if it.Certified && !slices.Contains(it.Tags, "certified") {
			it.Tags = append(it.Tags, "certified")
		}
		g.markConfidential(&it, tables)
		s.Items = append(s.Items, it)
		l.PublishedDatasources = append(l.PublishedDatasources, pd)
		g.dsID = append(g.dsID, id)
		g.dsName = append(g.dsName, it.Name)
		g.dsTables = append(g.dsTables, tables)
	}
	g.dsPick = g.zipf(len(g.dsID), 1.1)
}

func (g *synth) flows() {
	s := g.s
	for i := range g.sz.Flows {
		id := fmt.Sprintf("fl%04d", i+1)
		var in []string
		for range g.between(1, 4) {
			t := g.tablesOf(pickZ(g.dbPick), 1)[0]
			if !slices.Contains(in, t) {
				in = append(in, t)
			}
		}
		out := g.tablesOf(g.warehouse, g.between(1, 2))
		if g.pct(0.1) {
			out = append(out, g.tablesOf(pickZ(g.dbPick), 1)...)
			out = slices.Compact(out)
		}
		it := g.newItem(caps.Flow, id, "Prep "+g.nameFromTables(out), g.projPick.pick(g.r))
		s.Items = append(s.Items, it)
		s.Lineage.Flows = append(s.Lineage.Flows, LFlow{Item: id, InputTables: in, OutputTables: out})
	}
}

// workbooks adds workbooks, their views, embedded datasources, sheets and
// dashboards. Views per workbook follow a heavy tail with an exact total.
func (g *synth) workbooks() {
	s := g.s
	l := s.Lineage
	nw := g.sz.Workbooks
	nViews := make([]int, nw)
	for i := range nViews {
		nViews[i] = 1
	}
	vp := newPicker(g.lognormal(nw, 0.9))
	for range g.sz.Views - nw {
		nViews[vp.pick(g.r)]++
	}
	viewN := 0
	sheetN := 0
	for w := range nw {
		p := g.projPick.pick(g.r)
		d := g.projDept[p]
		if d < 0 {
			d = g.r.IntN(len(g.deptGroup))
		}
		topics := synthDepts[d].topics
		name := topics[g.r.IntN(len(topics))]
		if k := synthWBKinds[g.r.IntN(len(synthWBKinds))]; k != "" {
			name += " " + k
		}
		if sfx := synthWBSuffix[g.r.IntN(len(synthWBSuffix))]; sfx != "" {
			name += " " + sfx
		}
		id := fmt.Sprintf("wb%05d", w+1)
		wb := g.newItem(caps.Workbook, id, name, p)
		tabs := g.pct(0.75)
		wb.ShowTabs = &tabs
		wb.HasExtracts = g.pct(0.3)
		if g.pct(0.2) {
			wb.Description = "Maintained by " + synthDepts[d].name + " analytics."
		}
		// Embedded datasources.
		var eIDs []string
		var eTables [][]string
		for k := range []int{1, 1, 1, 1, 1, 1, 2, 2, 2, 3}[g.r.IntN(10)] {
			e := LEmbeddedDatasource{ID: fmt.Sprintf("%s-e%d", id, k+1), Workbook: id}
			var tables []string
			switch x := g.r.Float64(); {
			case x < 0.55:
				ds := pickZ(g.dsPick)
				e.Published = []string{g.dsID[ds]}
				e.Name = g.dsName[ds]
				tables = slices.Clone(g.dsTables[ds])
				if g.pct(0.08) {
					ds2 := g.r.IntN(len(g.dsID))
					if ds2 != ds {
						e.Published = append(e.Published, g.dsID[ds2])
						for _, t := range g.dsTables[ds2] {
							if !slices.Contains(tables, t) {
								tables = append(tables, t)
							}
						}
					}
				}
			case x < 0.85 || len(l.CustomSQL) == 0:
				e.Tables = g.tablesOf(pickZ(g.dbPick), g.between(1, 3))
				e.Name = g.nameFromTables(e.Tables)
				tables = e.Tables
			default:
				q := g.r.IntN(len(l.CustomSQL))
				e.CustomSQL = []string{l.CustomSQL[q].ID}
				e.Name = "Custom SQL Query"
				tables = g.csqlTables[q]
			}
			l.EmbeddedDatasources = append(l.EmbeddedDatasources, e)
			eIDs = append(eIDs, e.ID)
			eTables = append(eTables, tables)
			g.markConfidential(&wb, tables)
		}
		s.Items = append(s.Items, wb)
		// Views: the first is always a sheet; later ones may be dashboards.
		nv := nViews[w]
		isDash := make([]bool, nv)
		for v := 1; v < nv; v++ {
			isDash[v] = g.pct(0.2)
		}
		var sheets []string
		var dashViews []int
		vBase := len(s.Items)
		for v := range nv {
			viewN++
			vid := fmt.Sprintf("v%06d", viewN)
			pool := synthSheetNames
			if isDash[v] {
				pool = synthDashNames
			}
			view := Item{ID: vid, Type: caps.View, Workbook: id, CreatedAt: wb.CreatedAt, UpdatedAt: wb.UpdatedAt}
			view.Name = g.unique("view:"+id, pool[g.r.IntN(len(pool))])
			if !isDash[v] && v > 0 && g.pct(0.02) {
				view.Hidden = true
			}
			if g.pct(0.03) {
				view.Tags = []string{synthTags[g.r.IntN(len(synthTags))]}
			}
			if !tabs && !g.projLocked[p] {
				// Tabs off: each view starts with a copy of the workbook's
				// rules and then drifts on its own (spec §7.4).
				for _, r := range wb.Rules {
					vr := Rule{Grantee: r.Grantee, Template: r.Template, Allow: onType(caps.View, r.Allow...), Deny: onType(caps.View, r.Deny...)}
					if vr.Template == "" && vr.Allow == nil && vr.Deny == nil {
						continue
					}
					view.Rules = append(view.Rules, vr)
				}
				if g.pct(0.15) {
					switch g.r.IntN(3) {
					case 0:
						view.Rules = addRule(view.Rules, Rule{Grantee: "user:" + g.anyUser(), Template: "View"})
					case 1:
						view.Rules = addRule(view.Rules, Rule{Grantee: "group:" + g.team(g.projDept[p]), Deny: []string{"Read"}})
					default:
						view.Rules = addRule(view.Rules, Rule{Grantee: "group:" + AllUsersID, Allow: []string{"Read", "Filter"}})
					}
				}
			}
			s.Items = append(s.Items, view)
			if isDash[v] {
				dashViews = append(dashViews, v)
				continue
			}
			sheetN++
			sh := g.sheet(fmt.Sprintf("s%06d", sheetN), id, view.Name, vid, eIDs, eTables)
			l.Sheets = append(l.Sheets, sh)
			sheets = append(sheets, sh.ID)
		}
		for dn, v := range dashViews {
			db := LDashboard{ID: fmt.Sprintf("%s-d%d", id, dn+1), Workbook: id, Name: s.Items[vBase+v].Name, View: s.Items[vBase+v].ID}
			for range g.between(1, min(4, len(sheets))) {
				sh := sheets[g.r.IntN(len(sheets))]
				if !slices.Contains(db.Sheets, sh) {
					db.Sheets = append(db.Sheets, sh)
				}
			}
			if g.pct(0.35) {
				// Hidden sheets: not views, reachable only through the
				// dashboard (spec/metadata-api.md §3).
				for range g.between(1, 2) {
					sheetN++
					sh := g.sheet(fmt.Sprintf("s%06d", sheetN), id, synthSheetNames[g.r.IntN(len(synthSheetNames))]+" (hidden)", "", eIDs, eTables)
					l.Sheets = append(l.Sheets, sh)
					db.Sheets = append(db.Sheets, sh.ID)
				}
			}
			l.Dashboards = append(l.Dashboards, db)
		}
	}
}

// sheet draws from one or two of the workbook's embedded datasources and
// uses a subset of the tables and columns behind them (field-level lineage).
func (g *synth) sheet(id, wb, name, view string, eIDs []string, eTables [][]string) LSheet {
	sh := LSheet{ID: id, Workbook: wb, Name: name, View: view}
	k := g.r.IntN(len(eIDs))
	sh.Datasources = []string{eIDs[k]}
	avail := slices.Clone(eTables[k])
	if len(eIDs) > 1 && g.pct(0.2) {
		k2 := (k + 1) % len(eIDs)
		sh.Datasources = append(sh.Datasources, eIDs[k2])
		for _, t := range eTables[k2] {
			if !slices.Contains(avail, t) {
				avail = append(avail, t)
			}
		}
	}
	if len(avail) == 0 {
		return sh
	}
	for range g.between(1, min(3, len(avail))) {
		t := avail[g.r.IntN(len(avail))]
		if slices.Contains(sh.Tables, t) {
			continue
		}
		sh.Tables = append(sh.Tables, t)
		if g.pct(0.8) {
			cols := g.tableCols[t]
			for range g.between(1, min(3, len(cols))) {
				c := t + "." + cols[g.r.IntN(len(cols))]
				if !slices.Contains(sh.Columns, c) {
					sh.Columns = append(sh.Columns, c)
				}
			}
		}
	}
	return sh
}

// databaseItems registers the first lineage databases as REST database
// assets, their tables as table items; half lock table permissions to the
// database.
func (g *synth) databaseItems() {
	s := g.s
	l := s.Lineage
	for i := range min(g.sz.DatabaseItems, len(l.Databases)) {
		ld := l.Databases[i]
		d := g.r.IntN(len(g.deptGroup))
		steward := g.publishers[pickZ(g.publisherPick)]
		it := Item{ID: ld.ID, Type: caps.Database, Name: ld.Name, Owner: g.owner(), Description: "Registered in Tableau Catalog."}
		it.CreatedAt = g.daysAgo(30, 900)
		it.Rules = []Rule{{Grantee: "group:" + g.deptGroup[d], Template: "View"}, {Grantee: "user:" + steward, Template: "Administer"}}
		if g.pct(0.2) {
			it.Rules = addRule(it.Rules, Rule{Grantee: "group:" + AllUsersID, Template: "View"})
		}
		locked := i%2 == 0
		tableRules := func() []Rule {
			rs := []Rule{{Grantee: "group:" + g.deptGroup[d], Template: "View"}}
			if g.pct(0.3) {
				rs = addRule(rs, Rule{Grantee: "user:" + g.anyUser(), Allow: []string{"Read"}})
			}
			if g.pct(0.1) {
				rs = addRule(rs, Rule{Grantee: "group:" + g.contractors, Deny: []string{"Read"}})
			}
			return rs
		}
		if locked {
			it.ContentPermissions = "LockedToDatabase"
			it.Defaults = map[string][]Rule{caps.Table: tableRules()}
		} else {
			it.ContentPermissions = "ManagedByOwner"
		}
		s.Items = append(s.Items, it)
		for _, ti := range g.dbTables[i] {
			lt := l.Tables[ti]
			t := Item{ID: lt.ID, Type: caps.Table, Name: lt.Name, Database: ld.ID, Owner: it.Owner, CreatedAt: it.CreatedAt}
			if !locked || g.pct(0.05) {
				t.Rules = tableRules()
			}
			if g.sensitive[lt.ID] {
				t.Tags = []string{"pii"}
			}
			s.Items = append(s.Items, t)
		}
	}
}

// ---------------------------------------------------------------- lineage

func (g *synth) dbIndex(id string) int {
	for i, d := range g.s.Lineage.Databases {
		if d.ID == id {
			return i
		}
	}
	return 0
}

type synthDB struct {
	name, ctype, host string
	port              int
	domains           []string
}

var synthFixedDBs = []synthDB{
	{"hr", "postgres", "hr-db.example.internal", 5432, []string{"hr"}},
	{"payments", "snowflake", "example-payments.snowflakecomputing.com", 443, []string{"finance"}},
	{"crm", "sqlserver", "crm-sql.example.internal", 1433, []string{"crm", "sales"}},
	{"warehouse", "snowflake", "example.snowflakecomputing.com", 443, []string{"analytics"}},
}

var synthConnTypes = []struct {
	ctype string
	port  int
}{
	{"postgres", 5432}, {"sqlserver", 1433}, {"snowflake", 443}, {"redshift", 5439}, {"bigquery", 0},
	{"mysql", 3306}, {"oracle", 1521}, {"databricks", 443}, {"excel-direct", 0}, {"textscan", 0},
}

func (g *synth) databases() {
	l := g.s.Lineage
	nDB := max(g.sz.Databases, len(synthFixedDBs))
	g.tableCols = map[string][]string{}
	g.sensitive = map[string]bool{}
	g.dbTables = make([][]int, nDB)
	used := map[string]bool{}
	for i := range nDB {
		var spec synthDB
		if i < len(synthFixedDBs) {
			spec = synthFixedDBs[i]
			g.unique("database", spec.name) // reserve the name
		} else {
			dom := synthSchemas[g.r.IntN(len(synthSchemas))].schema
			spec.domains = []string{dom}
			if g.pct(0.3) {
				if d2 := synthSchemas[g.r.IntN(len(synthSchemas))].schema; d2 != dom {
					spec.domains = append(spec.domains, d2)
				}
			}
			ct := synthConnTypes[g.r.IntN(len(synthConnTypes))]
			spec.ctype, spec.port = ct.ctype, ct.port
			spec.name = g.unique("database", dom+[]string{"_dw", "_mart", "_prod", "_reporting", "_replica", ""}[g.r.IntN(6)])
			spec.host = strings.ReplaceAll(spec.name, "_", "-") + "." + spec.ctype + ".example.internal"
		}
		d := LDatabase{ID: fmt.Sprintf("db%03d", i+1), Name: spec.name, ConnectionType: spec.ctype}
		switch spec.ctype {
		case "excel-direct":
			d.FilePath = "//files.example.internal/shares/" + spec.domains[0] + "/" + spec.name + ".xlsx"
		case "textscan":
			d.FilePath = "//files.example.internal/exports/" + spec.name + ".csv"
		case "bigquery":
			d.Host = "bigquery.googleapis.com"
		default:
			d.Host, d.Port = spec.host, spec.port
		}
		l.Databases = append(l.Databases, d)
		g.dbDomains = append(g.dbDomains, spec.domains)
	}
	g.warehouse = 3
	addTable := func(db int, schema string, st synthTable) {
		name := st.name
		for k := 0; used[fmt.Sprintf("%d/%s/%s", db, schema, name)]; k++ {
			if k < len(synthTableVariants) {
				name = strings.Replace(synthTableVariants[k], "*", st.name, 1)
			} else {
				name = fmt.Sprintf("%s_%d", st.name, k)
			}
		}
		used[fmt.Sprintf("%d/%s/%s", db, schema, name)] = true
		id := fmt.Sprintf("t%05d", len(l.Tables)+1)
		t := LTable{ID: id, Database: l.Databases[db].ID, Schema: schema, Name: name, Columns: st.cols}
		if l.Databases[db].FilePath != "" {
			t.Schema = ""
		}
		if st.sensitive || schema == "hr" {
			g.sensitive[id] = true
		} else if g.pct(0.02) {
			// A table the extracting user may not see (obfuscated, spec
			// metadata-api §6).
			t.Hidden = true
		}
		l.Tables = append(l.Tables, t)
		g.tableCols[id] = st.cols
		g.dbTables[db] = append(g.dbTables[db], len(l.Tables)-1)
	}
	// The fixed databases get their domain's core tables, in popularity
	// order, so hr.salaries and friends are the most used.
	for db, spec := range synthFixedDBs {
		for _, dom := range spec.domains {
			for k, st := range schemaTables(dom) {
				if k >= 5 || len(l.Tables) >= g.sz.Tables {
					break
				}
				addTable(db, dom, st)
			}
		}
	}
	// Every other database gets one table, then the rest go by a skewed
	// share.
	for db := len(synthFixedDBs); db < nDB && len(l.Tables) < g.sz.Tables; db++ {
		doms := g.dbDomains[db]
		ts := schemaTables(doms[0])
		addTable(db, doms[0], ts[g.r.IntN(len(ts))])
	}
	dbw := newPicker(g.lognormal(nDB, 0.8))
	for len(l.Tables) < g.sz.Tables {
		db := dbw.pick(g.r)
		doms := g.dbDomains[db]
		dom := doms[g.r.IntN(len(doms))]
		ts := schemaTables(dom)
		addTable(db, dom, ts[g.r.IntN(len(ts))])
	}
	g.dbPick = g.zipf(nDB, 1.15)
	for db := range nDB {
		g.dbTabPick = append(g.dbTabPick, g.zipf(len(g.dbTables[db]), 1.2))
	}
}

// tablesOf picks up to n distinct popular tables of a database.
func (g *synth) tablesOf(db int, n int) []string {
	if len(g.dbTables[db]) == 0 {
		db = 0
	}
	var out []string
	for range n {
		t := g.s.Lineage.Tables[g.dbTables[db][pickZ(g.dbTabPick[db])]].ID
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// table returns a lineage table by id; ids are "t" and the 1-based index.
func (g *synth) table(id string) *LTable {
	n, _ := strconv.Atoi(id[1:])
	return &g.s.Lineage.Tables[n-1]
}

func (g *synth) tableName(id string) string { return g.table(id).Name }

// nameFromTables names a datasource after its main table: "HR Salaries".
func (g *synth) nameFromTables(tables []string) string {
	if len(tables) == 0 {
		return "Custom Data"
	}
	t := g.table(tables[0])
	words := strings.Split(t.Name, "_")
	if t.Schema != "" {
		words = append([]string{t.Schema}, words...)
	}
	for i, w := range words {
		switch w {
		case "hr", "crm", "ar", "fx", "dim", "fct", "stg", "raw", "eu", "us", "apac", "v2":
			words[i] = strings.ToUpper(w)
		default:
			if w != "" {
				words[i] = strings.ToUpper(w[:1]) + w[1:]
			}
		}
	}
	return strings.Join(words, " ")
}

func (g *synth) customSQL() {
	l := g.s.Lineage
	for i := range g.sz.CustomSQL {
		db := pickZ(g.dbPick)
		q := LCustomSQL{ID: fmt.Sprintf("q%04d", i+1), Database: l.Databases[db].ID}
		if g.pct(0.03) {
			// Unparseable SQL: Tableau reports no tables for it.
			q.Name = "Custom SQL Query"
			q.Query = "EXEC dbo.sp_month_end_close @period = '2026-10'"
		} else {
			q.Tables = g.tablesOf(db, g.between(2, 3))
			q.Query = g.sqlText(q.Tables)
			q.Name = "Custom SQL Query"
			if g.pct(0.4) {
				q.Name = g.nameFromTables(q.Tables) + " (SQL)"
			}
		}
		l.CustomSQL = append(l.CustomSQL, q)
		g.csqlTables = append(g.csqlTables, q.Tables)
	}
}

func (g *synth) sqlText(tables []string) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	var from []string
	for i, id := range tables {
		t := g.table(id)
		alias := string(rune('a' + i))
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(alias + "." + t.Columns[min(1, len(t.Columns)-1)])
		full := t.Name
		if t.Schema != "" {
			full = t.Schema + "." + t.Name
		}
		if i == 0 {
			from = append(from, full+" "+alias)
		} else {
			from = append(from, "JOIN "+full+" "+alias+" ON a."+g.table(tables[0]).Columns[0]+" = "+alias+"."+t.Columns[0])
		}
	}
	b.WriteString(" FROM " + strings.Join(from, " "))
	return b.String()
}

// ---------------------------------------------------------------- jobs

func (g *synth) jobs() {
	s := g.s
	for i := range g.sz.Schedules {
		sp := synthSchedules[i%len(synthSchedules)]
		name := sp.name
		if c := i / len(synthSchedules); c > 0 {
			name += fmt.Sprintf(" %d", c+1)
		}
		state := "Active"
		if g.pct(0.1) {
			state = "Suspended"
		}
		s.Schedules = append(s.Schedules, Schedule{ID: fmt.Sprintf("sch%03d", i+1), Name: name, Type: sp.typ, Frequency: sp.freq, State: state})
	}
	var extractItems, flowItems []string
	for _, it := range s.Items {
		switch {
		case it.HasExtracts:
			extractItems = append(extractItems, it.ID)
		case it.Type == caps.Flow:
			flowItems = append(flowItems, it.ID)
		}
	}
	if len(extractItems) == 0 {
		extractItems = g.dsID
	}
	var extractScheds []string
	for _, sc := range s.Schedules {
		if sc.Type == "Extract" {
			extractScheds = append(extractScheds, sc.ID)
		}
	}
	for i := range g.sz.ExtractRefreshTasks {
		t := ExtractRefreshTask{ID: fmt.Sprintf("task%05d", i+1), Item: extractItems[g.r.IntN(len(extractItems))], Type: "FullRefresh"}
		if len(extractScheds) > 0 {
			t.Schedule = extractScheds[g.r.IntN(len(extractScheds))]
		}
		if g.pct(0.2) {
			t.Type = "IncrementalRefresh"
		}
		s.ExtractRefreshTasks = append(s.ExtractRefreshTasks, t)
	}
	for i := range g.sz.Jobs {
		j := Job{ID: fmt.Sprintf("job%05d", i+1), Type: "RefreshExtract"}
		if len(flowItems) > 0 && g.pct(0.15) {
			j.Type, j.Item = "RunFlow", flowItems[g.r.IntN(len(flowItems))]
		} else {
			j.Item = extractItems[g.r.IntN(len(extractItems))]
			if g.pct(0.2) {
				j.Type = "IncrementExtract"
			}
		}
		j.CreatedAt = g.daysAgo(0, 14)
		start := j.CreatedAt.Add(time.Duration(g.between(1, 600)) * time.Second)
		end := start.Add(time.Duration(g.between(5, 5400)) * time.Second)
		switch x := g.r.Float64(); {
		case x < 0.8:
			j.Status, j.StartedAt, j.CompletedAt = "Success", &start, &end
		case x < 0.9:
			j.Status, j.StartedAt, j.CompletedAt = "Failed", &start, &end
		case x < 0.94:
			j.Status, j.StartedAt, j.CompletedAt = "Cancelled", &start, &end
		case x < 0.97:
			j.Status, j.StartedAt = "InProgress", &start
		default:
			j.Status = "Pending"
		}
		s.Jobs = append(s.Jobs, j)
	}
}

// ---------------------------------------------------------------- names

var synthCompanies = []string{"Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wonka", "Tyrell", "Soylent", "Cyberdyne"}

var synthFirst = []string{"Ana", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "James",
	"Kiran", "Lena", "Marco", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Sam", "Tomas", "Uma", "Victor",
	"Wei", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Chloe", "Dmitri", "Emma", "Felix", "Gita", "Hugo",
	"Ivy", "Jonas", "Keiko", "Liam", "Maya", "Noah", "Olga", "Pedro", "Rania", "Sofia", "Theo", "Ulla",
	"Vera", "Wanda", "Yara", "Zaid", "Amir", "Bea", "Cyril", "Dana", "Eli", "Fatima", "Gustav", "Hana"}

var synthLast = []string{"Smith", "Garcia", "Müller", "Okafor", "Chen", "Patel", "Novak", "Rossi", "Kowalski",
	"Johansson", "Silva", "Nguyen", "Kim", "Haddad", "Ortiz", "Fernández", "Lindqvist", "Dubois", "Tanaka",
	"O'Brien", "Schmidt", "Ivanova", "Cohen", "Mensah", "Andersen", "Costa", "Yilmaz", "Moreau", "Singh",
	"Nakamura", "Murphy", "Santos", "Kaur", "Brown", "Wilson", "Alvarez", "Meyer", "Popescu", "Horvat",
	"Virtanen", "Jansen", "Khan", "Li", "Wang", "Lopez", "Martin", "Becker", "Larsen", "Hoffmann", "Ahmed"}

var synthDepts = []struct {
	name   string
	teams  []string
	topics []string
}{
	{"Sales", []string{"Enterprise", "SMB", "Inside Sales", "Sales Ops", "Partners", "Renewals"},
		[]string{"Sales Forecast", "Pipeline", "Quota Attainment", "Win Loss", "Bookings", "Territory Coverage"}},
	{"Operations", []string{"Logistics", "Fulfilment", "Planning", "Quality", "Procurement"},
		[]string{"Shipments", "Inventory Health", "On-Time Delivery", "Supplier Scorecard", "Warehouse Capacity"}},
	{"Finance", []string{"FP&A", "Accounts Payable", "Treasury", "Tax", "Controllers", "Audit"},
		[]string{"Revenue", "Budget vs Actual", "Cash Flow", "Expense Review", "Quarterly Close", "P&L"}},
	{"Marketing", []string{"Campaigns", "Digital", "Brand", "Events", "Growth"},
		[]string{"Campaign Performance", "Web Traffic", "Lead Funnel", "Ad Spend", "Email Engagement"}},
	{"Customer Success", []string{"Support", "Onboarding", "Account Management", "Escalations"},
		[]string{"Support Tickets", "Customer Health", "Churn Risk", "NPS", "Renewal Forecast"}},
	{"HR", []string{"People Analytics", "Recruiting", "Compensation", "Learning"},
		[]string{"Headcount", "Attrition", "Salary Review", "Diversity", "Hiring Funnel"}},
	{"Engineering", []string{"Platform", "Data", "Mobile", "Infrastructure", "Security"},
		[]string{"Deploy Frequency", "Incident Review", "Cloud Costs", "Sprint Metrics"}},
	{"IT", []string{"Service Desk", "Identity", "Networks"},
		[]string{"IT Asset Inventory", "License Usage", "Service Desk SLA"}},
	{"Product", []string{"Analytics", "Design", "Research"},
		[]string{"Feature Adoption", "Product Usage", "Retention Cohorts"}},
	{"Legal", []string{"Contracts", "Compliance"},
		[]string{"Contract Renewals", "Compliance Tracker"}},
	{"Risk", []string{"Credit", "Fraud", "Internal Audit"},
		[]string{"Fraud Monitoring", "Credit Exposure", "Audit Findings"}},
	{"Supply Chain", []string{"Sourcing", "Demand Planning"},
		[]string{"Demand Forecast", "Sourcing Spend"}},
	{"Executive", []string{"Office of the CEO", "Strategy"},
		[]string{"Board Pack", "Company KPIs", "OKR Tracker"}},
	{"Data Science", []string{"Modelling", "Experimentation"},
		[]string{"Model Monitoring", "AB Test Results"}},
	{"Procurement", []string{"Vendors", "Contracts"},
		[]string{"Vendor Spend", "PO Aging"}},
	{"Facilities", []string{"Workplace", "Real Estate"},
		[]string{"Office Occupancy", "Lease Costs"}},
}

var synthRegions = []string{"AMER", "EMEA", "APAC", "LATAM", "ANZ"}

var synthAdhoc = []string{"Project Falcon", "Q3 Audit Team", "Board Pack Readers", "Data Champions",
	"Interns 2025", "Tableau Champions", "Pulse Pilot", "Migration Squad", "SOX Reviewers",
	"Pricing Council", "M&A Clean Room", "Works Council", "Hackathon 2026", "ERP Rollout", "Vendor Access",
	"Regional Directors", "Analytics Guild", "Exec Assistants", "GDPR Working Group", "Offsite Planning"}

var synthSubProjects = []string{"Reports", "Dashboards", "Data Sources", "Certified", "Sandbox", "Archive",
	"Regional", "EMEA", "AMER", "APAC", "FY26 Planning", "Q3 Review", "Adhoc", "Operational", "Executive Views",
	"Self Service", "Drafts", "Published", "Team Space", "Legacy"}

var synthProjectDesc = []string{"Certified content only.", "Work in progress; not for distribution.",
	"Owned by the analytics team.", "Do not share outside the department.", "Migrated from Server 2020.4."}

var synthTags = []string{"finance", "sales", "kpi", "certified", "draft", "deprecated", "executive", "sox", "gdpr", "pii", "monthly", "weekly"}

var synthWBKinds = []string{"", "", "Dashboard", "Analysis", "Report", "Tracker", "Overview"}

var synthWBSuffix = []string{"", "", "", "Q1", "Q2", "Q3", "Q4", "FY25", "FY26", "(old)", "v2", "- EMEA", "- AMER"}

var synthSheetNames = []string{"Overview", "Summary", "By Region", "By Product", "Trend", "Detail", "KPIs", "Map",
	"Top 10 Customers", "Pipeline by Stage", "Monthly Revenue", "YoY Growth", "Cohorts", "Funnel", "Headcount",
	"Attrition", "Forecast vs Actual", "Variance", "Scorecard", "Drill-down", "Sheet 1", "Data"}

var synthDashNames = []string{"Executive Dashboard", "Regional Dashboard", "Main Dashboard", "KPI Dashboard", "Story", "Landing Page"}

var synthVCNames = []string{"Snowflake - Finance", "HR Secure", "Customer Data (RLS)", "Sales Warehouse", "Operations Live", "Marketing Lake"}

var synthSchedules = []struct{ name, typ, freq string }{
	{"Nightly 2am", "Extract", "Daily"}, {"Hourly", "Extract", "Hourly"}, {"Weekly Sunday", "Extract", "Weekly"},
	{"Flows Nightly", "Flow", "Daily"}, {"Monday Digest", "Subscription", "Weekly"}, {"Month-End Close", "Extract", "Monthly"},
	{"Business Hours", "Extract", "Hourly"}, {"Weekly Flows", "Flow", "Weekly"},
}

var synthTableVariants = []string{"*_2025", "*_2024", "*_eu", "*_us", "*_apac", "stg_*", "raw_*", "*_archive", "*_v2", "*_snapshot"}

type synthTable struct {
	name      string
	cols      []string
	sensitive bool
}

var synthSchemas = []struct {
	schema string
	tables []synthTable
}{
	{"hr", []synthTable{
		{"salaries", []string{"employee_id", "salary", "bonus", "band", "currency", "effective_date"}, true},
		{"employees", []string{"employee_id", "full_name", "email", "department", "manager_id", "hire_date", "date_of_birth"}, true},
		{"payroll_runs", []string{"run_id", "employee_id", "gross_pay", "net_pay", "bank_account", "pay_date"}, true},
		{"performance_reviews", []string{"employee_id", "review_period", "rating", "reviewer_id", "comments"}, true},
		{"benefits", []string{"employee_id", "plan", "dependents", "premium"}, true},
		{"terminations", []string{"employee_id", "termination_date", "reason"}, true},
		{"headcount_plan", []string{"cost_center", "fiscal_year", "planned_headcount"}, false},
	}},
	{"finance", []synthTable{
		{"card_payments", []string{"payment_id", "card_number", "card_holder", "expiry", "amount", "currency", "merchant", "email"}, true},
		{"general_ledger", []string{"account", "cost_center", "amount", "period", "entry_date"}, false},
		{"invoices", []string{"invoice_id", "customer_id", "amount", "due_date", "status"}, false},
		{"expenses", []string{"expense_id", "employee_id", "amount", "category", "card_number", "submitted_at"}, true},
		{"budget", []string{"cost_center", "fiscal_year", "month", "amount"}, false},
		{"ar_aging", []string{"customer_id", "bucket", "amount"}, false},
		{"fx_rates", []string{"currency", "rate_date", "rate"}, false},
	}},
	{"crm", []synthTable{
		{"customers", []string{"customer_id", "name", "email", "phone", "address", "region", "segment"}, true},
		{"opportunities", []string{"opportunity_id", "customer_id", "owner_email", "region", "amount", "stage", "close_date"}, false},
		{"contacts", []string{"contact_id", "customer_id", "full_name", "email", "phone", "title"}, true},
		{"accounts", []string{"account_id", "name", "industry", "region", "annual_revenue"}, false},
		{"cases", []string{"case_id", "customer_id", "priority", "status", "opened_at", "closed_at"}, false},
		{"leads", []string{"lead_id", "email", "source", "score", "created_at"}, true},
	}},
	{"sales", []synthTable{
		{"orders", []string{"order_id", "customer_id", "order_date", "amount", "region", "channel"}, false},
		{"order_lines", []string{"order_id", "line_no", "product_id", "quantity", "unit_price", "discount"}, false},
		{"products", []string{"product_id", "name", "category", "list_price"}, false},
		{"quotas", []string{"rep_email", "quarter", "quota", "attainment"}, false},
		{"territories", []string{"territory_id", "region", "country", "manager_email"}, false},
		{"returns", []string{"order_id", "return_date", "reason", "amount"}, false},
	}},
	{"marketing", []synthTable{
		{"campaigns", []string{"campaign_id", "name", "channel", "budget", "start_date"}, false},
		{"web_sessions", []string{"session_id", "visitor_id", "user_email", "page", "referrer", "ts"}, true},
		{"email_events", []string{"event_id", "email", "campaign_id", "event_type", "ts"}, true},
		{"ad_spend", []string{"campaign_id", "day", "spend", "clicks", "impressions"}, false},
	}},
	{"ops", []synthTable{
		{"shipments", []string{"shipment_id", "order_id", "carrier", "shipped_at", "delivered_at", "warehouse_id"}, false},
		{"inventory", []string{"product_id", "warehouse_id", "on_hand", "reorder_point"}, false},
		{"warehouses", []string{"warehouse_id", "name", "country"}, false},
		{"suppliers", []string{"supplier_id", "name", "contact_email", "country", "payment_terms"}, false},
		{"tickets", []string{"ticket_id", "requester_email", "category", "status", "opened_at"}, false},
	}},
	{"analytics", []synthTable{
		{"revenue_daily", []string{"day", "region", "product_category", "revenue"}, false},
		{"customer_360", []string{"customer_id", "email", "segment", "lifetime_value", "churn_risk"}, true},
		{"pipeline_snapshot", []string{"snapshot_date", "region", "stage", "amount"}, false},
		{"headcount_monthly", []string{"month", "department", "headcount", "salary_cost"}, true},
		{"churn_scores", []string{"customer_id", "score", "scored_at"}, false},
		{"web_funnel", []string{"day", "step", "visitors"}, false},
	}},
}

func schemaTables(schema string) []synthTable {
	for _, s := range synthSchemas {
		if s.schema == schema {
			return s.tables
		}
	}
	return nil
}

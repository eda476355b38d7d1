package site

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// RandomParams bounds a random site. Zero values take the defaults noted.
type RandomParams struct {
	MaxUsers     int // at least 3; 0 means 8
	MaxGroups    int // besides All Users, at least 1; 0 means 4
	MaxGroupSets int // 0 means 2; negative means none
	MaxProjects  int // at least 1; 0 means 5
	MaxItems     int // top-level items (views and tables come with them), at least 1; 0 means 6

	// NoUnknownCapabilities keeps rules to capability names Tableau uses.
	NoUnknownCapabilities bool
	// NoConflicts never lists one capability under both allow and deny.
	NoConflicts bool
}

func (p RandomParams) withDefaults() RandomParams {
	def := func(v *int, d, lo int) {
		if *v == 0 {
			*v = d
		}
		*v = max(*v, lo)
	}
	def(&p.MaxUsers, 8, 3)
	def(&p.MaxGroups, 4, 1)
	if p.MaxGroupSets == 0 {
		p.MaxGroupSets = 2
	}
	p.MaxGroupSets = max(p.MaxGroupSets, 0)
	def(&p.MaxProjects, 5, 1)
	def(&p.MaxItems, 6, 1)
	return p
}

// randomRoles weighs site roles for random sites: every current role and
// every legacy name appears, the common ones more often.
var randomRoles = []struct {
	role string
	w    int
}{
	{"Viewer", 6}, {"Explorer", 6}, {"ExplorerCanPublish", 4}, {"Creator", 5}, {"Unlicensed", 3},
	{"SiteAdministratorCreator", 2}, {"SiteAdministratorExplorer", 2}, {"ServerAdministrator", 1},
	{"SupportUser", 1}, {"Guest", 1},
	{"Interactor", 1}, {"Publisher", 1}, {"SiteAdministrator", 1}, {"ViewerWithPublish", 1},
	{"UnlicensedWithPublish", 1}, {"ReadOnly", 1},
}

// unknownCapability is a name no Tableau version uses; the engine must keep
// and flag it (spec §2).
const unknownCapability = "TeleportData"

// Random builds a small random site for differential testing of the
// permission engine: 3–8 users of every role kind, 1–4 groups with minimum
// site roles, group sets, 1–5 nested projects with random lock modes,
// leaders and default rules, and 1–6 items of every evaluated type with
// random Allow/Deny rules, including conflicts and unknown capability names.
// It always passes Validate and round-trips through Marshal and Parse.
// It uses no lineage, jobs or timestamps: only what decides access.
func Random(r *rand.Rand, p RandomParams) *Site {
	p = p.withDefaults()
	x := &randomSite{r: r, p: p, s: &Site{ID: "default"}}
	x.build()
	return x.s
}

type randomSite struct {
	r        *rand.Rand
	p        RandomParams
	s        *Site
	grantees []string
}

func (x *randomSite) pct(p float64) bool { return x.r.Float64() < p }

func (x *randomSite) pick(list []string) string { return list[x.r.IntN(len(list))] }

func (x *randomSite) build() {
	s := x.s
	total := 0
	for _, rr := range randomRoles {
		total += rr.w
	}
	nUsers := 3 + x.r.IntN(x.p.MaxUsers-2)
	var userIDs []string
	for i := range nUsers {
		n := x.r.IntN(total)
		role := ""
		for _, rr := range randomRoles {
			if n < rr.w {
				role = rr.role
				break
			}
			n -= rr.w
		}
		u := User{ID: fmt.Sprintf("u%d", i+1), Role: role}
		if x.pct(0.1) {
			u.GLSIMinimumSiteRole = x.pick([]string{"Viewer", "Explorer", "Creator"})
		}
		s.Users = append(s.Users, u)
		userIDs = append(userIDs, u.ID)
	}
	s.Groups = []Group{{ID: AllUsersID, Name: AllUsersName, Members: slices.Clone(userIDs)}}
	groupIDs := []string{AllUsersID}
	for i := range 1 + x.r.IntN(x.p.MaxGroups) {
		g := Group{ID: fmt.Sprintf("g%d", i+1)}
		for _, u := range userIDs {
			if x.pct(0.45) {
				g.Members = append(g.Members, u)
			}
		}
		if x.pct(0.25) {
			g.MinimumSiteRole = x.pick([]string{"Viewer", "Explorer", "ExplorerCanPublish", "Creator", "SiteAdministratorExplorer"})
			g.LicenseMode = x.pick([]string{"onLogin", "onSync", ""})
		}
		s.Groups = append(s.Groups, g)
		groupIDs = append(groupIDs, g.ID)
	}
	var setIDs []string
	if x.p.MaxGroupSets > 0 {
		for i := range x.r.IntN(x.p.MaxGroupSets + 1) {
			gs := GroupSet{ID: fmt.Sprintf("gs%d", i+1)}
			if !x.pct(0.1) { // else: an empty set, which matches nobody
				for range 1 + x.r.IntN(3) {
					g := x.pick(groupIDs)
					if !slices.Contains(gs.Groups, g) {
						gs.Groups = append(gs.Groups, g)
					}
				}
			}
			s.GroupSets = append(s.GroupSets, gs)
			setIDs = append(setIDs, gs.ID)
		}
	}
	for _, u := range userIDs {
		x.grantees = append(x.grantees, "user:"+u)
	}
	for _, g := range groupIDs {
		x.grantees = append(x.grantees, "group:"+g)
	}
	for _, g := range setIDs {
		x.grantees = append(x.grantees, "groupset:"+g)
	}
	owner := func() string {
		if x.pct(0.1) {
			return "gone" // a user who left: ORPHAN_OWNER
		}
		return x.pick(userIDs)
	}

	nProj := 1 + x.r.IntN(x.p.MaxProjects)
	for i := range nProj {
		pr := Project{ID: fmt.Sprintf("p%d", i+1), Owner: owner()}
		if i > 0 && x.pct(0.5) {
			pr.Parent = fmt.Sprintf("p%d", 1+x.r.IntN(i))
		}
		pr.ContentPermissions = x.pick([]string{"", "ManagedByOwner", "LockedToProject", "LockedToProjectWithoutNested"})
		pr.Rules = x.rules(caps.Project, 3)
		if x.pct(0.3) {
			pr.Rules = x.add(pr.Rules, Rule{Grantee: x.pick(x.grantees), Allow: []string{"ProjectLeader"}})
		}
		if x.pct(0.05) {
			// The legacy way of withdrawing leadership (spec §8.4).
			pr.Rules = x.add(pr.Rules, Rule{Grantee: x.pick(x.grantees), Deny: []string{"ProjectLeader"}})
		}
		for _, t := range []string{caps.Workbook, caps.Datasource, caps.Flow, caps.VirtualConnection, caps.Database, caps.Table, caps.Lens} {
			if x.pct(0.5) {
				if rs := x.rules(t, 3); rs != nil {
					if pr.Defaults == nil {
						pr.Defaults = map[string][]Rule{}
					}
					pr.Defaults[t] = rs
				}
			}
		}
		s.Projects = append(s.Projects, pr)
	}

	types := []string{caps.Workbook, caps.Workbook, caps.Workbook, caps.Datasource, caps.Datasource,
		caps.Flow, caps.VirtualConnection, caps.Database, caps.Database, caps.DataRole, caps.Metric}
	nItems := 1 + x.r.IntN(x.p.MaxItems)
	n := map[string]int{}
	id := func(prefix string) string {
		n[prefix]++
		return fmt.Sprintf("%s%d", prefix, n[prefix])
	}
	for range nItems {
		t := x.pick(types)
		switch t {
		case caps.Workbook:
			tabs := x.pct(0.5)
			w := Item{ID: id("w"), Type: t, Project: x.pick(projectIDs(s)), Owner: owner(), ShowTabs: &tabs, Rules: x.rules(t, 3)}
			s.Items = append(s.Items, w)
			for range 1 + x.r.IntN(3) {
				v := Item{ID: id("v"), Type: caps.View, Workbook: w.ID}
				// Views carry rules when tabs are off; now and then a
				// stale list is left behind when tabs are on.
				if !tabs || x.pct(0.15) {
					v.Rules = x.rules(caps.View, 3)
				}
				s.Items = append(s.Items, v)
			}
		case caps.Database:
			d := Item{ID: id("db"), Type: t, Owner: owner(), Rules: x.rules(t, 2)}
			d.ContentPermissions = x.pick([]string{"", "ManagedByOwner", "LockedToDatabase", "LockedToDatabase"})
			if rs := x.rules(caps.Table, 2); rs != nil && x.pct(0.7) {
				d.Defaults = map[string][]Rule{caps.Table: rs}
			}
			s.Items = append(s.Items, d)
			for range 1 + x.r.IntN(2) {
				s.Items = append(s.Items, Item{ID: id("t"), Type: caps.Table, Database: d.ID, Owner: owner(), Rules: x.rules(caps.Table, 2)})
			}
		default:
			prefix := map[string]string{caps.Datasource: "d", caps.Flow: "f", caps.VirtualConnection: "vc", caps.DataRole: "dr", caps.Metric: "m"}[t]
			s.Items = append(s.Items, Item{ID: id(prefix), Type: t, Project: x.pick(projectIDs(s)), Owner: owner(), Rules: x.rules(t, 3)})
		}
	}
}

func projectIDs(s *Site) []string {
	out := make([]string, len(s.Projects))
	for i, p := range s.Projects {
		out[i] = p.ID
	}
	return out
}

func (x *randomSite) add(rs []Rule, r Rule) []Rule {
	for _, o := range rs {
		if o.Grantee == r.Grantee {
			return rs
		}
	}
	return append(rs, r)
}

// rules draws up to max rules for distinct grantees over a content type's
// capabilities: a template, or allow and deny lists, with an occasional
// conflict (one capability under both) or unknown capability name.
func (x *randomSite) rules(typ string, most int) []Rule {
	var rs []Rule
	all := caps.For(typ)
	for range x.r.IntN(most + 1) {
		r := Rule{Grantee: x.pick(x.grantees)}
		if x.pct(0.2) {
			if typ == caps.Project {
				r.Template = x.pick([]string{"View", "Publish", "None", "Denied"})
			} else {
				r.Template = x.pick([]string{"View", "Explore", "Publish", "Administer", "None", "Denied"})
			}
		}
		for _, c := range all {
			if c == "ProjectLeader" {
				continue // granted on purpose in build, its Deny only rarely
			}
			switch x.r.IntN(6) {
			case 0:
				r.Allow = append(r.Allow, c)
			case 1:
				r.Deny = append(r.Deny, c)
			}
		}
		if !x.p.NoConflicts && len(r.Allow) > 0 && x.pct(0.1) {
			c := x.pick(r.Allow)
			if !slices.Contains(r.Deny, c) {
				r.Deny = append(r.Deny, c)
			}
		}
		if !x.p.NoUnknownCapabilities && x.pct(0.05) {
			if x.pct(0.5) {
				r.Allow = append(r.Allow, unknownCapability)
			} else {
				r.Deny = append(r.Deny, unknownCapability)
			}
		}
		if r.Template == "" && len(r.Allow) == 0 && len(r.Deny) == 0 {
			r.Allow = []string{all[0]} // Read, on every type
		}
		rs = x.add(rs, r)
	}
	return rs
}

// Marshal writes a site as a site file (`site:` at the top) that Parse reads
// back to an equal Site; a failing differential test prints it so the case
// can be replayed.
func Marshal(s *Site) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2) // as hand-written site files are
	err := enc.Encode(struct {
		Site *Site `yaml:"site"`
	}{s})
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("writing site %s as YAML: %w", s.ID, err)
	}
	return b.Bytes(), nil
}

// Clone returns a deep copy of the site.
func (s *Site) Clone() *Site {
	return deepCopy(reflect.ValueOf(s)).Interface().(*Site)
}

var timeType = reflect.TypeFor[time.Time]()

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return n
	case reflect.Struct:
		if v.Type() == timeType {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			n.Field(i).Set(deepCopy(v.Field(i)))
		}
		return n
	}
	return v
}

// Shrink makes a failing site smaller for a bug report: it greedily removes
// lineage, jobs, items, projects, group sets, groups, users, rules and
// single capabilities, and clears lock modes and minimum roles, keeping each
// step only while the site stays valid and fails still returns true. fails
// is never called with an invalid site. s itself is not modified.
func Shrink(s *Site, fails func(*Site) bool) *Site {
	cur := s.Clone()
	for {
		progressed := false
		for _, step := range shrinkSteps(cur) {
			next := cur.Clone()
			if !step(next) || next.Validate() != nil || !fails(next) {
				continue
			}
			cur = next
			progressed = true
			break
		}
		if !progressed {
			return cur
		}
	}
}

// shrinkSteps lists every single simplification of s, biggest first. Each
// step edits the clone it is given and reports whether it changed anything.
func shrinkSteps(s *Site) []func(*Site) bool {
	var steps []func(*Site) bool
	if s.Lineage != nil {
		steps = append(steps, func(c *Site) bool { c.Lineage = nil; return true })
	}
	if len(s.Jobs)+len(s.Schedules)+len(s.ExtractRefreshTasks) > 0 {
		steps = append(steps, func(c *Site) bool { c.Jobs, c.Schedules, c.ExtractRefreshTasks = nil, nil, nil; return true })
	}
	for _, it := range s.Items {
		steps = append(steps, func(c *Site) bool { removeItem(c, it.ID); return true })
	}
	for _, p := range s.Projects {
		steps = append(steps, func(c *Site) bool { return removeProject(c, p.ID) })
	}
	for _, gs := range s.GroupSets {
		steps = append(steps, func(c *Site) bool {
			c.GroupSets = slices.DeleteFunc(c.GroupSets, func(x GroupSet) bool { return x.ID == gs.ID })
			dropGrantee(c, "groupset:"+gs.ID)
			return true
		})
	}
	for _, g := range s.Groups {
		if g.ID == AllUsersID {
			continue
		}
		steps = append(steps, func(c *Site) bool {
			c.Groups = slices.DeleteFunc(c.Groups, func(x Group) bool { return x.ID == g.ID })
			for i := range c.GroupSets {
				c.GroupSets[i].Groups = nilIfEmpty(slices.DeleteFunc(c.GroupSets[i].Groups, func(x string) bool { return x == g.ID }))
			}
			dropGrantee(c, "group:"+g.ID)
			return true
		})
	}
	for _, u := range s.Users {
		steps = append(steps, func(c *Site) bool {
			c.Users = slices.DeleteFunc(c.Users, func(x User) bool { return x.ID == u.ID })
			for i := range c.Groups {
				c.Groups[i].Members = nilIfEmpty(slices.DeleteFunc(c.Groups[i].Members, func(x string) bool { return x == u.ID }))
			}
			dropGrantee(c, "user:"+u.ID)
			return true
		})
	}
	// Rules, then single capabilities, addressed by position so that each
	// step touches exactly one list.
	forEachRuleList(s, func(path ruleList, rs []Rule) {
		for i := range rs {
			steps = append(steps, func(c *Site) bool {
				path.edit(c, func(rs []Rule) []Rule { return slices.Delete(rs, i, i+1) })
				return true
			})
		}
	})
	forEachRuleList(s, func(path ruleList, rs []Rule) {
		for i, r := range rs {
			edit := func(f func(*Rule)) func(*Site) bool {
				return func(c *Site) bool {
					path.edit(c, func(rs []Rule) []Rule { f(&rs[i]); return rs })
					return true
				}
			}
			if r.Template != "" {
				steps = append(steps, edit(func(x *Rule) { x.Template = "" }))
			}
			for k := range r.Allow {
				steps = append(steps, edit(func(x *Rule) { x.Allow = nilIfEmpty(slices.Delete(x.Allow, k, k+1)) }))
			}
			for k := range r.Deny {
				steps = append(steps, edit(func(x *Rule) { x.Deny = nilIfEmpty(slices.Delete(x.Deny, k, k+1)) }))
			}
		}
	})
	for i, p := range s.Projects {
		if p.ContentPermissions != "" {
			steps = append(steps, func(c *Site) bool { c.Projects[i].ContentPermissions = ""; return true })
		}
		if p.Parent != "" {
			steps = append(steps, func(c *Site) bool { c.Projects[i].Parent = ""; return true })
		}
	}
	for i, g := range s.Groups {
		if g.MinimumSiteRole != "" || g.LicenseMode != "" {
			steps = append(steps, func(c *Site) bool { c.Groups[i].MinimumSiteRole, c.Groups[i].LicenseMode = "", ""; return true })
		}
	}
	for i, u := range s.Users {
		if u.GLSIMinimumSiteRole != "" {
			steps = append(steps, func(c *Site) bool { c.Users[i].GLSIMinimumSiteRole = ""; return true })
		}
	}
	return steps
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// ruleList addresses one rule list of a site: a project's rules or
// defaults for a type, or an item's rules or defaults for a type.
type ruleList struct {
	project, item int // index, -1 when not this kind
	defaults      string
}

// edit replaces the list with f's result; an emptied defaults list is
// removed from its map, and an emptied map becomes nil, so a shrunk site
// still round-trips through YAML unchanged.
func (p ruleList) edit(s *Site, f func([]Rule) []Rule) {
	var rules *[]Rule
	var defaults *map[string][]Rule
	if p.project >= 0 {
		rules, defaults = &s.Projects[p.project].Rules, &s.Projects[p.project].Defaults
	} else {
		rules, defaults = &s.Items[p.item].Rules, &s.Items[p.item].Defaults
	}
	if p.defaults == "" {
		*rules = nilIfEmpty(f(*rules))
		return
	}
	rs := nilIfEmpty(f((*defaults)[p.defaults]))
	if rs == nil {
		delete(*defaults, p.defaults)
		if len(*defaults) == 0 {
			*defaults = nil
		}
		return
	}
	(*defaults)[p.defaults] = rs
}

// forEachRuleList visits every rule list in a fixed order (defaults by the
// catalogue's content-type order, never map order).
func forEachRuleList(s *Site, f func(ruleList, []Rule)) {
	types := make([]string, 0, len(caps.DefaultPermissionTypes))
	for _, d := range caps.DefaultPermissionTypes {
		types = append(types, d.Type)
	}
	for i, p := range s.Projects {
		f(ruleList{project: i, item: -1}, p.Rules)
		for _, t := range types {
			if rs, ok := p.Defaults[t]; ok {
				f(ruleList{project: i, item: -1, defaults: t}, rs)
			}
		}
	}
	for i, it := range s.Items {
		f(ruleList{project: -1, item: i}, it.Rules)
		for _, t := range types {
			if rs, ok := it.Defaults[t]; ok {
				f(ruleList{project: -1, item: i, defaults: t}, rs)
			}
		}
	}
}

// dropGrantee removes every rule naming the grantee.
func dropGrantee(s *Site, grantee string) {
	drop := func(rs []Rule) []Rule {
		return nilIfEmpty(slices.DeleteFunc(rs, func(r Rule) bool { return r.Grantee == grantee }))
	}
	dropMap := func(m map[string][]Rule) map[string][]Rule {
		for t, rs := range m {
			// Each key is rewritten independently; order does not matter.
			if rs = drop(rs); rs == nil {
				delete(m, t)
			} else {
				m[t] = rs
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	}
	for i := range s.Projects {
		s.Projects[i].Rules = drop(s.Projects[i].Rules)
		s.Projects[i].Defaults = dropMap(s.Projects[i].Defaults)
	}
	for i := range s.Items {
		s.Items[i].Rules = drop(s.Items[i].Rules)
		s.Items[i].Defaults = dropMap(s.Items[i].Defaults)
	}
}

// removeItem removes an item with what hangs off it: a workbook's views, a
// database's tables, and lineage, tasks and jobs that name them.
func removeItem(s *Site, id string) {
	gone := map[string]bool{id: true}
	for _, it := range s.Items {
		if it.Workbook == id || it.Database == id {
			gone[it.ID] = true
		}
	}
	s.Items = slices.DeleteFunc(s.Items, func(it Item) bool { return gone[it.ID] })
	s.ExtractRefreshTasks = nilIfEmpty(slices.DeleteFunc(s.ExtractRefreshTasks, func(t ExtractRefreshTask) bool { return gone[t.Item] }))
	s.Jobs = nilIfEmpty(slices.DeleteFunc(s.Jobs, func(j Job) bool { return gone[j.Item] }))
	if s.Lineage != nil {
		// Lineage that names a removed item would not validate; a shrunk
		// case rarely needs it, so drop it whole.
		s.Lineage = nil
	}
}

// removeProject removes a leaf project and the items in it; a project with
// children stays (removing a child first makes it a leaf).
func removeProject(s *Site, id string) bool {
	for _, p := range s.Projects {
		if p.Parent == id || p.ControllingProject == id {
			return false
		}
	}
	var items []string
	for _, it := range s.Items {
		if it.Project == id {
			items = append(items, it.ID)
		}
	}
	for _, it := range items {
		removeItem(s, it)
	}
	s.Projects = slices.DeleteFunc(s.Projects, func(p Project) bool { return p.ID == id })
	return true
}

package eval

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// Rule modes.
const (
	ModeAllow = "Allow"
	ModeDeny  = "Deny"
)

// Rule-set names: an item's own rules, or a project's (or database's)
// default rules for a content type.
const RuleSetItem = "item"

// DefaultRuleSet is the rule_set value of default permissions for a type.
func DefaultRuleSet(contentType string) string { return "default:" + contentType }

// Key names one object: a project or a content item.
type Key struct{ Type, ID string }

func (k Key) String() string { return k.Type + ":" + k.ID }

// Grantee is the subject of a rule.
type Grantee struct {
	Kind string // user, group or groupset
	ID   string
}

func (g Grantee) String() string { return g.Kind + ":" + g.ID }

// Rule is one grantee's capability modes on one rule set, with conflicting
// Allow+Deny already resolved to Deny (spec §10.1).
type Rule struct {
	Grantee Grantee
	Caps    map[string]string // capability -> Allow | Deny
}

// RuleSet is the stored rule list of one object: its own rules (Set "item")
// or a project's default rules for one content type ("default:workbook").
type RuleSet struct {
	Object Key
	Set    string
	Rules  []*Rule // users, then groups, then group sets; each by LUID
	// Parent is the <parent> element of the permissions response
	// (permission_rules.parent_project_id), "" when absent.
	Parent    string
	byGrantee map[Grantee]*Rule
}

// Ref is how DecidingRule names the rule set: "workbook:<luid>" or
// "project:<luid>/default:workbook".
func (s *RuleSet) Ref() string {
	if s.Set == RuleSetItem {
		return s.Object.String()
	}
	return s.Object.String() + "/" + s.Set
}

// Rule returns the grantee's rule, or nil.
func (s *RuleSet) Rule(g Grantee) *Rule {
	if s == nil {
		return nil
	}
	return s.byGrantee[g]
}

// RoleInfo is a site role as used by one basis.
type RoleInfo struct {
	Raw   string  // as returned by REST (or the group minimum it came from)
	Row   RoleRow // normalised; for an unknown role a row with an empty cap
	Known bool
	// Ambiguous is set on the projected role when it was chosen between
	// Creator and SiteAdministratorExplorer (U11).
	Ambiguous bool
	// Source says where a projected role came from: site_role,
	// glsi_minimum_site_role or group:<luid>.
	Source string
}

// User is a site user with normalised roles and memberships.
type User struct {
	ID, Name, FullName, Email string
	SiteRole                  string // as returned
	GLSIMinimumSiteRole       string
	Current, Projected        RoleInfo
	// ComputedProjected is the projected role computed from group minimums,
	// kept to compare with glsi_minimum_site_role (spec §9.3).
	ComputedProjected string
	Groups            []string // sorted, All Users included
	GroupSets         []string // sorted: non-empty sets all of whose groups are in Groups
	inGroup           map[string]bool
	inSet             map[string]bool
	// viewReader: the current role may hold view Read and is not an
	// administrator (VIEW_WITHOUT_WORKBOOK_READ candidates).
	viewReader bool
}

// InGroup reports membership, All Users included.
func (u *User) InGroup(id string) bool { return u.inGroup[id] }

// InGroupSet reports whether the user belongs to every group of the set.
func (u *User) InGroupSet(id string) bool { return u.inSet[id] }

// Role returns the role used on a basis.
func (u *User) Role(b Basis) RoleInfo {
	if b == Projected {
		return u.Projected
	}
	return u.Current
}

// Group is a group; AllUsers marks the built-in All Users group.
type Group struct {
	ID, Name, Domain string
	MinimumSiteRole  string
	GrantLicenseMode string
	AllUsers         bool
	Members          []string // sorted; for All Users every user
}

// GroupSet is a group set: an AND of its groups (spec §9.2).
type GroupSet struct {
	ID, Name string
	Groups   []string // sorted
	Members  []string // users in every group, sorted; none for an empty set
}

// Project is a project with its position in the tree resolved.
type Project struct {
	ID, Name, ParentID, OwnerID string
	Mode                        string // ManagedByOwner when empty in the data
	// ReportedControlling is controllingPermissionsProjectId as returned;
	// ComputedControlling is spec §7.2 computed from the tree; Controlling
	// is the one evaluation uses: REST when present and known, else computed.
	ReportedControlling string
	ComputedControlling string
	Controlling         string
	Locked              bool     // spec §7.2 locked(P)
	Chain               []string // the project, then its ancestors up to the root
	Path                string   // names joined with "/"
}

// Item is a content item (not a project).
type Item struct {
	Type, ID, Name string
	// ProjectID is the containing project; for views the workbook's project;
	// "" for databases, tables and Personal Space.
	ProjectID  string
	WorkbookID string // views
	DatabaseID string // tables
	OwnerID    string // views: the workbook's owner; databases, tables: the contact
	ShowTabs   bool   // workbooks (views use their workbook's)
	// LocationType is location/@type; views take their workbook's.
	LocationType       string
	ContentPermissions string // databases: LockedToDatabase | ManagedByOwner
}

// Personal reports whether the item lives in Personal Space (spec §7.7).
func (it *Item) Personal() bool { return it.LocationType == "PersonalSpace" }

// Facts is one site, normalised for evaluation. Build it with FromSite or
// LoadFacts; it is read-only afterwards and safe for concurrent Decide calls.
type Facts struct {
	SiteName   string
	AllUsersID string // LUID of the All Users group, "" if the data has none

	Users     map[string]*User
	Groups    map[string]*Group
	GroupSets map[string]*GroupSet
	Projects  map[string]*Project
	Items     map[Key]*Item

	// Sorted ids, for deterministic iteration.
	UserIDs    []string
	ProjectIDs []string
	ItemKeys   []Key

	// eligibleViewReaders counts users whose current role may hold view
	// Read and who are not administrators (VIEW_WITHOUT_WORKBOOK_READ).
	eligibleViewReaders int

	ruleSets map[ruleKey]*RuleSet
	ruleKeys []ruleKey
	// observed holds, per content type, every capability some stored rule
	// carries for that type: the server's own catalogue as far as the data
	// shows it (spec §2 unknown capabilities).
	observed map[string]map[string]bool
	// problems found while normalising, reported by Findings.
	conflicts []conflict
	dangling  []Finding
}

type ruleKey struct{ Type, ID, Set string }

type conflict struct {
	set        ruleKey
	grantee    Grantee
	capability string
}

// RuleSet returns the stored rule set, or nil when the object has none.
func (f *Facts) RuleSet(object Key, set string) *RuleSet {
	return f.ruleSets[ruleKey{object.Type, object.ID, set}]
}

// RuleSets returns every stored rule set in a stable order.
func (f *Facts) RuleSets() []*RuleSet {
	out := make([]*RuleSet, 0, len(f.ruleKeys))
	for _, k := range f.ruleKeys {
		out = append(out, f.ruleSets[k])
	}
	return out
}

// Observed reports whether some stored rule carries the capability on the
// content type.
func (f *Facts) Observed(contentType, capability string) bool {
	return f.observed[contentType][capability]
}

// ObservedUnknown lists capabilities stored rules carry on the type that the
// catalogue does not list for it (spec §2), sorted.
func (f *Facts) ObservedUnknown(contentType string) []string {
	var out []string
	for c := range f.observed[contentType] {
		if !caps.Applies(contentType, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// Name returns a display name for an object or grantee id: its name, or the
// id itself when unknown.
func (f *Facts) Name(kind, id string) string {
	switch kind {
	case "user":
		if u := f.Users[id]; u != nil {
			return u.Name
		}
	case "group":
		if g := f.Groups[id]; g != nil {
			return g.Name
		}
	case "groupset":
		if g := f.GroupSets[id]; g != nil {
			return g.Name
		}
	case caps.Project:
		if p := f.Projects[id]; p != nil {
			return p.Name
		}
	default:
		if it := f.Items[Key{kind, id}]; it != nil {
			return it.Name
		}
	}
	return id
}

// ItemPath returns "Project/Sub/Name" for an item or project.
func (f *Facts) ItemPath(k Key) string {
	if k.Type == caps.Project {
		if p := f.Projects[k.ID]; p != nil {
			return p.Path
		}
		return k.ID
	}
	it := f.Items[k]
	if it == nil {
		return k.ID
	}
	if p := f.Projects[it.ProjectID]; p != nil {
		if it.Type == caps.View {
			return p.Path + "/" + f.Name(caps.Workbook, it.WorkbookID) + "/" + it.Name
		}
		return p.Path + "/" + it.Name
	}
	if it.Type == caps.Table && it.DatabaseID != "" {
		return f.Name(caps.Database, it.DatabaseID) + "/" + it.Name
	}
	return it.Name
}

// Raw rows: the snapshot tables reduced to the columns evaluation needs.
// FromSite and LoadFacts both produce them and share build, so the two
// constructors cannot drift apart in normalisation.
type rawFacts struct {
	siteName  string
	users     []rawUser
	groups    []rawGroup
	members   [][2]string // group, user
	groupSets []rawGroupSet
	setMember [][2]string // set, group
	projects  []rawProject
	items     []rawItem
	rules     []rawRule
}

type rawUser struct{ id, name, fullName, email, siteRole, glsi string }
type rawGroup struct {
	id, name, domain, minRole, mode string
	allUsers                        bool
}
type rawGroupSet struct{ id, name string }
type rawProject struct{ id, name, parent, owner, mode, controlling string }
type rawItem struct {
	typ, id, name, project, workbook, database, owner string
	showTabs                                          *bool
	location, contentPermissions                      string
}
type rawRule struct{ objType, objID, granteeType, granteeID, capability, mode, set, parent string }

func build(r *rawFacts) (*Facts, error) {
	f := &Facts{
		SiteName:  r.siteName,
		Users:     map[string]*User{},
		Groups:    map[string]*Group{},
		GroupSets: map[string]*GroupSet{},
		Projects:  map[string]*Project{},
		Items:     map[Key]*Item{},
		ruleSets:  map[ruleKey]*RuleSet{},
		observed:  map[string]map[string]bool{},
	}
	dangle := func(code, objType, objID, relType, relID, detail string) {
		f.dangling = append(f.dangling, Finding{Code: code, ObjectType: objType, ObjectID: objID, RelatedType: relType, RelatedID: relID, Detail: detail})
	}
	for _, u := range r.users {
		if _, dup := f.Users[u.id]; dup {
			return nil, fmt.Errorf("user %s appears twice", u.id)
		}
		f.Users[u.id] = &User{ID: u.id, Name: cmp.Or(u.name, u.id), FullName: u.fullName, Email: u.email,
			SiteRole: u.siteRole, GLSIMinimumSiteRole: u.glsi, inGroup: map[string]bool{}, inSet: map[string]bool{}}
		f.UserIDs = append(f.UserIDs, u.id)
	}
	slices.Sort(f.UserIDs)
	for _, g := range r.groups {
		if _, dup := f.Groups[g.id]; dup {
			return nil, fmt.Errorf("group %s appears twice", g.id)
		}
		f.Groups[g.id] = &Group{ID: g.id, Name: cmp.Or(g.name, g.id), Domain: g.domain, MinimumSiteRole: g.minRole,
			GrantLicenseMode: g.mode, AllUsers: g.allUsers}
		if g.allUsers {
			f.AllUsersID = g.id
		}
	}
	if f.AllUsersID == "" {
		// Older data without is_all_users: fall back to the built-in name.
		for _, g := range r.groups {
			if g.name == "All Users" {
				f.AllUsersID = g.id
				f.Groups[g.id].AllUsers = true
				break
			}
		}
	}
	for _, m := range r.members {
		g, u := f.Groups[m[0]], f.Users[m[1]]
		switch {
		case g == nil:
			dangle(CodeDanglingReference, "group", m[0], "user", m[1], "membership names a group that is not in groups")
		case u == nil:
			dangle(CodeDanglingReference, "group", m[0], "user", m[1], "membership names a user that is not in users")
		default:
			u.inGroup[g.ID] = true
		}
	}
	// Spec §9.1: every user is in All Users whatever the downloaded list says.
	for _, u := range f.Users {
		if f.AllUsersID != "" {
			u.inGroup[f.AllUsersID] = true
		}
		for g := range u.inGroup {
			u.Groups = append(u.Groups, g)
		}
		slices.Sort(u.Groups)
	}
	for _, id := range f.UserIDs {
		for _, g := range f.Users[id].Groups {
			f.Groups[g].Members = append(f.Groups[g].Members, id)
		}
	}
	for _, s := range r.groupSets {
		if _, dup := f.GroupSets[s.id]; dup {
			return nil, fmt.Errorf("group set %s appears twice", s.id)
		}
		f.GroupSets[s.id] = &GroupSet{ID: s.id, Name: cmp.Or(s.name, s.id)}
	}
	for _, m := range r.setMember {
		s := f.GroupSets[m[0]]
		if s == nil {
			dangle(CodeDanglingReference, "groupset", m[0], "group", m[1], "group-set membership names a group set that is not in group_sets")
			continue
		}
		if f.Groups[m[1]] == nil {
			// Kept: a set naming a group nobody can be in matches nobody.
			dangle(CodeDanglingReference, "groupset", m[0], "group", m[1], "group set names a group that is not in groups; the set matches nobody")
		}
		if !slices.Contains(s.Groups, m[1]) {
			s.Groups = append(s.Groups, m[1])
		}
	}
	for _, s := range f.GroupSets {
		slices.Sort(s.Groups)
		if len(s.Groups) == 0 {
			continue // an empty set matches nobody (spec §9.2)
		}
		for _, u := range f.Users {
			in := true
			for _, g := range s.Groups {
				if !u.inGroup[g] {
					in = false
					break
				}
			}
			if in {
				u.inSet[s.ID] = true
				u.GroupSets = append(u.GroupSets, s.ID)
				s.Members = append(s.Members, u.ID)
			}
		}
	}
	for _, s := range f.GroupSets {
		slices.Sort(s.Members)
	}
	for _, u := range f.Users {
		slices.Sort(u.GroupSets)
		f.resolveRoles(u)
		if ok, _, _, _ := ceilingCell(u.Current.Row, caps.View, "Read"); ok && !u.Current.Row.Admin {
			u.viewReader = true
			f.eligibleViewReaders++
		}
	}
	if err := f.buildProjects(r.projects, dangle); err != nil {
		return nil, err
	}
	f.buildItems(r.items, dangle)
	f.buildRules(r.rules, dangle)
	// Row order differs between a site file and a database scan; findings
	// must not.
	slices.SortFunc(f.dangling, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.ObjectType, b.ObjectType), cmp.Compare(a.ObjectID, b.ObjectID),
			cmp.Compare(a.RelatedType, b.RelatedType), cmp.Compare(a.RelatedID, b.RelatedID), cmp.Compare(a.Detail, b.Detail))
	})
	return f, nil
}

func roleInfo(raw string) RoleInfo {
	if row, ok := lookupRole(raw); ok {
		return RoleInfo{Raw: raw, Row: row, Known: true}
	}
	return RoleInfo{Raw: raw, Row: RoleRow{Role: raw, TreatedAs: raw, Ceiling: "-", Confidence: U, Flag: FlagUnknownSiteRole}}
}

// resolveRoles sets the current and projected roles (spec §9.3): projected
// is the highest of the site role and, when the server reports
// glsi_minimum_site_role, that value, otherwise the minimum site roles of the
// user's groups that grant a licence (onLogin or onSync).
func (f *Facts) resolveRoles(u *User) {
	u.Current = roleInfo(u.SiteRole)
	u.Current.Source = "site_role"
	higher := func(best RoleInfo, cand RoleInfo) RoleInfo {
		cn, bn := cand.Row.TreatedAs, best.Row.TreatedAs
		amb := best.Ambiguous
		if (cn == "Creator" && bn == "SiteAdministratorExplorer") || (cn == "SiteAdministratorExplorer" && bn == "Creator") {
			amb = true
		}
		if caps.RoleRank(cand.Raw) > caps.RoleRank(best.Raw) {
			best = cand
		}
		best.Ambiguous = amb
		return best
	}
	computed := u.Current
	for _, g := range u.Groups {
		grp := f.Groups[g]
		if grp.MinimumSiteRole == "" || (grp.GrantLicenseMode != "onLogin" && grp.GrantLicenseMode != "onSync") {
			continue
		}
		c := roleInfo(grp.MinimumSiteRole)
		c.Source = "group:" + g
		computed = higher(computed, c)
	}
	u.ComputedProjected = computed.Row.TreatedAs
	if u.GLSIMinimumSiteRole != "" {
		c := roleInfo(u.GLSIMinimumSiteRole)
		c.Source = "glsi_minimum_site_role"
		u.Projected = higher(u.Current, c)
		return
	}
	u.Projected = computed
}

func (f *Facts) buildProjects(rows []rawProject, dangle func(code, objType, objID, relType, relID, detail string)) error {
	for _, p := range rows {
		if _, dup := f.Projects[p.id]; dup {
			return fmt.Errorf("project %s appears twice", p.id)
		}
		f.Projects[p.id] = &Project{ID: p.id, Name: cmp.Or(p.name, p.id), ParentID: p.parent, OwnerID: p.owner,
			Mode: cmp.Or(p.mode, "ManagedByOwner"), ReportedControlling: p.controlling}
		f.ProjectIDs = append(f.ProjectIDs, p.id)
	}
	slices.Sort(f.ProjectIDs)
	for _, id := range f.ProjectIDs {
		p := f.Projects[id]
		if p.ParentID != "" && f.Projects[p.ParentID] == nil {
			dangle(CodeDanglingReference, caps.Project, p.ID, caps.Project, p.ParentID, "parent project is not in projects; treated as top level")
			p.ParentID = ""
		}
	}
	for _, id := range f.ProjectIDs {
		p := f.Projects[id]
		seen := map[string]bool{}
		for q := p; q != nil; q = f.Projects[q.ParentID] {
			if seen[q.ID] {
				return fmt.Errorf("project %s: cycle in the parent chain", p.ID)
			}
			seen[q.ID] = true
			p.Chain = append(p.Chain, q.ID)
		}
		names := make([]string, len(p.Chain))
		for i, q := range p.Chain {
			names[len(p.Chain)-1-i] = f.Projects[q].Name
		}
		p.Path = strings.Join(names, "/")
		// Spec §7.2: the top-most LockedToProject project on the path from the
		// root, the project included; else the project itself.
		p.ComputedControlling = p.ID
		for i := len(p.Chain) - 1; i >= 0; i-- {
			if f.Projects[p.Chain[i]].Mode == "LockedToProject" {
				p.ComputedControlling = p.Chain[i]
				break
			}
		}
		p.Controlling = p.ComputedControlling
		if p.ReportedControlling != "" {
			if f.Projects[p.ReportedControlling] != nil {
				p.Controlling = p.ReportedControlling // spec §7.2: then trust REST
			} else {
				dangle(CodeDanglingReference, caps.Project, p.ID, caps.Project, p.ReportedControlling,
					"controllingPermissionsProjectId names a project that is not in projects; the computed one is used")
			}
		}
		p.Locked = p.Controlling != p.ID || p.Mode == "LockedToProject" || p.Mode == "LockedToProjectWithoutNested"
	}
	return nil
}

func (f *Facts) buildItems(rows []rawItem, dangle func(code, objType, objID, relType, relID, detail string)) {
	for _, r := range rows {
		k := Key{r.typ, r.id}
		it := &Item{Type: r.typ, ID: r.id, Name: cmp.Or(r.name, r.id), ProjectID: r.project, WorkbookID: r.workbook,
			DatabaseID: r.database, OwnerID: r.owner, LocationType: r.location, ContentPermissions: r.contentPermissions}
		// A workbook whose showTabs is unknown is treated as showing tabs, as
		// Tableau's default is; the views then share its rules.
		it.ShowTabs = r.showTabs == nil || *r.showTabs
		f.Items[k] = it
		f.ItemKeys = append(f.ItemKeys, k)
	}
	slices.SortFunc(f.ItemKeys, func(a, b Key) int { return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID)) })
	for _, k := range f.ItemKeys {
		it := f.Items[k]
		switch it.Type {
		case caps.View:
			// Spec §7.4: the owner of a view is its workbook's owner, and the
			// project that matters is the workbook's.
			wb := f.Items[Key{caps.Workbook, it.WorkbookID}]
			if wb == nil {
				dangle(CodeDanglingReference, caps.View, it.ID, caps.Workbook, it.WorkbookID, "view's workbook is not in workbooks; the view is evaluated on its own rules")
				continue
			}
			it.ProjectID, it.OwnerID, it.LocationType, it.ShowTabs = wb.ProjectID, wb.OwnerID, wb.LocationType, wb.ShowTabs
		case caps.Table:
			if it.DatabaseID != "" && f.Items[Key{caps.Database, it.DatabaseID}] == nil {
				dangle(CodeDanglingReference, caps.Table, it.ID, caps.Database, it.DatabaseID, "table's database is not in databases")
			}
		}
		if it.ProjectID != "" && f.Projects[it.ProjectID] == nil && it.Type != caps.View {
			dangle(CodeDanglingReference, it.Type, it.ID, caps.Project, it.ProjectID, "item's project is not in projects; no project positions or locks apply")
		}
	}
}

var granteeOrder = map[string]int{"user": 0, "group": 1, "groupset": 2}

func (f *Facts) buildRules(rows []rawRule, dangle func(code, objType, objID, relType, relID, detail string)) {
	modes := map[ruleKey]map[Grantee]map[string]map[string]bool{}
	for _, r := range rows {
		k := ruleKey{r.objType, r.objID, cmp.Or(r.set, RuleSetItem)}
		kind := strings.ToLower(r.granteeType)
		s := f.ruleSets[k]
		if s == nil {
			s = &RuleSet{Object: Key{r.objType, r.objID}, Set: k.Set, byGrantee: map[Grantee]*Rule{}}
			f.ruleSets[k] = s
			f.ruleKeys = append(f.ruleKeys, k)
			modes[k] = map[Grantee]map[string]map[string]bool{}
		}
		if s.Parent == "" {
			s.Parent = r.parent
		}
		if r.mode != ModeAllow && r.mode != ModeDeny {
			dangle(CodeUnknownRuleMode, r.objType, r.objID, kind, r.granteeID,
				fmt.Sprintf("rule for %s on %s (%s) has mode %q; ignored", r.capability, k.Set, kind, r.mode))
			continue
		}
		g := Grantee{kind, r.granteeID}
		if modes[k][g] == nil {
			modes[k][g] = map[string]map[string]bool{}
		}
		if modes[k][g][r.capability] == nil {
			modes[k][g][r.capability] = map[string]bool{}
		}
		modes[k][g][r.capability][r.mode] = true
	}
	slices.SortFunc(f.ruleKeys, func(a, b ruleKey) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Set, b.Set))
	})
	for _, k := range f.ruleKeys {
		s := f.ruleSets[k]
		if k.Type == caps.Project {
			if f.Projects[k.ID] == nil {
				dangle(CodeDanglingReference, k.Type, k.ID, "", "", "rules are stored for a project that is not in projects")
			}
		} else if f.Items[Key{k.Type, k.ID}] == nil && slices.Contains(caps.ContentTypes, k.Type) && snapshotType(k.Type) {
			dangle(CodeDanglingReference, k.Type, k.ID, "", "", "rules are stored for an item that is not in the inventory")
		}
		governs := k.Type
		if t, ok := strings.CutPrefix(k.Set, "default:"); ok {
			governs = t
		}
		for g, cm := range modes[k] {
			rule := &Rule{Grantee: g, Caps: map[string]string{}}
			for c, ms := range cm {
				switch {
				case ms[ModeDeny] && ms[ModeAllow]:
					rule.Caps[c] = ModeDeny // spec §10.1
					f.conflicts = append(f.conflicts, conflict{set: k, grantee: g, capability: c})
				case ms[ModeDeny]:
					rule.Caps[c] = ModeDeny
				default:
					rule.Caps[c] = ModeAllow
				}
				if c != "InheritedProjectLeader" {
					if f.observed[governs] == nil {
						f.observed[governs] = map[string]bool{}
					}
					f.observed[governs][c] = true
				}
			}
			if governs == caps.VirtualConnection {
				mergeOverwriteAlias(rule)
			}
			if !f.granteeKnown(g) {
				dangle(CodeUnknownGrantee, k.Type, k.ID, g.Kind, g.ID,
					fmt.Sprintf("a rule on %s names %s %s, which is not on the site; it matches nobody", k.Set, g.Kind, g.ID))
			}
			s.Rules = append(s.Rules, rule)
			s.byGrantee[g] = rule
		}
		slices.SortFunc(s.Rules, func(a, b *Rule) int {
			return cmp.Or(cmp.Compare(granteeOrder[a.Grantee.Kind], granteeOrder[b.Grantee.Kind]), cmp.Compare(a.Grantee.Kind, b.Grantee.Kind), cmp.Compare(a.Grantee.ID, b.Grantee.ID))
		})
	}
	slices.SortFunc(f.conflicts, func(a, b conflict) int {
		return cmp.Or(cmp.Compare(a.set.Type, b.set.Type), cmp.Compare(a.set.ID, b.set.ID), cmp.Compare(a.set.Set, b.set.Set),
			cmp.Compare(a.grantee.String(), b.grantee.String()), cmp.Compare(a.capability, b.capability))
	})
}

// snapshotType reports whether the snapshot has an inventory table for the
// type; data roles, lenses and metrics have none, so their rules cannot be
// checked against an inventory.
func snapshotType(t string) bool {
	switch t {
	case caps.DataRole, caps.Lens, caps.Metric:
		return false
	}
	return true
}

// mergeOverwriteAlias treats virtual-connection Write and Overwrite as one
// capability (spec §2.6): a rule carrying either carries both, Deny winning.
func mergeOverwriteAlias(r *Rule) {
	w, o := r.Caps["Write"], r.Caps["Overwrite"]
	if w == "" && o == "" {
		return
	}
	m := ModeAllow
	if w == ModeDeny || o == ModeDeny {
		m = ModeDeny
	}
	r.Caps["Write"], r.Caps["Overwrite"] = m, m
}

func (f *Facts) granteeKnown(g Grantee) bool {
	switch g.Kind {
	case "user":
		return f.Users[g.ID] != nil
	case "group":
		return f.Groups[g.ID] != nil
	case "groupset":
		return f.GroupSets[g.ID] != nil
	}
	return false
}

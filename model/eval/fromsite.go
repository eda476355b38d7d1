package eval

import (
	"fmt"
	"slices"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// FromSite builds Facts from a site file, with every id mapped through
// site.LUID and names defaulting to short ids, as an extraction of the
// simulator serving that site would record them. It lets unit tests and the
// spec vectors run without HTTP or DuckDB.
func FromSite(s *site.Site) (*Facts, error) {
	r, err := siteRows(s)
	if err != nil {
		return nil, err
	}
	return build(r)
}

// siteRows converts a site into the raw snapshot rows FromSite builds from.
// It follows the simulator's reading of the site (extract/tableautest): the
// reported controlling project, showTabs defaulting to true, no project for
// Personal Space content, the <parent> element for content in locked
// projects, view owner and project taken from the workbook.
func siteRows(s *site.Site) (*rawFacts, error) {
	r := &rawFacts{siteName: s.Name}
	for _, u := range s.Users {
		r.users = append(r.users, rawUser{id: site.LUID("user", u.ID), name: site.DisplayName(u.Name, u.ID),
			fullName: u.FullName, email: u.Email, siteRole: u.Role, glsi: u.GLSIMinimumSiteRole})
	}
	hasAll := false
	for _, g := range s.Groups {
		all := g.ID == site.AllUsersID
		hasAll = hasAll || all
		name := site.DisplayName(g.Name, g.ID)
		if all {
			name = site.AllUsersName
		}
		r.groups = append(r.groups, rawGroup{id: site.LUID("group", g.ID), name: name, domain: g.Domain,
			minRole: g.MinimumSiteRole, mode: g.LicenseMode, allUsers: all})
		members := g.Members
		if all {
			members = nil
			for _, u := range s.Users {
				members = append(members, u.ID)
			}
		}
		for _, m := range members {
			r.members = append(r.members, [2]string{site.LUID("group", g.ID), site.LUID("user", m)})
		}
	}
	if !hasAll {
		// A Site built in code rather than loaded has no All Users entry yet.
		r.groups = append(r.groups, rawGroup{id: site.LUID("group", site.AllUsersID), name: site.AllUsersName, allUsers: true})
	}
	for _, gs := range s.GroupSets {
		r.groupSets = append(r.groupSets, rawGroupSet{id: site.LUID("groupset", gs.ID), name: site.DisplayName(gs.Name, gs.ID)})
		for _, g := range gs.Groups {
			r.setMember = append(r.setMember, [2]string{site.LUID("groupset", gs.ID), site.LUID("group", g)})
		}
	}
	// Reported controlling projects and locks, as the simulator computes them.
	byID := map[string]*site.Project{}
	for i := range s.Projects {
		byID[s.Projects[i].ID] = &s.Projects[i]
	}
	control := map[string]string{}  // reported (site override applied)
	computed := map[string]string{} // spec §7.2 from the tree
	locked := map[string]bool{}
	for _, p := range s.Projects {
		c := p.ID
		seen := map[string]bool{}
		for q := &p; q != nil; q = byID[q.Parent] {
			if seen[q.ID] {
				return nil, fmt.Errorf("project %q: cycle in the parent chain", p.ID)
			}
			seen[q.ID] = true
			if q.ContentPermissions == "LockedToProject" {
				c = q.ID
			}
		}
		locked[p.ID] = c != p.ID || p.ContentPermissions == "LockedToProject" || p.ContentPermissions == "LockedToProjectWithoutNested"
		computed[p.ID] = c
		if p.ControllingProject != "" {
			c = p.ControllingProject
		}
		control[p.ID] = c
	}
	parentOf := func(project string) string {
		if project == "" || !locked[project] {
			return ""
		}
		return site.LUID("project", control[project])
	}
	addRules := func(objType, objID, set, contentType, parent string, rules []site.Rule) error {
		for _, rule := range rules {
			kind, id, err := site.ParseGrantee(rule.Grantee)
			if err != nil {
				return fmt.Errorf("%s %s: %w", objType, objID, err)
			}
			cs, err := rule.Capabilities(contentType)
			if err != nil {
				return fmt.Errorf("%s %s rule for %s: %w", objType, objID, rule.Grantee, err)
			}
			for _, c := range cs {
				r.rules = append(r.rules, rawRule{objType: objType, objID: site.LUID(objType, objID), granteeType: kind,
					granteeID: site.LUID(kind, id), capability: c.Name, mode: c.Mode, set: set, parent: parent})
			}
		}
		return nil
	}
	for _, p := range s.Projects {
		mode := p.ContentPermissions
		if computed[p.ID] != p.ID {
			mode = "LockedToProject" // a project under a lock root reports the lock (spec §7.2)
		}
		parent := ""
		if p.Parent != "" {
			parent = site.LUID("project", p.Parent)
		}
		owner := ""
		if p.Owner != "" {
			owner = site.LUID("user", p.Owner)
		}
		r.projects = append(r.projects, rawProject{id: site.LUID("project", p.ID), name: site.DisplayName(p.Name, p.ID),
			parent: parent, owner: owner, mode: mode, controlling: site.LUID("project", control[p.ID])})
		pp := ""
		if control[p.ID] != p.ID {
			pp = site.LUID("project", control[p.ID])
		}
		if err := addRules(caps.Project, p.ID, RuleSetItem, caps.Project, pp, p.Rules); err != nil {
			return nil, err
		}
		for _, t := range sortedKeys(p.Defaults) {
			if err := addRules(caps.Project, p.ID, DefaultRuleSet(t), t, "", p.Defaults[t]); err != nil {
				return nil, err
			}
		}
	}
	items := map[string]*site.Item{}
	for i := range s.Items {
		items[s.Items[i].ID] = &s.Items[i]
	}
	for _, it := range s.Items {
		ri := rawItem{typ: it.Type, id: site.LUID(it.Type, it.ID), name: site.DisplayName(it.Name, it.ID),
			showTabs: it.ShowTabs, location: it.LocationType, contentPermissions: it.ContentPermissions}
		project, owner := it.Project, it.Owner
		switch it.Type {
		case caps.View:
			wb := items[it.Workbook]
			ri.workbook = site.LUID(caps.Workbook, it.Workbook)
			if wb != nil {
				project, owner, ri.location = wb.Project, wb.Owner, wb.LocationType
				if wb.LocationType == "PersonalSpace" {
					project = ""
				}
			}
			ri.showTabs = nil
		case caps.Table:
			ri.database = site.LUID(caps.Database, it.Database)
		}
		if it.Type != caps.Workbook {
			ri.showTabs = nil
		}
		if it.LocationType == "PersonalSpace" {
			project = "" // the simulator sends no project element (spec tableau-rest §5.4)
		}
		if project != "" {
			ri.project = site.LUID("project", project)
		}
		if owner != "" {
			ri.owner = site.LUID("user", owner)
		}
		if it.Type == caps.Database && ri.contentPermissions == "" {
			ri.contentPermissions = "ManagedByOwner"
		}
		r.items = append(r.items, ri)
		if err := addRules(it.Type, it.ID, RuleSetItem, it.Type, parentOf(project), it.Rules); err != nil {
			return nil, err
		}
		for _, t := range sortedKeys(it.Defaults) {
			if err := addRules(it.Type, it.ID, DefaultRuleSet(t), t, "", it.Defaults[t]); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

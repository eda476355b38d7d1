package tableautest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// defaultTime is served for a missing createdAt/updatedAt: Tableau always
// sends both, and a fixed value keeps responses reproducible.
const defaultTime = "2024-01-01T00:00:00Z"

// index is the site prepared once at Start for serving: LUIDs computed,
// references resolved to pointers, lists in serving order (site-file order),
// per-parent lists built. Nothing in it changes after Start, so handlers read
// it without locks.
type index struct {
	site     *site.Site
	siteLUID string

	users      []*userRec
	userByLUID map[string]*userRec
	userByID   map[string]*userRec
	userByName map[string]*userRec

	groups      []*groupRec
	groupByLUID map[string]*groupRec
	groupByID   map[string]*groupRec

	groupSets      []*groupSetRec
	groupSetByLUID map[string]*groupSetRec
	groupSetByID   map[string]*groupSetRec

	projects      []*projectRec
	projectByLUID map[string]*projectRec
	projectByID   map[string]*projectRec

	// items by content type, and by content type then LUID.
	items      map[string][]*itemRec
	itemByLUID map[string]map[string]*itemRec
	itemByID   map[string]*itemRec

	jobs          []*site.Job
	jobByLUID     map[string]*site.Job
	schedules     []*site.Schedule
	scheduleByID  map[string]*site.Schedule
	tasks         []*site.ExtractRefreshTask
	sheetTypeOfID map[string]string // view item id → dashboard (lineage); worksheet otherwise
}

type userRec struct {
	u      *site.User
	luid   string
	name   string
	groups []*groupRec
	// owned counts content owned, for ownsContent-like attributes.
}

type groupRec struct {
	g       *site.Group
	luid    string
	name    string
	members []*userRec
}

type groupSetRec struct {
	gs     *site.GroupSet
	luid   string
	name   string
	groups []*groupRec
}

type projectRec struct {
	p           *site.Project
	luid        string
	name        string
	parent      *projectRec
	ownerLUID   string
	owner       *userRec // nil for an orphaned owner
	mode        string   // contentPermissions as served
	controlling *projectRec
	// locked is true when content directly in this project is governed by
	// a project's defaults (spec §7.2).
	locked   bool
	children []*projectRec
	counts   [4]int // projects, workbooks, views, datasources
}

type itemRec struct {
	it         *site.Item
	luid       string
	name       string
	typ        string
	project    *projectRec
	workbook   *itemRec // views
	database   *itemRec // tables
	ownerLUID  string
	owner      *userRec
	views      []*itemRec // workbooks
	contentURL string
}

func ts(t *time.Time) string {
	if t == nil {
		return defaultTime
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// optTime formats an optional time; nil is "" (attribute left out).
func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return ts(t)
}

// buildIndex resolves every reference of the site. It trusts a site that
// passed site.Load's validation but still reports dangling references
// instead of panicking, since generated sites skip that validation.
func buildIndex(s *site.Site) (*index, error) {
	ix := &index{
		site:           s,
		siteLUID:       site.LUID("site", siteID(s)),
		userByLUID:     make(map[string]*userRec, len(s.Users)),
		userByID:       make(map[string]*userRec, len(s.Users)),
		userByName:     make(map[string]*userRec, len(s.Users)),
		groupByLUID:    make(map[string]*groupRec, len(s.Groups)),
		groupByID:      make(map[string]*groupRec, len(s.Groups)),
		groupSetByLUID: map[string]*groupSetRec{},
		groupSetByID:   map[string]*groupSetRec{},
		projectByLUID:  make(map[string]*projectRec, len(s.Projects)),
		projectByID:    make(map[string]*projectRec, len(s.Projects)),
		items:          map[string][]*itemRec{},
		itemByLUID:     map[string]map[string]*itemRec{},
		itemByID:       make(map[string]*itemRec, len(s.Items)),
		jobByLUID:      map[string]*site.Job{},
		scheduleByID:   map[string]*site.Schedule{},
		sheetTypeOfID:  map[string]string{},
	}
	ix.users = make([]*userRec, len(s.Users))
	for i := range s.Users {
		u := &s.Users[i]
		r := &userRec{u: u, luid: site.LUID("user", u.ID), name: site.DisplayName(u.Name, u.ID)}
		ix.users[i] = r
		ix.userByLUID[r.luid] = r
		ix.userByID[u.ID] = r
		ix.userByName[strings.ToLower(r.name)] = r
	}
	hasAllUsers := false
	for i := range s.Groups {
		g := &s.Groups[i]
		r := &groupRec{g: g, luid: site.LUID("group", g.ID), name: site.DisplayName(g.Name, g.ID)}
		if g.ID == site.AllUsersID {
			hasAllUsers = true
		}
		for _, m := range g.Members {
			u := ix.userByID[m]
			if u == nil {
				return nil, fmt.Errorf("group %q: member %q is not a user of the site", g.ID, m)
			}
			r.members = append(r.members, u)
		}
		ix.groups = append(ix.groups, r)
		ix.groupByLUID[r.luid] = r
		ix.groupByID[g.ID] = r
	}
	if !hasAllUsers {
		// Sites built in Go (not loaded from a file) may lack the implicit
		// group; Tableau always has it, so the simulator adds it.
		g := &site.Group{ID: site.AllUsersID, Name: site.AllUsersName}
		r := &groupRec{g: g, luid: site.LUID("group", g.ID), name: g.Name, members: ix.users}
		ix.groups = append([]*groupRec{r}, ix.groups...)
		ix.groupByLUID[r.luid] = r
		ix.groupByID[g.ID] = r
	}
	for _, g := range ix.groups {
		for _, u := range g.members {
			u.groups = append(u.groups, g)
		}
	}
	for i := range s.GroupSets {
		gs := &s.GroupSets[i]
		r := &groupSetRec{gs: gs, luid: site.LUID("groupset", gs.ID), name: site.DisplayName(gs.Name, gs.ID)}
		for _, gid := range gs.Groups {
			g := ix.groupByID[gid]
			if g == nil {
				return nil, fmt.Errorf("group set %q: unknown group %q", gs.ID, gid)
			}
			r.groups = append(r.groups, g)
		}
		ix.groupSets = append(ix.groupSets, r)
		ix.groupSetByLUID[r.luid] = r
		ix.groupSetByID[gs.ID] = r
	}
	for i := range s.Projects {
		p := &s.Projects[i]
		r := &projectRec{p: p, luid: site.LUID("project", p.ID), name: site.DisplayName(p.Name, p.ID)}
		if p.Owner != "" {
			r.ownerLUID = site.LUID("user", p.Owner)
			r.owner = ix.userByID[p.Owner]
		}
		ix.projects = append(ix.projects, r)
		ix.projectByLUID[r.luid] = r
		ix.projectByID[p.ID] = r
	}
	for _, r := range ix.projects {
		if r.p.Parent != "" {
			r.parent = ix.projectByID[r.p.Parent]
			if r.parent == nil {
				return nil, fmt.Errorf("project %q: unknown parent %q", r.p.ID, r.p.Parent)
			}
			r.parent.children = append(r.parent.children, r)
		}
	}
	for _, r := range ix.projects {
		if err := r.resolveControl(ix, len(ix.projects)); err != nil {
			return nil, err
		}
	}
	for i := range s.Items {
		it := &s.Items[i]
		r := &itemRec{it: it, luid: site.LUID(it.Type, it.ID), name: site.DisplayName(it.Name, it.ID), typ: it.Type}
		r.contentURL = contentURLOf(r.name, it.ID)
		if it.Project != "" {
			r.project = ix.projectByID[it.Project]
			if r.project == nil {
				return nil, fmt.Errorf("item %q: unknown project %q", it.ID, it.Project)
			}
		}
		if it.Owner != "" {
			r.ownerLUID = site.LUID("user", it.Owner)
			r.owner = ix.userByID[it.Owner]
		}
		if ix.itemByLUID[it.Type] == nil {
			ix.itemByLUID[it.Type] = map[string]*itemRec{}
		}
		ix.items[it.Type] = append(ix.items[it.Type], r)
		ix.itemByLUID[it.Type][r.luid] = r
		ix.itemByID[it.ID] = r
	}
	for _, r := range ix.itemByID {
		switch r.typ {
		case caps.View:
			w := ix.itemByID[r.it.Workbook]
			if w == nil || w.typ != caps.Workbook {
				return nil, fmt.Errorf("view %q: unknown workbook %q", r.it.ID, r.it.Workbook)
			}
			r.workbook = w
			// A view's owner and project are its workbook's (spec §7.4).
			r.project, r.owner, r.ownerLUID = w.project, w.owner, w.ownerLUID
		case caps.Table:
			d := ix.itemByID[r.it.Database]
			if d == nil || d.typ != caps.Database {
				return nil, fmt.Errorf("table %q: unknown database %q", r.it.ID, r.it.Database)
			}
			r.database = d
		}
	}
	// Views in site order under their workbook.
	for _, v := range ix.items[caps.View] {
		v.workbook.views = append(v.workbook.views, v)
	}
	for _, p := range ix.projects {
		p.counts[0] = len(p.children)
	}
	for _, w := range ix.items[caps.Workbook] {
		if w.project != nil {
			w.project.counts[1]++
			w.project.counts[2] += len(w.views)
		}
	}
	for _, d := range ix.items[caps.Datasource] {
		if d.project != nil {
			d.project.counts[3]++
		}
	}
	for i := range s.Jobs {
		j := &s.Jobs[i]
		ix.jobs = append(ix.jobs, j)
		ix.jobByLUID[site.LUID("job", j.ID)] = j
	}
	for i := range s.Schedules {
		sc := &s.Schedules[i]
		ix.schedules = append(ix.schedules, sc)
		ix.scheduleByID[sc.ID] = sc
	}
	for i := range s.ExtractRefreshTasks {
		ix.tasks = append(ix.tasks, &s.ExtractRefreshTasks[i])
	}
	if s.Lineage != nil {
		for _, d := range s.Lineage.Dashboards {
			if d.View != "" {
				ix.sheetTypeOfID[d.View] = "dashboard"
			}
		}
	}
	return ix, nil
}

func siteID(s *site.Site) string {
	if s.ID != "" {
		return s.ID
	}
	if s.ContentURL != "" {
		return s.ContentURL
	}
	return "default"
}

// resolveControl computes contentPermissions and the controlling project as
// a Tableau server reports them (spec §7.1–7.2): the top-most
// LockedToProject ancestor controls, and a nested project under it reports
// LockedToProject itself. ControllingProject in the site file overrides the
// reported id (to test CONTROLLING_PROJECT_MISMATCH).
func (r *projectRec) resolveControl(ix *index, limit int) error {
	r.mode = r.p.ContentPermissions
	if r.mode == "" {
		r.mode = "ManagedByOwner"
	}
	var chain []*projectRec
	for q := r; q != nil; q = q.parent {
		chain = append(chain, q)
		if len(chain) > limit {
			return fmt.Errorf("project %q: cycle in parent chain", r.p.ID)
		}
	}
	r.controlling = r
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].p.ContentPermissions == "LockedToProject" {
			r.controlling = chain[i]
			break
		}
	}
	if r.controlling != r {
		r.mode = "LockedToProject"
	}
	r.locked = r.controlling != r || r.mode == "LockedToProject" || r.mode == "LockedToProjectWithoutNested"
	if r.p.ControllingProject != "" {
		c := ix.projectByID[r.p.ControllingProject]
		if c == nil {
			return fmt.Errorf("project %q: unknown controlling_project %q", r.p.ID, r.p.ControllingProject)
		}
		r.controlling = c
	}
	return nil
}

// contentURLOf makes a Tableau-like contentUrl: the name without characters
// that are not letters or digits, made unique by the short id when empty.
func contentURLOf(name, id string) string {
	var b strings.Builder
	for _, c := range name {
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return id
	}
	return b.String()
}

// inGroupSet reports whether the user is in every group of the set (spec §9.2).
func (u *userRec) inGroupSet(gs *groupSetRec) bool {
	if len(gs.groups) == 0 {
		return false
	}
	for _, g := range gs.groups {
		if !slices.Contains(u.groups, g) {
			return false
		}
	}
	return true
}

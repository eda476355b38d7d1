package tableautest

import (
	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

func isAdmin(sess *session) bool { return caps.IsAdmin(sess.user.u.Role) }

func (s *Server) serverInfo(q *request) *apiErr {
	settings := el("serverSettings").add(textEl("oAuthEnabled", "true"), textEl("sheetImageMaxAgeFloor", "1"),
		textEl("sheetImageMaxAgeCeiling", "60"), textEl("offlineInteractionSupportedPhase", "0"))
	pv := textEl("productVersion", s.cfg.productVersion)
	pv.set("build", s.cfg.build)
	q.write(200, el("serverInfo").add(pv, textEl("prepConductorVersion", s.cfg.build),
		textEl("restApiVersion", s.maxVer.String()), textEl("platform", "linux"), settings))
	return nil
}

func (s *Server) siteNode() *node {
	st := s.ix.site
	n := el("site", "id", s.ix.siteLUID, "name", site.DisplayName(st.Name, siteID(st)))
	n.attrs = append(n.attrs, attr{"contentUrl", st.ContentURL})
	n.set("state", "Active").set("adminMode", "ContentAndUsers").set("revisionHistoryEnabled", "true").
		set("groupSetsEnabled", "true").set("catalogingEnabled", "true").set("derivedPermissionsEnabled", "false")
	return n
}

// listSites lists the one site served (a simulator has no other sites).
func (s *Server) listSites(q *request) *apiErr {
	q.write(200, el("pagination", "pageNumber", "1", "pageSize", "100", "totalAvailable", "1"), el("sites").add(s.siteNode()))
	return nil
}

func (s *Server) getSite(q *request) *apiErr {
	q.write(200, s.siteNode())
	return nil
}

func (s *Server) listUsers(q *request) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	all := s.ix.users
	if !isAdmin(q.sess) {
		// A non-administrator sees only itself (user visibility Limited).
		all = nil
		if u := s.ix.userByLUID[q.sess.user.luid]; u != nil {
			all = []*userRec{u}
		}
	}
	return writeList(s, q, lp, all, userFields, "users", func(u *userRec) *node { return userNode("user", u, lp) })
}

// writeList filters, sorts, pages and writes a list response.
func writeList[T any](s *Server, q *request, lp listParams, all []T, acc accessor[T], wrapper string, build func(T) *node) *apiErr {
	sel, e := selectList(all, lp, acc)
	if e != nil {
		return e
	}
	page, pag, e := paginate(s, q, lp, sel)
	if e != nil {
		return e
	}
	w := el(wrapper)
	w.kids = make([]*node, 0, len(page))
	for _, r := range page {
		w.item(build(r))
	}
	q.write(200, pag, w)
	return nil
}

func (s *Server) getUser(q *request, id string) *apiErr {
	u := s.ix.userByLUID[id]
	if u == nil && id == s.syn.luid && s.admin == s.syn {
		u = s.syn
	}
	if u == nil {
		return errNotFound("user", id)
	}
	if !isAdmin(q.sess) && u != q.sess.user {
		return errf(403, "403133", "Query user permissions forbidden", "Only administrators can query other users.")
	}
	q.write(200, userNode("user", u, listParams{fields: map[string]bool{"_all_": true}}))
	return nil
}

func (s *Server) listUserGroups(q *request, id string) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	u := s.ix.userByLUID[id]
	if u == nil {
		return errNotFound("user", id)
	}
	if !isAdmin(q.sess) && u != q.sess.user {
		return errf(403, "403133", "Query user permissions forbidden", "Only administrators can query other users.")
	}
	return writeList(s, q, lp, u.groups, groupFields, "groups", func(g *groupRec) *node {
		return el("group", "id", g.luid, "name", g.name).add(el("domain", "name", groupDomain(g)))
	})
}

func (s *Server) listGroups(q *request) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	return writeList(s, q, lp, s.ix.groups, groupFields, "groups", func(g *groupRec) *node { return groupNode(g, lp) })
}

func (s *Server) listGroupUsers(q *request, id string) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	g := s.ix.groupByLUID[id]
	if g == nil {
		return errNotFound("group", id)
	}
	return writeList(s, q, lp, g.members, userFields, "users", func(u *userRec) *node { return userNode("user", u, lp) })
}

func (s *Server) listGroupSets(q *request) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	return writeList(s, q, lp, s.ix.groupSets, groupSetFields, "groupSets", groupSetNode)
}

func (s *Server) getGroupSet(q *request, id string) *apiErr {
	gs := s.ix.groupSetByLUID[id]
	if gs == nil {
		return errNotFound("groupset", id)
	}
	q.write(200, groupSetNode(gs))
	return nil
}

func (s *Server) listProjects(q *request) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	return writeList(s, q, lp, s.ix.projects, s.projAcc, "projects", func(p *projectRec) *node { return s.projectNode(p, lp) })
}

func (s *Server) getProject(q *request, id string) *apiErr {
	p := s.ix.projectByLUID[id]
	if p == nil {
		return errNotFound("project", id)
	}
	q.write(200, s.projectNode(p, listParams{fields: map[string]bool{"_all_": true}}))
	return nil
}

var pluralOf = map[string]string{
	caps.Workbook: "workbooks", caps.View: "views", caps.Datasource: "datasources", caps.Flow: "flows",
	caps.VirtualConnection: "virtualConnections", caps.Database: "databases", caps.Table: "tables",
	caps.Metric: "metrics", caps.Lens: "lenses",
}

// listItems serves the site-wide list of a content type. A non-admin sees
// only what canRead allows; hidden views are listed for administrators only,
// with hidden="true".
func (s *Server) listItems(q *request, typ string) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	admin := isAdmin(q.sess)
	all := s.ix.items[typ]
	if !admin {
		vis := make([]*itemRec, 0, len(all))
		for _, it := range all {
			if s.canRead(q.sess, it) {
				vis = append(vis, it)
			}
		}
		all = vis
	}
	return writeList(s, q, lp, all, s.itemAcc, pluralOf[typ], func(it *itemRec) *node { return s.itemNode(it, lp, admin) })
}

func (s *Server) findItem(q *request, typ, id string) (*itemRec, *apiErr) {
	it := s.ix.itemByLUID[typ][id]
	if it == nil || !s.canRead(q.sess, it) {
		return nil, errNotFound(typ, id)
	}
	return it, nil
}

func (s *Server) getItem(q *request, typ, id string) *apiErr {
	it, e := s.findItem(q, typ, id)
	if e != nil {
		return e
	}
	admin := isAdmin(q.sess)
	all := listParams{fields: map[string]bool{"_all_": true}}
	n := s.itemNode(it, all, admin)
	if typ == caps.Workbook {
		// The single GET embeds the views (after tags, per the XSD).
		views := el("views")
		for _, v := range it.views {
			if admin || !v.it.Hidden {
				views.item(el("view", "id", v.luid, "name", v.name, "contentUrl", it.contentURL+"/sheets/"+v.contentURL))
			}
		}
		n.add(views)
	}
	q.write(200, n)
	return nil
}

// listWorkbookViews is GET workbooks/{id}/views: not paginated, no
// workbook/owner/project children (spec/tableau-rest.md §5.6).
func (s *Server) listWorkbookViews(q *request, id string) *apiErr {
	w, e := s.findItem(q, caps.Workbook, id)
	if e != nil {
		return e
	}
	admin := isAdmin(q.sess)
	views := el("views")
	for _, v := range w.views {
		if v.it.Hidden && !admin {
			continue
		}
		n := el("view", "id", v.luid, "name", v.name, "contentUrl", w.contentURL+"/sheets/"+v.contentURL,
			"createdAt", ts(v.it.CreatedAt), "updatedAt", ts(v.it.UpdatedAt), "sheetType", s.sheetType(v), "viewUrlName", v.contentURL)
		if admin && v.it.Hidden {
			n.set("hidden", "true")
		}
		views.item(n.add(tagsNode(v.it.Tags)))
	}
	q.write(200, views)
	return nil
}

func jobNode(j *site.Job) *node {
	return el("backgroundJob", "id", site.LUID("job", j.ID), "status", jobStatus(j), "jobType", j.Type,
		"priority", "50", "createdAt", ts(j.CreatedAt), "startedAt", optTime(j.StartedAt),
		"endedAt", optTime(j.CompletedAt), "title", j.Item)
}

func (s *Server) listJobs(q *request) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	if !isAdmin(q.sess) {
		return errf(403, "403000", "Forbidden", "Only administrators can query jobs.")
	}
	return writeList(s, q, lp, s.ix.jobs, jobFields, "backgroundJobs", jobNode)
}

func (s *Server) getJob(q *request, id string) *apiErr {
	j := s.ix.jobByLUID[id]
	if j == nil {
		return errNotFound("job", id)
	}
	finish := "0"
	switch jobStatus(j) {
	case "Failed":
		finish = "1"
	case "Cancelled":
		finish = "2"
	case "InProgress", "Pending":
		finish = ""
	}
	n := el("job", "id", id, "mode", "Asynchronous", "type", j.Type, "progress", "100", "createdAt", ts(j.CreatedAt),
		"startedAt", optTime(j.StartedAt), "completedAt", optTime(j.CompletedAt), "finishCode", finish)
	if it := s.ix.itemByID[j.Item]; it != nil && (it.typ == caps.Workbook || it.typ == caps.Datasource) {
		n.add(el("extractRefreshJob").add(textEl("notes", jobStatus(j)), el(it.typ, "id", it.luid, "name", it.name)))
	}
	q.write(200, n)
	return nil
}

func scheduleNode(sc *site.Schedule) *node {
	state := sc.State
	if state == "" {
		state = "Active"
	}
	return el("schedule", "id", site.LUID("schedule", sc.ID), "name", site.DisplayName(sc.Name, sc.ID),
		"state", state, "priority", "50", "type", sc.Type, "frequency", sc.Frequency,
		"createdAt", defaultTime, "updatedAt", defaultTime)
}

func (s *Server) listSchedules(q *request) *apiErr {
	lp, e := parseList(q)
	if e != nil {
		return e
	}
	return writeList(s, q, lp, s.ix.schedules, scheduleFields, "schedules", scheduleNode)
}

// listTasks is GET tasks/extractRefreshes: not paginated.
func (s *Server) listTasks(q *request) *apiErr {
	if !isAdmin(q.sess) {
		return errf(403, "403000", "Forbidden", "Only administrators can query extract refresh tasks.")
	}
	tasks := el("tasks")
	for _, t := range s.ix.tasks {
		typ := t.Type
		if typ == "" {
			typ = "FullRefresh"
		}
		er := el("extractRefresh", "id", site.LUID("task", t.ID), "priority", "50", "consecutiveFailedCount", "0",
			"type", typ, "incremental", boolStr(typ == "IncrementalRefresh"))
		if sc := s.ix.scheduleByID[t.Schedule]; sc != nil {
			er.add(scheduleNode(sc))
		}
		if it := s.ix.itemByID[t.Item]; it != nil {
			er.add(el(it.typ, "id", it.luid))
		}
		tasks.item(el("task").add(er))
	}
	q.write(200, tasks)
	return nil
}

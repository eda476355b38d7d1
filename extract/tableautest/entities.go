package tableautest

import (
	"strconv"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// Element builders. Children are appended in the order of the 3.29 XSD
// sequences (they are validated against it); attributes marked ★ in
// spec/tableau-rest.md §5 appear only with fields=_all_ (or when named).

func boolStr(b bool) string { return strconv.FormatBool(b) }

func userDomain(u *site.User) string {
	if u.Domain != "" {
		return u.Domain
	}
	return "local"
}

func userNode(name string, u *userRec, lp listParams) *node {
	n := el(name, "id", u.luid, "name", u.name, "siteRole", u.u.Role, "fullName", u.u.FullName,
		"glsiMinimumSiteRole", u.u.GLSIMinimumSiteRole)
	if u.u.LastLogin != nil {
		n.set("lastLogin", ts(u.u.LastLogin))
	}
	n.attrs = append(n.attrs, attr{"externalAuthUserId", ""}, attr{"locale", ""}, attr{"language", "en"})
	if lp.field("email") {
		n.set("email", u.u.Email)
	}
	if lp.field("authSetting") {
		a := u.u.AuthSetting
		if a == "" {
			a = "ServerDefault"
		}
		n.set("authSetting", a)
	}
	return n.add(el("domain", "name", userDomain(u.u)))
}

// ownerNode is the owner child of content; details only with _all_.
func (s *Server) ownerNode(name, luid string, lp listParams) *node {
	if luid == "" {
		return nil
	}
	n := el(name, "id", luid)
	if lp.all() {
		if u := s.ix.userByLUID[luid]; u != nil {
			n.set("name", u.name).set("fullName", u.u.FullName).set("email", u.u.Email).set("siteRole", u.u.Role)
			if u.u.LastLogin != nil {
				n.set("lastLogin", ts(u.u.LastLogin))
			}
		}
	}
	return n
}

func groupNode(g *groupRec, lp listParams) *node {
	n := el("group", "id", g.luid, "name", g.name, "minimumSiteRole", g.g.MinimumSiteRole)
	if lp.field("userCount") {
		n.set("userCount", itoa(len(g.members)))
	}
	domain := g.g.Domain
	if domain == "" {
		domain = "local"
	}
	n.add(el("domain", "name", domain))
	// TSC reads the minimum site role and license mode from <import>;
	// Tableau sends it for imported groups and for grant-license groups.
	if g.g.LicenseMode != "" || (domain != "local" && g.g.MinimumSiteRole != "") {
		role := g.g.MinimumSiteRole
		if role == "" {
			role = "Unlicensed"
		}
		mode := g.g.LicenseMode
		if mode == "" {
			mode = "onLogin"
		}
		n.add(el("import", "domainName", domain, "siteRole", role, "grantLicenseMode", mode, "source", "ActiveDirectory"))
	}
	return n
}

func groupSetNode(gs *groupSetRec) *node {
	n := el("groupSet", "id", gs.luid, "name", gs.name, "groupCount", itoa(len(gs.groups)))
	for _, g := range gs.groups {
		n.item(el("group", "id", g.luid, "name", g.name))
	}
	return n
}

func (s *Server) projectNode(p *projectRec, lp listParams) *node {
	n := el("project", "id", p.luid, "name", p.name, "description", p.p.Description,
		"contentPermissions", p.mode, "controllingPermissionsProjectId", p.controlling.luid,
		"createdAt", ts(p.p.CreatedAt), "updatedAt", ts(p.p.UpdatedAt))
	if p.parent != nil {
		n.set("parentProjectId", p.parent.luid)
	}
	if lp.field("topLevelProject") {
		n.set("topLevelProject", boolStr(p.parent == nil))
	}
	if lp.field("writeable") {
		n.set("writeable", "true")
	}
	n.add(s.ownerNode("owner", p.ownerLUID, lp))
	if lp.field("contentsCounts") {
		n.add(el("contentsCounts", "projectCount", itoa(p.counts[0]), "workbookCount", itoa(p.counts[1]),
			"viewCount", itoa(p.counts[2]), "datasourceCount", itoa(p.counts[3])))
	}
	return n
}

func tagsNode(tags []string) *node {
	n := el("tags")
	for _, t := range tags {
		n.item(el("tag", "label", t))
	}
	return n
}

func personal(it *itemRec) bool { return it.it.LocationType == "PersonalSpace" }

// projectRef and locationRef: content in Personal Space has no project
// element and a PersonalSpace location (spec/tableau-rest.md §5.4).
func (s *Server) projectRef(it *itemRec) *node {
	if it.project == nil || personal(it) {
		return nil
	}
	return el("project", "id", it.project.luid, "name", it.project.name)
}

func (s *Server) locationRef(it *itemRec, lp listParams) *node {
	if !lp.field("location") {
		return nil
	}
	if personal(it) {
		return el("location", "id", it.ownerLUID, "type", "PersonalSpace", "name", "Personal Space")
	}
	if it.project == nil {
		return nil
	}
	return el("location", "id", it.project.luid, "type", "Project", "name", it.project.name)
}

// itemNode builds the element for any content item.
func (s *Server) itemNode(it *itemRec, lp listParams, admin bool) *node {
	i := it.it
	switch it.typ {
	case caps.Workbook:
		n := el("workbook", "id", it.luid, "name", it.name, "description", i.Description, "contentUrl", it.contentURL,
			"webpageUrl", "#/workbooks/"+it.contentURL, "showTabs", boolStr(i.ShowTabs == nil || *i.ShowTabs),
			"size", itoa(int(i.SizeBytes)), "createdAt", ts(i.CreatedAt), "updatedAt", ts(i.UpdatedAt))
		if lp.field("sheetCount") {
			n.set("sheetCount", itoa(len(it.views)))
		}
		if lp.field("hasExtracts") {
			n.set("hasExtracts", boolStr(i.HasExtracts))
		}
		if lp.field("defaultViewId") && len(it.views) > 0 {
			n.set("defaultViewId", it.views[0].luid)
		}
		return n.add(s.projectRef(it), s.locationRef(it, lp), s.ownerNode("owner", it.ownerLUID, lp), tagsNode(i.Tags))
	case caps.View:
		n := el("view", "id", it.luid, "name", it.name, "contentUrl", it.workbook.contentURL+"/sheets/"+it.contentURL,
			"sheetType", s.sheetType(it), "createdAt", ts(i.CreatedAt), "updatedAt", ts(i.UpdatedAt))
		if lp.field("viewUrlName") {
			n.set("viewUrlName", it.contentURL)
		}
		if admin && i.Hidden {
			n.set("hidden", "true")
		}
		wb := el("workbook", "id", it.workbook.luid)
		if lp.all() {
			wb.set("name", it.workbook.name).set("contentUrl", it.workbook.contentURL)
		}
		return n.add(wb, s.ownerNode("owner", it.ownerLUID, lp), s.projectRef(it.workbook), tagsNode(i.Tags), s.locationRef(it.workbook, lp))
	case caps.Datasource:
		n := el("datasource", "id", it.luid, "name", it.name, "description", i.Description, "contentUrl", it.contentURL,
			"webpageUrl", "#/datasources/"+it.contentURL, "size", itoa(int(i.SizeBytes)),
			"createdAt", ts(i.CreatedAt), "updatedAt", ts(i.UpdatedAt),
			"hasExtracts", boolStr(i.HasExtracts), "isCertified", boolStr(i.Certified))
		if lp.field("isPublished") {
			n.set("isPublished", "true")
		}
		return n.add(s.projectRef(it), s.locationRef(it, lp), s.ownerNode("owner", it.ownerLUID, lp), tagsNode(i.Tags))
	case caps.Flow:
		n := el("flow", "id", it.luid, "name", it.name, "description", i.Description, "fileType", "tflx",
			"webpageUrl", "#/flows/"+it.contentURL, "createdAt", ts(i.CreatedAt), "updatedAt", ts(i.UpdatedAt))
		return n.add(s.projectRef(it), s.ownerNode("owner", it.ownerLUID, lp), tagsNode(i.Tags))
	case caps.VirtualConnection:
		n := el("virtualConnection", "id", it.luid, "name", it.name, "createdAt", ts(i.CreatedAt), "updatedAt", ts(i.UpdatedAt),
			"hasExtracts", boolStr(i.HasExtracts), "isCertified", boolStr(i.Certified),
			"webpageUrl", "#/virtualconnections/"+it.contentURL)
		return n.add(s.projectRef(it), s.ownerNode("owner", it.ownerLUID, lp), tagsNode(i.Tags))
	case caps.Metric:
		n := el("metric", "id", it.luid, "name", it.name, "description", i.Description,
			"createdAt", ts(i.CreatedAt), "updatedAt", ts(i.UpdatedAt), "suspended", "false")
		return n.add(s.projectRef(it), s.ownerNode("owner", it.ownerLUID, lp), tagsNode(i.Tags))
	case caps.Lens:
		n := el("lens", "id", it.luid, "name", it.name)
		return n.add(s.ownerNode("owner", it.ownerLUID, lp))
	case caps.Database:
		n := el("database", "id", it.luid, "name", it.name, "description", i.Description,
			"isEmbedded", "false", "isCertified", boolStr(i.Certified))
		cp := i.ContentPermissions
		if cp == "" {
			cp = "ManagedByOwner"
		}
		n.set("contentPermissions", cp)
		if d := s.lineageDB(i.ID); d != nil {
			n.set("connectionType", d.ConnectionType).set("hostName", d.Host).set("filePath", d.FilePath)
			if d.Port != 0 {
				n.set("port", itoa(d.Port))
			}
			if d.FilePath != "" {
				n.set("type", "File")
			} else {
				n.set("type", "DatabaseServer")
			}
		}
		// The 3.29 XSD requires contact, certifier, location and tags on a
		// database; the owner is served as the contact.
		return n.add(el("contact", "id", it.ownerLUID), el("certifier"), el("location"), tagsNode(i.Tags))
	case caps.Table:
		n := el("table", "id", it.luid, "name", it.name, "description", i.Description,
			"isEmbedded", "false", "isCertified", boolStr(i.Certified))
		if t := s.lineageTable(i.ID); t != nil {
			n.set("schema", t.Schema)
		}
		return n.add(el("contact", "id", it.ownerLUID), el("certifier"), tagsNode(i.Tags), el("location"))
	}
	// Data roles have no REST element of their own; never listed.
	return el(it.typ, "id", it.luid, "name", it.name)
}

func (s *Server) sheetType(v *itemRec) string {
	if t := s.ix.sheetTypeOfID[v.it.ID]; t != "" {
		return t
	}
	return "worksheet"
}

func (s *Server) lineageDB(id string) *site.LDatabase {
	if s.ix.site.Lineage == nil {
		return nil
	}
	for i := range s.ix.site.Lineage.Databases {
		if s.ix.site.Lineage.Databases[i].ID == id {
			return &s.ix.site.Lineage.Databases[i]
		}
	}
	return nil
}

func (s *Server) lineageTable(id string) *site.LTable {
	if s.ix.site.Lineage == nil {
		return nil
	}
	for i := range s.ix.site.Lineage.Tables {
		if s.ix.site.Lineage.Tables[i].ID == id {
			return &s.ix.site.Lineage.Tables[i]
		}
	}
	return nil
}

// Field accessors for filter and sort.

func userEmail(u *userRec) []string { return []string{u.u.Email} }

var userFields = accessor[*userRec]{
	"id":          func(u *userRec) []string { return []string{u.luid} },
	"luid":        func(u *userRec) []string { return []string{u.luid} },
	"name":        func(u *userRec) []string { return []string{u.name} },
	"siteRole":    func(u *userRec) []string { return []string{u.u.Role} },
	"lastLogin":   func(u *userRec) []string { return []string{optTime(u.u.LastLogin)} },
	"email":       userEmail,
	"fullName":    func(u *userRec) []string { return []string{u.u.FullName} },
	"authSetting": func(u *userRec) []string { return []string{u.u.AuthSetting} },
	"domainName":  func(u *userRec) []string { return []string{userDomain(u.u)} },
}

var groupFields = accessor[*groupRec]{
	"id":              func(g *groupRec) []string { return []string{g.luid} },
	"luid":            func(g *groupRec) []string { return []string{g.luid} },
	"name":            func(g *groupRec) []string { return []string{g.name} },
	"domainName":      func(g *groupRec) []string { return []string{groupDomain(g)} },
	"domainNickname":  func(g *groupRec) []string { return []string{groupDomain(g)} },
	"isLocal":         func(g *groupRec) []string { return []string{boolStr(groupDomain(g) == "local")} },
	"userCount":       func(g *groupRec) []string { return []string{itoa(len(g.members))} },
	"minimumSiteRole": func(g *groupRec) []string { return []string{g.g.MinimumSiteRole} },
}

func groupDomain(g *groupRec) string {
	if g.g.Domain == "" {
		return "local"
	}
	return g.g.Domain
}

var groupSetFields = accessor[*groupSetRec]{
	"id":   func(g *groupSetRec) []string { return []string{g.luid} },
	"name": func(g *groupSetRec) []string { return []string{g.name} },
}

func ownerName(ix *index, luid string) string {
	if u := ix.userByLUID[luid]; u != nil {
		return u.name
	}
	return ""
}

func ownerEmail(ix *index, luid string) string {
	if u := ix.userByLUID[luid]; u != nil {
		return u.u.Email
	}
	return ""
}

func (s *Server) projectFields() accessor[*projectRec] {
	ix := s.ix
	return accessor[*projectRec]{
		"id":              func(p *projectRec) []string { return []string{p.luid} },
		"luid":            func(p *projectRec) []string { return []string{p.luid} },
		"name":            func(p *projectRec) []string { return []string{p.name} },
		"ownerName":       func(p *projectRec) []string { return []string{ownerName(ix, p.ownerLUID)} },
		"ownerEmail":      func(p *projectRec) []string { return []string{ownerEmail(ix, p.ownerLUID)} },
		"ownerDomain":     func(p *projectRec) []string { return []string{"local"} },
		"parentProjectId": func(p *projectRec) []string { return []string{parentLUID(p)} },
		"topLevelProject": func(p *projectRec) []string { return []string{boolStr(p.parent == nil)} },
		"createdAt":       func(p *projectRec) []string { return []string{ts(p.p.CreatedAt)} },
		"updatedAt":       func(p *projectRec) []string { return []string{ts(p.p.UpdatedAt)} },
	}
}

func parentLUID(p *projectRec) string {
	if p.parent == nil {
		return ""
	}
	return p.parent.luid
}

func (s *Server) itemFields() accessor[*itemRec] {
	ix := s.ix
	proj := func(it *itemRec) *projectRec {
		if it.typ == caps.View {
			return it.workbook.project
		}
		return it.project
	}
	return accessor[*itemRec]{
		"id":   func(it *itemRec) []string { return []string{it.luid} },
		"luid": func(it *itemRec) []string { return []string{it.luid} },
		"name": func(it *itemRec) []string { return []string{it.name} },
		"projectName": func(it *itemRec) []string {
			if p := proj(it); p != nil {
				return []string{p.name}
			}
			return nil
		},
		"projectId": func(it *itemRec) []string {
			if p := proj(it); p != nil {
				return []string{p.luid}
			}
			return nil
		},
		"ownerName":   func(it *itemRec) []string { return []string{ownerName(ix, it.ownerLUID)} },
		"ownerEmail":  func(it *itemRec) []string { return []string{ownerEmail(ix, it.ownerLUID)} },
		"ownerId":     func(it *itemRec) []string { return []string{it.ownerLUID} },
		"tags":        func(it *itemRec) []string { return it.it.Tags },
		"createdAt":   func(it *itemRec) []string { return []string{ts(it.it.CreatedAt)} },
		"updatedAt":   func(it *itemRec) []string { return []string{ts(it.it.UpdatedAt)} },
		"hasExtracts": func(it *itemRec) []string { return []string{boolStr(it.it.HasExtracts)} },
		"isCertified": func(it *itemRec) []string { return []string{boolStr(it.it.Certified)} },
		"contentUrl":  func(it *itemRec) []string { return []string{it.contentURL} },
		"viewUrlName": func(it *itemRec) []string { return []string{it.contentURL} },
		"sheetType":   func(it *itemRec) []string { return []string{s.sheetType(it)} },
		"workbookName": func(it *itemRec) []string {
			if it.workbook != nil {
				return []string{it.workbook.name}
			}
			return nil
		},
	}
}

func jobStatus(j *site.Job) string {
	if j.Status == "" {
		return "Success"
	}
	return j.Status
}

var jobFields = accessor[*site.Job]{
	"id":          func(j *site.Job) []string { return []string{site.LUID("job", j.ID)} },
	"jobType":     func(j *site.Job) []string { return []string{j.Type} },
	"status":      func(j *site.Job) []string { return []string{jobStatus(j)} },
	"createdAt":   func(j *site.Job) []string { return []string{ts(j.CreatedAt)} },
	"startedAt":   func(j *site.Job) []string { return []string{optTime(j.StartedAt)} },
	"completedAt": func(j *site.Job) []string { return []string{optTime(j.CompletedAt)} },
	"endedAt":     func(j *site.Job) []string { return []string{optTime(j.CompletedAt)} },
}

var scheduleFields = accessor[*site.Schedule]{
	"id":        func(sc *site.Schedule) []string { return []string{site.LUID("schedule", sc.ID)} },
	"name":      func(sc *site.Schedule) []string { return []string{site.DisplayName(sc.Name, sc.ID)} },
	"type":      func(sc *site.Schedule) []string { return []string{sc.Type} },
	"state":     func(sc *site.Schedule) []string { return []string{sc.State} },
	"frequency": func(sc *site.Schedule) []string { return []string{sc.Frequency} },
}

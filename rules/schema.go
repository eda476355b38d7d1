package rules

// findingsDDL creates the findings-side tables. Columns are documented in
// doc.go; the first ones of each table are the docs/contracts.md contract,
// the rest are additions the reports may use.
var findingsDDL = []string{
	// findings is a view: a run's drift can be tens of millions of rows
	// (21 million on the L preset with the 200-rule benchmark matrix), and
	// what they share, everything but the user, the item and the waiver, is
	// stored once per group of rows (a class-level answer of the check).
	`CREATE TABLE IF NOT EXISTS finding_rows(
		finding_id VARCHAR, snapshot_id VARCHAR, group_id BIGINT, user_id VARCHAR, content_type VARCHAR, content_id VARCHAR,
		waiver_id VARCHAR, waiver_until DATE, waiver_expired BOOLEAN)`,
	`CREATE TABLE IF NOT EXISTS finding_groups(
		snapshot_id VARCHAR, run_id VARCHAR, group_id BIGINT, kind VARCHAR, check_id VARCHAR, rule_id VARCHAR, severity VARCHAR,
		capability VARCHAR, decision VARCHAR, reason VARCHAR, deciding_rule VARCHAR, confidence VARCHAR, cause_id VARCHAR,
		message VARCHAR, matrix_file VARCHAR, matrix_line INTEGER, matrix_ref VARCHAR, flags VARCHAR[])`,
	// The names users and items had in the snapshot, so that findings of
	// an older snapshot keep theirs.
	`CREATE TABLE IF NOT EXISTS finding_users(snapshot_id VARCHAR, user_id VARCHAR, user_name VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS finding_items(snapshot_id VARCHAR, content_type VARCHAR, content_id VARCHAR,
		content_name VARCHAR, project_path VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS finding_causes(
		cause_id VARCHAR, kind VARCHAR, rule_id VARCHAR, check_id VARCHAR, severity VARCHAR, description VARCHAR,
		grantee VARCHAR, item_count BIGINT, user_count BIGINT, finding_count BIGINT,
		capability VARCHAR, reason VARCHAR, violations BIGINT, needs_review BIGINT, waived BIGINT,
		snapshot_id VARCHAR, run_id VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS check_runs(
		run_id VARCHAR, snapshot_id VARCHAR, matrix_name VARCHAR, matrix_file VARCHAR, matrix_sha256 VARCHAR,
		started_at TIMESTAMP, fail_on VARCHAR, findings BIGINT, violations BIGINT,
		needs_review BIGINT, waived BIGINT, gated BIGINT, finished_at TIMESTAMP, tool_version VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS policy_rules(
		rule_id VARCHAR, description VARCHAR, exclusive BOOLEAN, include_admins BOOLEAN, severity VARCHAR,
		scope_projects VARCHAR[], scope_types VARCHAR[], scope_names VARCHAR[], scope_tags VARCHAR[],
		scope_owners VARCHAR[], scope_upstream_tables VARCHAR[], scope_upstream_databases VARCHAR[],
		grantee_kind VARCHAR, grantee VARCHAR, allow_spec VARCHAR, forbid_spec VARCHAR,
		allow_capabilities VARCHAR[], forbid_capabilities VARCHAR[],
		item_count BIGINT, user_count BIGINT, matrix_file VARCHAR, matrix_line INTEGER, matrix_ref VARCHAR,
		snapshot_id VARCHAR, run_id VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS policy_waivers(
		waiver_id VARCHAR, rule_id VARCHAR, user_name VARCHAR, user_id VARCHAR, capability VARCHAR,
		until DATE, reason VARCHAR, owner VARCHAR, expired BOOLEAN, findings_covered BIGINT,
		matrix_file VARCHAR, matrix_line INTEGER, matrix_ref VARCHAR, snapshot_id VARCHAR, run_id VARCHAR)`,
}

// findingsTables are the tables a run replaces for its snapshot.
var findingsTables = []string{"finding_rows", "finding_groups", "finding_users", "finding_items", "finding_causes", "check_runs",
	"policy_rules", "policy_waivers"}

// migrateFindings moves the rows of a findings table written by an earlier
// release (one wide row per finding) into finding_rows and finding_groups,
// one group per row, so that the findings view replaces it without losing
// a snapshot's findings.
var migrateFindings = []string{
	`CREATE OR REPLACE TEMP TABLE rules_old AS SELECT row_number() OVER () AS group_id, * FROM findings`,
	`INSERT INTO finding_groups SELECT snapshot_id, run_id, group_id, kind, check_id, rule_id, severity, capability, decision, reason,
		deciding_rule, confidence, cause_id, regexp_replace(message, ' \(waiver \S+ expired \d{4}-\d{2}-\d{2}\)$', ''),
		matrix_file, matrix_line, matrix_ref, flags FROM rules_old`,
	`INSERT INTO finding_rows SELECT finding_id, snapshot_id, group_id, user_id, content_type, content_id, waiver_id, waiver_until,
		waiver_id IS NOT NULL AND status <> 'waived' FROM rules_old`,
	`INSERT INTO finding_users SELECT DISTINCT snapshot_id, user_id, user_name FROM rules_old WHERE user_id IS NOT NULL`,
	`INSERT INTO finding_items SELECT DISTINCT snapshot_id, content_type, content_id, content_name, project_path FROM rules_old
		WHERE content_id IS NOT NULL`,
	`DROP TABLE findings`,
	`DROP TABLE rules_old`,
}

// findingsViewDDL creates the findings view of the contract (columns in
// doc.go) over finding_rows, finding_groups and the snapshot's names.
const findingsViewDDL = `CREATE OR REPLACE VIEW findings AS
	SELECT r.finding_id, g.kind, g.check_id, g.rule_id, g.severity,
		CASE WHEN r.waiver_id IS NOT NULL AND NOT coalesce(r.waiver_expired, false) THEN 'waived'
			WHEN g.confidence = 'U' THEN 'needs_review' ELSE 'violation' END AS status,
		r.user_id, nu.user_name, r.content_type, r.content_id, ni.content_name, ni.project_path,
		g.capability, g.decision, g.reason, g.deciding_rule, r.waiver_id, r.waiver_until, g.confidence, g.cause_id,
		g.message || CASE WHEN r.waiver_id IS NOT NULL AND r.waiver_expired
			THEN ' (waiver ' || r.waiver_id || ' expired ' || strftime(r.waiver_until, '%Y-%m-%d') || ')' ELSE '' END AS message,
		r.snapshot_id, g.matrix_file, g.matrix_line, g.matrix_ref, g.flags, g.run_id
	FROM finding_rows r JOIN finding_groups g ON g.snapshot_id = r.snapshot_id AND g.group_id = r.group_id
	LEFT JOIN finding_users nu ON nu.snapshot_id = r.snapshot_id AND nu.user_id = r.user_id
	LEFT JOIN finding_items ni ON ni.snapshot_id = r.snapshot_id AND ni.content_type = r.content_type AND ni.content_id = r.content_id`

package rules

// findingsDDL creates the findings-side tables. Columns are documented in
// doc.go; the first ones of each table are the docs/contracts.md contract,
// the rest are additions the reports may use.
var findingsDDL = []string{
	`CREATE TABLE IF NOT EXISTS findings(
		finding_id VARCHAR, kind VARCHAR, check_id VARCHAR, rule_id VARCHAR, severity VARCHAR, status VARCHAR,
		user_id VARCHAR, user_name VARCHAR, content_type VARCHAR, content_id VARCHAR, content_name VARCHAR,
		project_path VARCHAR, capability VARCHAR, decision VARCHAR, reason VARCHAR, deciding_rule VARCHAR,
		waiver_id VARCHAR, waiver_until DATE, confidence VARCHAR, cause_id VARCHAR, message VARCHAR,
		snapshot_id VARCHAR, matrix_file VARCHAR, matrix_line INTEGER,
		matrix_ref VARCHAR, flags VARCHAR[], run_id VARCHAR)`,
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
var findingsTables = []string{"findings", "finding_causes", "check_runs", "policy_rules", "policy_waivers"}

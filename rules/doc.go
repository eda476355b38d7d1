// Package rules loads an expected access matrix (the access the business
// approved), checks it, and compares it with the effective access of a
// snapshot in the model database: drift findings (excess, missing,
// forbidden), waivers, and the built-in hygiene checks. Findings are
// written into the model database for the reports, aggregated by cause.
//
// Loading checks everything first and reports every problem at once, each
// with its position (file:line for YAML and CSV, file:Sheet!Row for xlsx) and
// a stable code; a loaded Matrix is then checked against a snapshot's names
// (Validate) and evaluated (Check). The engine works on sets in DuckDB:
// nothing loops over users × items in Go.
//
// # The matrix (DESIGN.md §5)
//
// YAML is the full form:
//
//	version: 1                         # required; this tabaudit reads 1
//	name: FY26-Q4 access policy        # default: the file name
//	rules:
//	  - id: finance-viewers            # required, unique
//	    description: free text
//	    scope: {project: "Finance/**", types: [workbook, view]}
//	    grantees: {groups: ["Finance Analysts"], users: ["cfo@example.com"], site_roles: [Creator]}
//	    allow: View                    # a template, or a list of capabilities
//	    exclusive: true
//	    severity: high                 # overrides the default severity of this rule's findings
//	  - id: no-downloads-of-confidential
//	    scope: {tag: confidential}
//	    forbid: [ExportData, ViewUnderlyingData, ExportXml]
//	    include_admins: false
//	waivers:
//	  - {rule: finance-viewers, user: "auditor@example.com", capability: Read,
//	     until: 2027-03-31, reason: "external audit", owner: "cfo@example.com"}
//	hygiene:
//	  inactive_users: {days: 60, severity: high}
//	  deny_rules: off                  # or: {enabled: false}; a bare severity sets the severity
//
// Scope keys (singular or plural; each takes one value or a list; keys
// combine with AND, the values of one key with OR; no key means no
// restriction):
//
//   - project: doublestar globs over the item's project path, names joined
//     by "/" ("Finance/**" is Finance and everything below it; "Finance" is
//     Finance only; escape a literal *?[]{}\ with \). Case-sensitive.
//   - types: content types: project, workbook, view, datasource, flow,
//     virtualconnection, database, table. Default: every type but project,
//     whose capabilities (Read, Write, ProjectLeader) are asserted only when
//     asked for.
//   - name: doublestar globs over the item's name ("Pipeline*").
//   - tag: tags, case-insensitive.
//   - owner: the owner's user name or email.
//   - upstream_table: [database.]schema.table, or schema.table/database.table,
//     or table; content whose data comes from the table through lineage
//     (content_upstream_tables at data-source precision: every table of the
//     data sources behind it). Case-insensitive. Needs the lineage part of
//     the model (R016 otherwise).
//   - upstream_database: database name, the same way.
//
// Grantees: groups by name (All Users is every user; groups sharing a name
// all count), users by sign-in name or email (emails case-insensitive), and
// site roles (legacy names count as the role they are treated as, spec
// §4.1). A user is expected if any grantee covers them.
//
// allow and forbid take one template name (View, Explore, Publish,
// Administer), expanded per content type as spec §3 says — with warning W101
// where the type has newer capabilities no template is known to include —
// or capability names. A capability applies to the scoped types it exists
// on; one that exists on none of them is an error (R002).
//
// What a rule means:
//
//   - allow: every grantee is expected to hold every allowed capability on
//     every item in scope. Each (user, item, capability) not allowed is a
//     missing finding (a triple the model has no decision for is reported
//     too, reason NO_DECISION).
//   - exclusive: true additionally makes every allowed (user, item,
//     capability) in scope, for the allowed capabilities, an excess finding
//     unless some allow rule of the matrix (this one or another) expects it.
//     Administrators (decision reason ADMIN) are set aside unless
//     include_admins: true.
//   - forbid: nobody may hold these capabilities on items in scope — or, when
//     the rule names grantees, none of the grantees. Each allowed triple is a
//     forbidden finding; administrators aside unless include_admins: true.
//   - A rule may allow and forbid, but not the same capability (R013).
//
// Default severities: forbidden high, excess high, missing medium; a rule's
// severity overrides all three for its findings.
//
// Waivers cover a rule's findings for one user (name or email), optionally
// one capability, through the end of the until day (UTC, by the injected
// clock). rule, user, until, reason and owner are required. A covered
// finding has status waived. An expired waiver covers nothing: it is itself
// a finding (kind waiver, check expired_waivers) and the findings it would
// have covered name it in waiver_id/waiver_until and their message. A valid
// waiver that covers nothing is reported too (unused_waivers, info). Default
// waiver id: rule:user[:capability].
//
// Hygiene checks, each on by default, with its default severity (matrix
// hygiene: section; the CLI's --hygiene NAME=off|on|SEVERITY,
// NAME.days=N, NAME.max=N, all=off override it):
//
//	user_rules              low     every user-level rule (object, user, rule set)
//	deny_rules              low     every Deny rule (object, grantee, rule set)
//	unlocked_projects       low     customizable (ManagedByOwner) projects not under a lock
//	all_users_allows        medium  Allow rules whose grantee is All Users
//	orphaned_owners         high    items whose owner is not a user of the site
//	unlicensed_owners       medium  items owned by an Unlicensed user
//	inactive_users          medium  users with no sign-in for days (90) who can Read something
//	latent_access           medium  users whose site role rises on sign-in (minimum site role, spec §9.3)
//	admins_count            medium  every administrator, when there are more than max (5)
//	empty_groups_with_rules low     groups with no member that carry rules
//	model_findings          per code the spec §13 findings of model_findings (check id spec:CODE)
//	expired_waivers         medium  waivers past their until date
//	unused_waivers          info    valid waivers that cover no finding
//
// A hygiene check whose input the model lacks is reported as a finding
// (check_unavailable, needs_review), never skipped quietly.
//
// # Tabular forms
//
// CSV and xlsx carry the same fields, one rule per row, with the columns
//
//	id, description, project, types, name, tag, owner, upstream_table,
//	upstream_database, groups, users, site_roles, allow, forbid, exclusive,
//	include_admins, severity
//
// (header names case-insensitive; singular forms accepted). Several values
// in a cell are separated by ";" or new lines; types, allow, forbid and
// site_roles also by ",". Several rows may share an id to list more
// grantees; their other cells must be empty or equal to the first row's
// (R009). Waivers and hygiene settings live in NAME.waivers.csv (id, rule,
// user, capability, until, reason, owner) and NAME.hygiene.csv (check,
// enabled, severity, days, max) next to NAME.csv, or in the sheets Waivers
// and Hygiene of the workbook (the rules in sheet Rules, else the first
// sheet; a README sheet is ignored). The matrix name is the file name.
//
// # Diagnostic codes
//
//	R000 unreadable file (YAML, CSV or xlsx syntax)
//	R001 unknown template (or a template that does not exist on the type)
//	R002 unknown capability, or one that exists on none of the scoped types
//	R003 bad glob
//	R004 unknown group (against the snapshot; "did you mean")
//	R005 unknown user, owner or waiver user (against the snapshot)
//	R006 unknown site role
//	R007 bad date
//	R008 waiver for an unknown rule
//	R009 duplicate id, or rows sharing an id with conflicting fields
//	R010 unknown key, column or sheet
//	R011 required field missing
//	R012 unknown content type
//	R013 contradictory rule (allow without grantees, exclusive without allow, allow ∩ forbid)
//	R014 bad value (boolean, severity, number, version)
//	R015 unknown hygiene check
//	R016 the rule needs a part of the model the snapshot lacks (lineage)
//	W101 warning: template expanded on a type with newer capabilities (spec §3, U15)
//	W102 warning: the scope matches no item
//	W103 warning: the grantees resolve to no user
//
// # Findings tables
//
// Check writes these tables into the model database. For one snapshot a run
// replaces every row an earlier run left (all tables carry snapshot_id);
// run_id ties the rows of one run together. The first columns of each are
// the docs/contracts.md contract; the rest are additions.
//
// findings — one row per finding (a view; see "How findings are stored"):
//
//	finding_id     stable id: a hash of snapshot, kind, rule/check, user, item, capability (and, for
//	               hygiene, the message), the same across runs and matrix forms
//	kind           excess | missing | forbidden | hygiene | waiver
//	check_id       hygiene or waiver check (user_rules, expired_waivers, spec:ORPHAN_OWNER, ...); NULL for drift
//	rule_id        the matrix rule (drift and waiver findings); NULL for hygiene
//	severity       critical | high | medium | low | info
//	status         violation | needs_review (the decision rests on a [U] fact, spec §13) | waived
//	user_id, user_name                     the user, when the finding is about one
//	content_type, content_id, content_name the item, when about one (project, workbook, view, ...)
//	project_path   the item's project path ("Finance/Reports")
//	capability     drift: the capability
//	decision       drift: the effective decision (allow; deny for missing)
//	reason         drift: the decision's spec §8.3 reason code (NO_DECISION: the model has no row);
//	               model findings: the code
//	deciding_rule  drift: the rule or position that decided (effective_permissions.deciding_rule);
//	               hygiene: the grantee concerned (group:<luid>, ...)
//	waiver_id, waiver_until  the waiver that covers the finding, or that would have but expired
//	confidence     D | T | I | U: the decision's weakest fact (D for hygiene)
//	cause_id       the finding_causes row it is counted in
//	message        one line for a person
//	snapshot_id    the snapshot checked
//	matrix_file    the matrix file as given
//	matrix_line    line (YAML, CSV) or row (xlsx) of the rule (excess, forbidden), of the grantee
//	               entry that expects the user (missing), or of the waiver; NULL for hygiene
//	matrix_ref     the same as text: "matrix.yaml:12", "matrix.xlsx:Rules!5"
//	flags          drift: the decision's flags (DIRECT_DATA_API, ...)
//	run_id         the run
//
// How findings are stored: a check of a big site can find tens of millions
// of rows (21 million on the L preset with a 200-rule matrix), almost all
// of them users × items of a few thousand class-level answers. So findings
// is a view joining finding_rows (finding_id, snapshot_id, group_id,
// user_id, content_type, content_id, waiver_id, waiver_until,
// waiver_expired: what differs per row) with finding_groups (snapshot_id,
// run_id, group_id and the other columns: what a group's rows share) and
// the snapshot's names (finding_users: user_id, user_name; finding_items:
// content_type, content_id, content_name, project_path). Query the view;
// the tables are its storage. A findings table written by an earlier
// release is moved into them on the next check.
//
// finding_causes — findings grouped by what caused them: for drift, per
// (kind, rule, capability, grantee of the deciding rule — or the position,
// or the reason when no rule decided); for hygiene and waivers, per check:
//
//	cause_id, kind, rule_id, check_id
//	severity       the most severe of its findings
//	description    "group "All Users" grants Read on 412 items in scope of finance-viewers (Finance/**) → 9,812 users not expected"
//	grantee        who or what grants it, readable: group "Sales", user ben, project owner position, UNSPECIFIED
//	item_count, user_count, finding_count
//	capability, reason
//	violations, needs_review, waived       finding counts by status
//	snapshot_id, run_id
//
// check_runs — one row per run: run_id, snapshot_id, matrix_name,
// matrix_file, matrix_sha256 (of the file's bytes; for CSV, of the rules
// file then its waivers and hygiene files), started_at (the injected clock),
// fail_on, findings, violations, needs_review, waived, gated (not waived
// and at or above fail_on), finished_at, tool_version.
//
// policy_rules — the matrix as evaluated, one row per rule and grantee (a
// rule without grantees has one row): rule_id, description, exclusive,
// include_admins, severity, scope_projects, scope_types (effective, defaults
// filled in), scope_names, scope_tags, scope_owners, scope_upstream_tables,
// scope_upstream_databases, grantee_kind (group | user | site_role),
// grantee, allow_spec and forbid_spec (as written), allow_capabilities and
// forbid_capabilities ("type:Capability" after expansion), item_count (items
// in scope), user_count (users the grantees resolve to), matrix_file,
// matrix_line, matrix_ref, snapshot_id, run_id.
//
// policy_waivers — one row per waiver: waiver_id, rule_id, user_name (as
// written), user_id (comma-separated when a name and an email resolve to
// several), capability, until, reason, owner, expired, findings_covered,
// matrix_file, matrix_line, matrix_ref, snapshot_id, run_id.
package rules

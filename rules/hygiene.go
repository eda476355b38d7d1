package rules

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tabaudit/tabaudit/internal/caps"
	"github.com/tabaudit/tabaudit/model"
)

// hygieneDefaults are the built-in checks with their default severity and
// parameters. Every one is on unless switched off in the matrix (hygiene:)
// or with --hygiene.
var hygieneDefaults = map[string]HygieneSetting{
	"user_rules":              {Severity: "low"},
	"deny_rules":              {Severity: "low"},
	"unlocked_projects":       {Severity: "low"},
	"all_users_allows":        {Severity: "medium"},
	"orphaned_owners":         {Severity: "high"},
	"unlicensed_owners":       {Severity: "medium"},
	"inactive_users":          {Severity: "medium", Days: 90},
	"latent_access":           {Severity: "medium"},
	"admins_count":            {Severity: "medium", Max: 5},
	"empty_groups_with_rules": {Severity: "low"},
	"model_findings":          {},
	"expired_waivers":         {Severity: "medium"},
	"unused_waivers":          {Severity: "info"},
}

var hygieneTitles = map[string]string{
	"user_rules":              "user-level permission rules",
	"deny_rules":              "Deny rules",
	"unlocked_projects":       "customizable (unlocked) projects",
	"all_users_allows":        "All Users carries Allow rules",
	"orphaned_owners":         "items owned by a user not on the site",
	"unlicensed_owners":       "items owned by an unlicensed user",
	"inactive_users":          "inactive users with access",
	"latent_access":           "latent access through a minimum site role",
	"admins_count":            "administrators above the limit",
	"empty_groups_with_rules": "empty groups carrying rules",
	"expired_waivers":         "expired waivers",
	"unused_waivers":          "waivers that cover nothing",
	"check_unavailable":       "hygiene checks that could not run",
}

// modelFindingSeverity is the default severity of each spec §13 finding.
var modelFindingSeverity = map[string]string{
	"ORPHAN_OWNER": "high", "STALE_ITEM_RULES": "low", "CONTROLLING_PROJECT_MISMATCH": "medium",
	"PARENT_ELEMENT_MISMATCH": "low", "CONFLICTING_RULE": "medium", "LEGACY_PROJECT_LEADER_DENY": "low",
	"LEGACY_SITE_ROLE": "low", "LATENT_ACCESS": "medium", "UNKNOWN_CAPABILITY": "medium",
	"INHERITED_LEADER_MISMATCH": "medium", "VIEW_WITHOUT_WORKBOOK_READ": "low", "ALL_USERS_HAS_ALLOWS": "info",
}

// HygieneChecks lists the built-in check names.
func HygieneChecks() []string { return keys(hygieneDefaults) }

// resolveHygiene merges defaults, the matrix's settings and CLI overrides.
func resolveHygiene(layers ...map[string]*HygieneSetting) map[string]HygieneSetting {
	out := map[string]HygieneSetting{}
	for name, def := range hygieneDefaults {
		on := true
		def.Enabled = &on
		for _, l := range layers {
			h := l[name]
			if h == nil {
				continue
			}
			if h.Enabled != nil {
				v := *h.Enabled
				def.Enabled = &v
			}
			if h.Severity != "" {
				def.Severity = h.Severity
			}
			if h.Days > 0 {
				def.Days = h.Days
			}
			if h.Max > 0 {
				def.Max = h.Max
			}
		}
		out[name] = def
	}
	return out
}

// ParseHygieneFlag reads one --hygiene flag value: "NAME=off", "NAME=on",
// "NAME=SEVERITY", "NAME.days=N", "NAME.max=N" or "all=off".
func ParseHygieneFlag(into map[string]*HygieneSetting, v string) error {
	key, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("--hygiene %q: want NAME=on|off|SEVERITY or NAME.days=N / NAME.max=N", v)
	}
	name, field, _ := strings.Cut(key, ".")
	names := []string{name}
	if name == "all" {
		names = HygieneChecks()
	} else if _, known := hygieneDefaults[name]; !known {
		msg := fmt.Sprintf("--hygiene: unknown check %q", name)
		if h := didYouMean(name, HygieneChecks()); h != "" {
			msg += "; " + h
		}
		return fmt.Errorf("%s (checks: %s)", msg, strings.Join(HygieneChecks(), ", "))
	}
	for _, n := range names {
		h := into[n]
		if h == nil {
			h = &HygieneSetting{Pos: Pos{File: "--hygiene"}}
			into[n] = h
		}
		d := &diags{}
		if field == "" {
			setHygieneValue(d, h, val)
		} else {
			setHygieneField(d, h, field, val, h.Pos)
		}
		if len(d.list) > 0 {
			return fmt.Errorf("--hygiene %q: %s", v, d.list[0].Msg)
		}
	}
	return nil
}

// hygieneCheck is one built-in check: the tables it reads and the SELECT
// producing its rows (kind, check_id, rule_id, severity, user_id,
// content_type, content_id, capability, decision, reason, deciding_rule,
// confidence, flags, message).
type hygieneCheck struct {
	name   string
	needs  []string
	query  func(h HygieneSetting, r *run) string
	direct bool // query already yields the finding rows with their own severity
	// prepare, when set, fills the temporary tables query reads.
	prepare func(ctx context.Context, h HygieneSetting, r *run) error
}

// ruleCaps renders a rule's capabilities: "Read:Allow, Filter:Deny".
const ruleCapsAgg = `string_agg(capability || ':' || mode, ', ' ORDER BY capability)`

var hygieneChecks = []hygieneCheck{
	{name: "user_rules", needs: []string{"permission_rules"}, query: func(h HygieneSetting, r *run) string {
		return `SELECT grantee_id AS user_id, object_type, object_id, NULL, NULL, NULL, NULL, 'D', NULL::VARCHAR[],
			'user-level rule (' || rule_set || '): ' || ` + ruleCapsAgg + `
			FROM permission_rules WHERE grantee_type = 'user' GROUP BY grantee_id, object_type, object_id, rule_set`
	}},
	{name: "deny_rules", needs: []string{"permission_rules", "groups", "users", "group_sets"}, query: func(h HygieneSetting, r *run) string {
		return `SELECT CASE WHEN grantee_type = 'user' THEN grantee_id END, object_type, object_id, NULL, NULL, NULL,
			grantee_type || ':' || grantee_id, 'D', NULL::VARCHAR[],
			'Deny rule for ' || grantee_type || ' ' || coalesce(g.name, s.name, u.name, grantee_id) || ' (' || rule_set || '): ' ||
				string_agg(capability, ', ' ORDER BY capability)
			FROM permission_rules p
			LEFT JOIN groups g ON p.grantee_type = 'group' AND g.id = p.grantee_id
			LEFT JOIN users u ON p.grantee_type = 'user' AND u.id = p.grantee_id
			LEFT JOIN (SELECT id, name FROM group_sets) s ON p.grantee_type = 'groupset' AND s.id = p.grantee_id
			WHERE mode = 'Deny' GROUP BY p.grantee_type, p.grantee_id, p.object_type, p.object_id, p.rule_set, g.name, s.name, u.name`
	}},
	{name: "unlocked_projects", needs: []string{"projects"}, query: func(h HygieneSetting, r *run) string {
		return `SELECT NULL, 'project', id, NULL, NULL, NULL, NULL, 'D', NULL::VARCHAR[],
			'project is customizable (ManagedByOwner): each item carries its own rules'
			FROM projects WHERE coalesce(content_permissions, 'ManagedByOwner') = 'ManagedByOwner'
				AND coalesce(controlling_permissions_project_id, id) = id`
	}},
	{name: "all_users_allows", needs: []string{"permission_rules", "groups"}, query: func(h HygieneSetting, r *run) string {
		return `SELECT NULL, p.object_type, p.object_id, NULL, NULL, NULL, 'group:' || p.grantee_id, 'D', NULL::VARCHAR[],
			'All Users is allowed (' || p.rule_set || '): ' || string_agg(p.capability, ', ' ORDER BY p.capability)
			FROM permission_rules p JOIN groups g ON g.id = p.grantee_id AND g.is_all_users
			WHERE p.grantee_type = 'group' AND p.mode = 'Allow' GROUP BY p.object_type, p.object_id, p.rule_set, p.grantee_id`
	}},
	{name: "orphaned_owners", needs: []string{"content", "users"}, query: func(h HygieneSetting, r *run) string {
		return `SELECT NULL, c.content_type, c.content_id, NULL, NULL, NULL, NULL, 'D', NULL::VARCHAR[],
			'owner ' || c.owner_id || ' is not a user of the site: nobody gets the owner bypass'
			FROM content c WHERE c.owner_id IS NOT NULL AND c.owner_id <> '' AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.owner_id)`
	}},
	{name: "unlicensed_owners", needs: []string{"content", "users"}, query: func(h HygieneSetting, r *run) string {
		return fmt.Sprintf(`SELECT u.id, c.content_type, c.content_id, NULL, NULL, NULL, NULL, 'D', NULL::VARCHAR[],
			'owned by ' || u.name || ', whose site role is ' || u.site_role
			FROM content c JOIN users u ON u.id = c.owner_id WHERE %s`, roleIn(r, "u.site_role", "Unlicensed"))
	}},
	{name: "inactive_users", needs: []string{"users", "effective_permissions"},
		// The items each inactive user can read, counted at class level
		// for them only: listing them would be users × items rows (hundreds
		// of millions on the L preset).
		prepare: func(ctx context.Context, h HygieneSetting, r *run) error {
			inactive := `SELECT id AS user_id FROM users WHERE last_login IS NULL OR last_login < TIMESTAMP '` + inactiveCut(h, r) + `'`
			if _, err := model.ExpandAccess(ctx, r.conn, "rules_inactive_x", `SELECT c.content_type, c.content_id, 'Read' AS capability FROM content c`,
				model.AccessOptions{Decision: "allow", Count: true, PerUser: true, Users: inactive, Logger: r.log}); err != nil {
				return err
			}
			return r.exec(ctx, "counting readable items", `CREATE OR REPLACE TEMP TABLE rules_inactive_read AS
				SELECT user_id, sum(items) AS items FROM rules_inactive_x GROUP BY user_id; DROP TABLE rules_inactive_x`)
		},
		query: func(h HygieneSetting, r *run) string {
			return fmt.Sprintf(`SELECT u.id, NULL, NULL, NULL, NULL, NULL, NULL, 'D', NULL::VARCHAR[],
			CASE WHEN u.last_login IS NULL THEN 'never signed in' ELSE 'last signed in ' || strftime(u.last_login, '%%Y-%%m-%%d') END ||
				', can read ' || a.items || ' items'
			FROM users u JOIN rules_inactive_read a ON a.user_id = u.id
			WHERE %d > 0`, h.Days)
		}},
	{name: "latent_access", needs: []string{"users", "groups", "group_members"}, query: func(h HygieneSetting, r *run) string {
		return fmt.Sprintf(`WITH rank(role, r) AS (VALUES %s),
			cur AS (SELECT u.id, u.name, u.site_role, coalesce(rk.r, -1) AS r FROM users u LEFT JOIN rank rk ON rk.role = u.site_role),
			proj AS (SELECT m.user_id, max(rk.r) AS r, arg_max(g.minimum_site_role, rk.r) AS role,
					arg_max(g.name, rk.r) AS via
				FROM group_members m JOIN groups g ON g.id = m.group_id JOIN rank rk ON rk.role = g.minimum_site_role
				WHERE coalesce(g.grant_license_mode, '') IN ('onLogin', 'onSync') GROUP BY m.user_id)
			SELECT c.id, NULL, NULL, NULL, NULL, NULL, 'group:' || p.via, 'D', NULL::VARCHAR[],
				'site role ' || c.site_role || ' becomes ' || p.role || ' on sign-in (minimum site role of group ' || p.via || ')'
			FROM cur c JOIN proj p ON p.user_id = c.id WHERE p.r > c.r`, roleRankValues())
	}},
	{name: "admins_count", needs: []string{"users"}, query: func(h HygieneSetting, r *run) string {
		admins := roleIn(r, "site_role", "ServerAdministrator", "SiteAdministratorCreator", "SiteAdministratorExplorer")
		return fmt.Sprintf(`SELECT id, NULL, NULL, NULL, NULL, NULL, NULL, 'D', NULL::VARCHAR[],
			'administrator (' || site_role || '): ' || count(*) OVER () || ' administrators, limit %d'
			FROM users WHERE %s QUALIFY count(*) OVER () > %d`, h.Max, admins, h.Max)
	}},
	{name: "empty_groups_with_rules", needs: []string{"groups", "group_members", "permission_rules"}, query: func(h HygieneSetting, r *run) string {
		return `SELECT NULL, NULL, NULL, NULL, NULL, NULL, 'group:' || g.id, 'D', NULL::VARCHAR[],
			'group ' || g.name || ' has no members but carries ' || count(*) || ' rule rows'
			FROM groups g JOIN permission_rules p ON p.grantee_type = 'group' AND p.grantee_id = g.id
			WHERE NOT coalesce(g.is_all_users, false) AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id)
			GROUP BY g.id, g.name`
	}},
	{name: "model_findings", needs: []string{"model_findings"}, direct: true, query: func(h HygieneSetting, r *run) string {
		var cases strings.Builder
		for _, code := range keys(modelFindingSeverity) {
			fmt.Fprintf(&cases, " WHEN %s THEN %s", ql(code), ql(modelFindingSeverity[code]))
		}
		sev := "CASE code" + cases.String() + " ELSE 'medium' END"
		if h.Severity != "" {
			sev = ql(h.Severity)
		}
		return `SELECT 'hygiene', 'spec:' || code, NULL, ` + sev + `,
			CASE WHEN object_type = 'user' THEN object_id END,
			CASE WHEN object_type <> 'user' THEN object_type END, CASE WHEN object_type <> 'user' THEN object_id END,
			NULL, NULL, code, NULL, 'D', NULL::VARCHAR[], code || coalesce(': ' || detail, '')
			FROM model_findings`
	}},
}

// roleIn is a condition on a site-role column: the raw roles of the
// snapshot that normalise to one of roles.
func roleIn(r *run, col string, roles ...string) string {
	raw := r.n.rolesMatching(roles)
	if len(raw) == 0 {
		return "false"
	}
	return fmt.Sprintf("%s IN (%s)", col, qlist(raw))
}

func roleRankValues() string {
	var vals []string
	for _, role := range append(slices.Clone(caps.CurrentRoles), keys(caps.LegacyRoles)...) {
		vals = append(vals, fmt.Sprintf("(%s, %d)", ql(role), caps.RoleRank(role)))
	}
	return strings.Join(vals, ", ")
}

// runHygiene runs every enabled built-in check. A check whose input table
// the model lacks is reported as a finding (check_unavailable), never
// skipped quietly.
func inactiveCut(h HygieneSetting, r *run) string {
	return r.opts.Now.UTC().Add(-time.Duration(h.Days) * 24 * time.Hour).Format("2006-01-02 15:04:05")
}

func (r *run) runHygiene(ctx context.Context) error {
	for _, c := range hygieneChecks {
		h := r.hygiene[c.name]
		if !*h.Enabled {
			continue
		}
		var missing []string
		for _, t := range c.needs {
			ok, err := relationExists(ctx, r.conn, t)
			if err != nil {
				return err
			}
			if !ok {
				missing = append(missing, t)
			}
		}
		if len(missing) > 0 {
			q := r.findingsInsert(fmt.Sprintf(`SELECT 'hygiene', 'check_unavailable', NULL, 'medium', NULL, NULL, NULL, NULL,
				NULL, NULL, NULL, 'U', NULL::VARCHAR[], %s, NULL, NULL`,
				ql(fmt.Sprintf("hygiene check %s could not run: the model has no %s", c.name, strings.Join(missing, ", ")))), "message")
			if err := r.exec(ctx, "reporting hygiene check "+c.name, q); err != nil {
				return err
			}
			continue
		}
		if c.prepare != nil {
			if err := c.prepare(ctx, h, r); err != nil {
				return fmt.Errorf("running hygiene check %s: %w", c.name, err)
			}
		}
		body := c.query(h, r)
		if !c.direct {
			body = fmt.Sprintf(`SELECT 'hygiene' AS kind, %s AS check_id, NULL AS rule_id, %s AS severity, * FROM (%s)`,
				ql(c.name), ql(h.Severity), body)
		}
		q := r.findingsInsert(`SELECT *, NULL, NULL FROM (`+body+`)`, "message")
		if err := r.exec(ctx, "running hygiene check "+c.name, q); err != nil {
			return err
		}
	}
	return nil
}

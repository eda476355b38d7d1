package rules

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tabaudit/tabaudit/internal/caps"
	"github.com/tabaudit/tabaudit/model"
)

// initChunkItems bounds the items whose allowed access Init expands at
// once: users × items × capabilities of one chunk must fit in memory.
const initChunkItems = 200

// Init derives a starter matrix from the snapshot's current effective
// access, for teams with no matrix yet. One rule per project, content type
// and set of groups that hold the same capabilities on every item of that
// project and type, for every member; what no group explains becomes a
// user rule. A rule is exclusive only when every other holder of its
// capabilities in its scope is covered by another rule, so the matrix
// checked against the same snapshot yields no excess and no missing
// findings. Administrators are left out (their access is their role).
//
// The result is a starting point to review, not a policy: it approves
// whatever access exists today, drift included.
func Init(ctx context.Context, db *sql.DB, snapshotID string) (*Matrix, error) {
	return initMatrix(ctx, db, snapshotID, initChunkItems)
}

// initMatrix is Init expanding at most about chunkItems items at a time.
func initMatrix(ctx context.Context, db *sql.DB, snapshotID string, chunkItems int64) (*Matrix, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening a connection to the model: %w", err)
	}
	defer conn.Close()
	snap, err := ResolveSnapshot(ctx, conn, snapshotID)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, t := range []string{"init_expanded", "init_items", "init_counts", "init_held", "init_units", "init_members", "init_gsize", "init_group_caps", "init_user_caps", "init_left"} {
			conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+t)
		}
	}()
	global := []string{
		`CREATE OR REPLACE TEMP TABLE init_units AS
		SELECT project_path, content_type, count(*) AS n FROM content GROUP BY ALL`,
		// Members by group name, because the matrix names groups by name;
		// All Users is everybody (spec §9.1).
		`CREATE OR REPLACE TEMP TABLE init_members AS
		SELECT DISTINCT g.name, u.id AS user_id FROM groups g JOIN users u ON coalesce(g.is_all_users, false)
		UNION
		SELECT DISTINCT g.name, m.user_id FROM groups g JOIN group_members m ON m.group_id = g.id`,
		`CREATE OR REPLACE TEMP TABLE init_gsize AS SELECT name, count(*) AS n FROM init_members GROUP BY name`,
		// Items numbered into chunks: allowed access is expanded a chunk at a
		// time (the whole site's does not fit in memory on a large site) and
		// only counted per user, unit (project × content type) and
		// capability.
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE init_items AS
		SELECT content_type, content_id, project_path,
			((row_number() OVER (ORDER BY project_path, content_type, content_id) - 1) // %d)::INTEGER AS chunk
		FROM content`, chunkItems),
		`CREATE OR REPLACE TEMP TABLE init_counts(user_id VARCHAR, project_path VARCHAR, content_type VARCHAR, capability VARCHAR,
			n BIGINT, admin BOOLEAN)`,
	}
	for _, s := range global {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("deriving a starter matrix: %w", err)
		}
	}
	var chunks int
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(chunk) + 1, 0) FROM init_items`).Scan(&chunks); err != nil {
		return nil, fmt.Errorf("deriving a starter matrix: %w", err)
	}
	for c := range chunks {
		if _, err := model.ExpandAccess(ctx, conn, "init_expanded", fmt.Sprintf(`SELECT i.content_type, i.content_id, k.capability
			FROM init_items i JOIN m_type_caps k ON k.content_type = i.content_type WHERE i.chunk = %d`, c),
			model.AccessOptions{Decision: "allow", Narrow: true}); err != nil {
			return nil, fmt.Errorf("deriving a starter matrix: %w", err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO init_counts
			SELECT e.user_id, i.project_path, e.content_type, e.capability, count(*), bool_or(e.reason = 'ADMIN')
			FROM init_expanded e JOIN init_items i ON i.content_type = e.content_type AND i.content_id = e.content_id
			GROUP BY ALL`); err != nil {
			return nil, fmt.Errorf("deriving a starter matrix: %w", err)
		}
	}
	derive := []string{
		// Who holds a capability on every item of a unit, and who on some.
		`CREATE OR REPLACE TEMP TABLE init_held AS
		SELECT c.user_id, c.project_path, c.content_type, c.capability, bool_or(c.admin) AS admin,
			sum(c.n) = any_value(un.n) AS in_full
		FROM init_counts c
		JOIN init_units un ON un.project_path IS NOT DISTINCT FROM c.project_path AND un.content_type = c.content_type
		GROUP BY c.user_id, c.project_path, c.content_type, c.capability`,
		// A group's capabilities in a unit: held by every member on every
		// item, i.e. every member holds them in full.
		`CREATE OR REPLACE TEMP TABLE init_group_caps AS
		SELECT f.project_path, f.content_type, m.name, f.capability
		FROM init_held f JOIN init_members m ON m.user_id = f.user_id
		JOIN init_gsize s ON s.name = m.name
		WHERE f.in_full
		GROUP BY f.project_path, f.content_type, m.name, f.capability
		HAVING count(*) = any_value(s.n)`,
		// A user's own capabilities in a unit: held in full, not as an
		// administrator, and not through a group rule.
		`CREATE OR REPLACE TEMP TABLE init_user_caps AS
		SELECT f.project_path, f.content_type, f.user_id, f.capability
		FROM init_held f
		WHERE f.in_full AND NOT f.admin AND NOT EXISTS (SELECT 1 FROM init_group_caps g JOIN init_members m ON m.name = g.name
			WHERE m.user_id = f.user_id AND g.project_path IS NOT DISTINCT FROM f.project_path
				AND g.content_type = f.content_type AND g.capability = f.capability)`,
		// What neither explains: held on some items of a unit only, an
		// item-level difference no unit rule can state (a group rule needs
		// every member in full, so these are never a group's).
		`CREATE OR REPLACE TEMP TABLE init_left AS
		SELECT DISTINCT project_path, content_type, capability FROM init_held WHERE NOT in_full AND NOT admin`,
	}
	for _, s := range derive {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("deriving a starter matrix: %w", err)
		}
	}
	type unitKey struct{ path, ctype string }
	type grantCaps struct {
		unit    unitKey
		kind    string // group | user
		name    string
		caps    []string
		hasPath bool
	}
	var grants []*grantCaps
	byKey := map[string]*grantCaps{}
	rs, err := conn.QueryContext(ctx, `SELECT coalesce(project_path, ''), project_path IS NOT NULL, content_type, 'group', name, capability FROM init_group_caps
		UNION ALL
		SELECT coalesce(u.project_path, ''), u.project_path IS NOT NULL, u.content_type, 'user', coalesce(x.name, u.user_id), u.capability
		FROM init_user_caps u JOIN users x ON x.id = u.user_id
		ORDER BY 1, 3, 4, 5, 6`)
	if err != nil {
		return nil, fmt.Errorf("deriving a starter matrix: %w", err)
	}
	for rs.Next() {
		var path, ctype, kind, name, capability string
		var hasPath bool
		if err := rs.Scan(&path, &hasPath, &ctype, &kind, &name, &capability); err != nil {
			rs.Close()
			return nil, fmt.Errorf("deriving a starter matrix: %w", err)
		}
		if !caps.Applies(ctype, capability) {
			// A capability the catalogue does not know on this type (kept
			// and flagged UNKNOWN_CAPABILITY by the model) cannot be stated
			// in a matrix; the model_findings hygiene check reports it.
			continue
		}
		k := path + "\x00" + ctype + "\x00" + kind + "\x00" + name
		g := byKey[k]
		if g == nil {
			g = &grantCaps{unit: unitKey{path, ctype}, kind: kind, name: name, hasPath: hasPath}
			byKey[k] = g
			grants = append(grants, g)
		}
		g.caps = append(g.caps, capability)
	}
	if err := rs.Err(); err != nil {
		rs.Close()
		return nil, fmt.Errorf("deriving a starter matrix: %w", err)
	}
	rs.Close()
	left := map[unitKey][]string{}
	rs, err = conn.QueryContext(ctx, `SELECT coalesce(project_path, ''), content_type, capability FROM init_left ORDER BY ALL`)
	if err != nil {
		return nil, fmt.Errorf("deriving a starter matrix: %w", err)
	}
	for rs.Next() {
		var path, ctype, capability string
		if err := rs.Scan(&path, &ctype, &capability); err != nil {
			rs.Close()
			return nil, fmt.Errorf("deriving a starter matrix: %w", err)
		}
		k := unitKey{path, ctype}
		left[k] = append(left[k], capability)
	}
	if err := rs.Err(); err != nil {
		rs.Close()
		return nil, fmt.Errorf("deriving a starter matrix: %w", err)
	}
	rs.Close()

	m := &Matrix{Version: 1, Name: "starter matrix from snapshot " + snap.ID, Hygiene: map[string]*HygieneSetting{}}
	ids := map[string]int{}
	// Grantees holding the same capabilities in one unit share a rule.
	type ruleKey struct {
		unit unitKey
		caps string
	}
	rules := map[ruleKey]*Rule{}
	for _, g := range grants {
		slices.SortFunc(g.caps, func(a, b string) int {
			return slices.Index(caps.For(g.unit.ctype), a) - slices.Index(caps.For(g.unit.ctype), b)
		})
		rk := ruleKey{g.unit, strings.Join(g.caps, ",")}
		r := rules[rk]
		if r == nil {
			r = &Rule{Scope: Scope{Types: []string{g.unit.ctype}}, Allow: templateFor(g.unit.ctype, g.caps)}
			if g.hasPath {
				r.Scope.Projects = []string{escapeGlob(g.unit.path)}
			}
			base := slug(g.unit.path) + "-" + g.unit.ctype + "-" + slug(g.name)
			ids[base]++
			r.ID = base
			if ids[base] > 1 {
				r.ID = fmt.Sprintf("%s-%d", base, ids[base])
			}
			var unexplained []string
			for _, c := range left[g.unit] {
				if slices.Contains(g.caps, c) {
					unexplained = append(unexplained, c)
				}
			}
			r.Exclusive = len(unexplained) == 0
			if !r.Exclusive {
				r.Comment = fmt.Sprintf("not exclusive: some holders of %s here differ item by item and no rule states them", strings.Join(unexplained, ", "))
			}
			rules[rk] = r
			m.Rules = append(m.Rules, r)
		}
		r.Grantees = append(r.Grantees, Grantee{Kind: g.kind, Name: g.name})
	}
	// Load would compile a parsed file; do the same so the matrix can be
	// checked directly.
	d := &diags{}
	m.compile(d)
	if errs := d.list.Errors(); len(errs) > 0 {
		return nil, fmt.Errorf("deriving a starter matrix: %w", errs)
	}
	return m, nil
}

// templateFor names the template whose expansion is exactly cs on the
// type, or returns cs.
func templateFor(ctype string, cs []string) []string {
	for _, t := range caps.Templates {
		allow, _, err := caps.Expand(ctype, t)
		if err == nil && len(allow) == len(cs) {
			a := slices.Clone(allow)
			b := slices.Clone(cs)
			slices.Sort(a)
			slices.Sort(b)
			if slices.Equal(a, b) {
				return []string{t}
			}
		}
	}
	return slices.Clone(cs)
}

// escapeGlob makes a project path match only itself as a doublestar glob.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]{}\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

var (
	nonSlug  = regexp.MustCompile(`[^a-z0-9]+`)
	bareWord = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

func slug(s string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "site"
	}
	return s
}

// WriteYAML writes m in the full (YAML) form. header lines are written as
// comments at the top; a rule's Comment is written above it.
func WriteYAML(w io.Writer, m *Matrix, header []string) error {
	var b strings.Builder
	for _, h := range header {
		b.WriteString(strings.TrimRight("# "+h, " ") + "\n")
	}
	fmt.Fprintf(&b, "version: 1\nname: %s\n", yq(m.Name))
	b.WriteString("rules:\n")
	lastProject := "\x00"
	for _, r := range m.Rules {
		if p := strings.Join(r.Scope.Projects, ", "); p != lastProject && len(header) > 0 {
			fmt.Fprintf(&b, "\n  # --- %s\n", cmp.Or(p, "(no project)"))
			lastProject = p
		}
		if r.Comment != "" {
			fmt.Fprintf(&b, "  # %s\n", r.Comment)
		}
		fmt.Fprintf(&b, "  - id: %s\n", yq(r.ID))
		if r.Description != "" {
			fmt.Fprintf(&b, "    description: %s\n", yq(r.Description))
		}
		var scope []string
		for _, f := range []struct {
			k string
			v []string
		}{{"project", r.Scope.Projects}, {"types", r.Scope.Types}, {"name", r.Scope.Names}, {"tag", r.Scope.Tags},
			{"owner", r.Scope.Owners}, {"upstream_table", r.Scope.UpstreamTables}, {"upstream_database", r.Scope.UpstreamDatabases}} {
			if len(f.v) > 0 {
				scope = append(scope, f.k+": "+yflow(f.v))
			}
		}
		fmt.Fprintf(&b, "    scope: {%s}\n", strings.Join(scope, ", "))
		var gs []string
		for _, k := range []struct{ kind, key string }{{"group", "groups"}, {"user", "users"}, {"site_role", "site_roles"}} {
			var names []string
			for _, g := range r.Grantees {
				if g.Kind == k.kind {
					names = append(names, g.Name)
				}
			}
			if len(names) > 0 {
				gs = append(gs, k.key+": "+yseq(names))
			}
		}
		if len(gs) > 0 {
			fmt.Fprintf(&b, "    grantees: {%s}\n", strings.Join(gs, ", "))
		}
		if len(r.Allow) > 0 {
			fmt.Fprintf(&b, "    allow: %s\n", yflow(r.Allow))
		}
		if len(r.Forbid) > 0 {
			fmt.Fprintf(&b, "    forbid: %s\n", yflow(r.Forbid))
		}
		if r.Exclusive {
			b.WriteString("    exclusive: true\n")
		}
		if r.IncludeAdmins {
			b.WriteString("    include_admins: true\n")
		}
		if r.Severity != "" {
			fmt.Fprintf(&b, "    severity: %s\n", r.Severity)
		}
	}
	if len(m.Waivers) > 0 {
		b.WriteString("waivers:\n")
		for _, wv := range m.Waivers {
			fmt.Fprintf(&b, "  - {rule: %s, user: %s", yq(wv.Rule), yq(wv.User))
			if wv.Capability != "" {
				fmt.Fprintf(&b, ", capability: %s", wv.Capability)
			}
			fmt.Fprintf(&b, ", until: %s, reason: %s, owner: %s}\n", wv.Until.Format(time.DateOnly), yq(wv.Reason), yq(wv.Owner))
		}
	}
	if len(m.Hygiene) > 0 {
		b.WriteString("hygiene:\n")
		for _, name := range keys(m.Hygiene) {
			h := m.Hygiene[name]
			var f []string
			if h.Enabled != nil {
				f = append(f, fmt.Sprintf("enabled: %t", *h.Enabled))
			}
			if h.Severity != "" {
				f = append(f, "severity: "+h.Severity)
			}
			if h.Days > 0 {
				f = append(f, fmt.Sprintf("days: %d", h.Days))
			}
			if h.Max > 0 {
				f = append(f, fmt.Sprintf("max: %d", h.Max))
			}
			fmt.Fprintf(&b, "  %s: {%s}\n", name, strings.Join(f, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing matrix: %w", err)
	}
	return nil
}

// yq quotes a string as a YAML double-quoted scalar (JSON strings are).
func yq(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func yseq(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = yq(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// yflow writes a template or capability/type names bare: a single value as
// a scalar, several as a flow list. Projects and other free text are
// quoted.
func yflow(vs []string) string {
	bare := true
	for _, v := range vs {
		if !bareWord.MatchString(v) {
			bare = false
		}
	}
	if !bare {
		if len(vs) == 1 {
			return yq(vs[0])
		}
		return yseq(vs)
	}
	if len(vs) == 1 {
		return vs[0]
	}
	return "[" + strings.Join(vs, ", ") + "]"
}

package rules

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// SnapshotInfo is the snapshot a check runs against (one row of the model's
// snapshot_info).
type SnapshotInfo struct {
	ID                string
	Complete          bool
	AllowedIncomplete bool
}

// IncompleteError reports a snapshot whose manifest says it is incomplete
// and which was not loaded with --allow-incomplete: findings on it could
// miss access silently, so check refuses it.
type IncompleteError struct{ SnapshotID string }

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("snapshot %s is incomplete (see its manifest); check it anyway with --allow-incomplete, knowing access may be missing", e.SnapshotID)
}

// ErrNoSnapshot means the database holds no loaded snapshot.
var ErrNoSnapshot = errors.New("the model database has no snapshot_info rows: build it with `tabaudit model`")

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ResolveSnapshot returns the snapshot with the id, or the most recent one
// when id is "".
func ResolveSnapshot(ctx context.Context, q querier, id string) (SnapshotInfo, error) {
	var s SnapshotInfo
	query := `SELECT snapshot_id, coalesce(complete, false), coalesce(allowed_incomplete, false) FROM snapshot_info`
	var args []any
	if id != "" {
		query += ` WHERE snapshot_id = $1`
		args = append(args, id)
	}
	query += ` ORDER BY started_at DESC NULLS LAST, snapshot_id DESC LIMIT 1`
	err := q.QueryRowContext(ctx, query, args...).Scan(&s.ID, &s.Complete, &s.AllowedIncomplete)
	if errors.Is(err, sql.ErrNoRows) {
		if id != "" {
			return s, fmt.Errorf("snapshot %q is not in the model database", id)
		}
		return s, ErrNoSnapshot
	}
	if err != nil {
		return s, fmt.Errorf("reading snapshot_info: %w", err)
	}
	return s, nil
}

// names is what validation needs from the snapshot: users, groups and the
// parts of the model that some scopes depend on.
type names struct {
	users      []userRow
	userByKey  map[string][]string // name and lower(email) → user ids
	groups     map[string][]string // group name → ids
	allUsers   map[string]bool     // ids of the All Users group
	hasLineage bool
	roles      []string // distinct raw site roles
}

type userRow struct{ id, name, email, role string }

func loadNames(ctx context.Context, q querier) (*names, error) {
	n := &names{userByKey: map[string][]string{}, groups: map[string][]string{}, allUsers: map[string]bool{}}
	rs, err := q.QueryContext(ctx, `SELECT id, coalesce(name, ''), coalesce(email, ''), coalesce(site_role, '') FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	for rs.Next() {
		var u userRow
		if err := rs.Scan(&u.id, &u.name, &u.email, &u.role); err != nil {
			rs.Close()
			return nil, fmt.Errorf("reading users: %w", err)
		}
		n.users = append(n.users, u)
		n.userByKey[u.name] = append(n.userByKey[u.name], u.id)
		if u.email != "" && !strings.EqualFold(u.email, u.name) {
			k := strings.ToLower(u.email)
			n.userByKey[k] = append(n.userByKey[k], u.id)
		}
		if !slices.Contains(n.roles, u.role) {
			n.roles = append(n.roles, u.role)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	rs.Close()
	rs, err = q.QueryContext(ctx, `SELECT id, coalesce(name, ''), coalesce(is_all_users, false) FROM groups ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading groups: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id, name string
		var all bool
		if err := rs.Scan(&id, &name, &all); err != nil {
			return nil, fmt.Errorf("reading groups: %w", err)
		}
		n.groups[name] = append(n.groups[name], id)
		if all {
			n.allUsers[id] = true
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reading groups: %w", err)
	}
	ok, err := relationExists(ctx, q, "content_upstream_tables")
	if err != nil {
		return nil, err
	}
	n.hasLineage = ok
	return n, nil
}

func relationExists(ctx context.Context, q querier, name string) (bool, error) {
	var found int
	err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = $1)
		+ (SELECT count(*) FROM duckdb_views() WHERE view_name = $1)`, name).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("checking for %s: %w", name, err)
	}
	return found > 0, nil
}

// user resolves a user name or email; emails match case-insensitively
// because mail systems treat them so, sign-in names exactly.
func (n *names) user(key string) []string {
	if ids := n.userByKey[key]; len(ids) > 0 {
		return ids
	}
	return n.userByKey[strings.ToLower(key)]
}

func (n *names) userCandidates() []string {
	out := make([]string, 0, len(n.userByKey))
	for k := range n.userByKey {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// rolesMatching lists the raw site roles present in the snapshot that
// normalise to one of the wanted roles (spec §4.1: legacy names count as
// the role they are treated as).
func (n *names) rolesMatching(wanted []string) []string {
	want := map[string]bool{}
	for _, w := range wanted {
		r, _, _ := caps.NormaliseRole(w)
		want[r] = true
	}
	var out []string
	for _, raw := range n.roles {
		if r, _, _ := caps.NormaliseRole(raw); want[r] {
			out = append(out, raw)
		}
	}
	slices.Sort(out)
	return out
}

// validateNames checks every name the matrix uses against the snapshot.
func validateNames(m *Matrix, n *names, d *diags) {
	groupNames := keys(n.groups)
	userNames := n.userCandidates()
	for _, r := range m.Rules {
		for _, g := range r.Grantees {
			switch g.Kind {
			case "group":
				if len(n.groups[g.Name]) == 0 {
					d.errorf(g.Pos, CodeUnknownGroup, didYouMean(g.Name, groupNames), "unknown group %q in rule %q", g.Name, r.ID)
				}
			case "user":
				if len(n.user(g.Name)) == 0 {
					d.errorf(g.Pos, CodeUnknownUser, didYouMean(g.Name, userNames), "unknown user %q in rule %q", g.Name, r.ID)
				}
			}
		}
		for _, o := range r.Scope.Owners {
			if len(n.user(o)) == 0 {
				d.errorf(r.Pos, CodeUnknownUser, didYouMean(o, userNames), "unknown owner %q in rule %q", o, r.ID)
			}
		}
		if (len(r.Scope.UpstreamTables) > 0 || len(r.Scope.UpstreamDatabases) > 0) && !n.hasLineage {
			d.errorf(r.Pos, CodeMissingPart, "extract the snapshot with lineage (Metadata API enabled, no --no-lineage) and rebuild the model",
				"rule %q is scoped by upstream table or database, but the model has no content_upstream_tables", r.ID)
		}
	}
	for _, w := range m.Waivers {
		if w.User != "" && len(n.user(w.User)) == 0 {
			d.errorf(w.Pos, CodeUnknownUser, didYouMean(w.User, userNames), "waiver for unknown user %q", w.User)
		}
	}
}

// Validate checks the matrix's names (groups, users, owners) and the model
// parts its scopes need against the snapshot in db. Load has already checked
// everything else.
func Validate(ctx context.Context, db *sql.DB, m *Matrix) (Diagnostics, error) {
	n, err := loadNames(ctx, db)
	if err != nil {
		return nil, err
	}
	d := &diags{}
	validateNames(m, n, d)
	d.list.sort()
	return d.list, nil
}

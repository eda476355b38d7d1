package model

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/tabaudit/tabaudit/internal/caps"
	"github.com/tabaudit/tabaudit/model/eval"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// BuildStats are the sizes of the compact parts of the model.
type BuildStats struct {
	Users, Groups, Items int64
	Classes              int64 // principal classes (distinct group sets)
	ACLKeys              int64 // (governing rule list, content type) pairs
	ClassGroupRows       int64 // (class, group) memberships the sparse join reads
	GrantRows            int64 // (ACL key, grantee) allow/deny masks
	UserRuleRows         int64 // per-user overlays from user rules
	PositionRows         int64 // (user, project) owner/leader positions
	Findings             int64
	Duration             time.Duration
	StageDurations       []StageDuration
	CeilingVersion       string
	UnknownCapabilities  []string // "type:capability"
}

// StageDuration is the wall time of one build stage.
type StageDuration struct {
	Stage    string
	Duration time.Duration
}

// Build derives the model from the snapshot tables already in the database:
// normalisation, ACL keys, masks, positions, the content and
// effective_permissions relations and model_findings. LoadSnapshot calls it;
// modeltest calls it after filling the tables from a site.
func (d *DB) Build(ctx context.Context) (BuildStats, error) {
	start := time.Now()
	st := BuildStats{CeilingVersion: eval.CeilingVersion}
	if err := d.loadReferenceData(ctx); err != nil {
		return st, err
	}
	names, err := fs.Glob(sqlFiles, "sql/*.sql")
	if err != nil {
		return st, fmt.Errorf("listing model SQL: %w", err)
	}
	slices.Sort(names)
	for _, n := range names {
		t0 := time.Now()
		b, err := sqlFiles.ReadFile(n)
		if err != nil {
			return st, fmt.Errorf("reading %s: %w", n, err)
		}
		if err := d.execAll(ctx, "building model ("+n+")", splitStatements(string(b))); err != nil {
			return st, err
		}
		st.StageDurations = append(st.StageDurations, StageDuration{Stage: strings.TrimSuffix(strings.TrimPrefix(n, "sql/"), ".sql"), Duration: time.Since(t0)})
		d.logger.Debug("model stage", "stage", n, "duration", time.Since(t0))
		if strings.Contains(n, "20_projects") {
			if err := d.checkProjectCycles(ctx); err != nil {
				return st, err
			}
		}
	}
	t0 := time.Now()
	if err := d.buildFindings(ctx); err != nil {
		return st, err
	}
	st.StageDurations = append(st.StageDurations, StageDuration{Stage: "findings", Duration: time.Since(t0)})
	if _, err := d.db.ExecContext(ctx, `UPDATE snapshot_info SET ceiling_version = ?`, eval.CeilingVersion); err != nil {
		return st, fmt.Errorf("recording ceiling version: %w", err)
	}
	if err := d.stats(ctx, &st); err != nil {
		return st, err
	}
	st.Duration = time.Since(start)
	return st, nil
}

// loadReferenceData inserts the versioned data the SQL needs: the role
// table and ceiling matrix from model/eval (one source for both evaluators)
// and the capability catalogue from internal/caps.
func (d *DB) loadReferenceData(ctx context.Context) error {
	stmts := []string{
		`CREATE OR REPLACE TABLE m_roles (role VARCHAR, treated_as VARCHAR, legacy BOOLEAN, admin BOOLEAN, confidence VARCHAR, flag VARCHAR, rank INTEGER, ceiling VARCHAR)`,
		`CREATE OR REPLACE TABLE m_ceiling (role VARCHAR, content_type VARCHAR, capability VARCHAR, tier VARCHAR, allowed BOOLEAN, confidence VARCHAR, cell_confidence VARCHAR)`,
		`CREATE OR REPLACE TABLE m_cap_catalog (content_type VARCHAR, capability VARCHAR, ord INTEGER, retired BOOLEAN)`,
	}
	if err := d.execAll(ctx, "creating reference tables", stmts); err != nil {
		return err
	}
	if err := d.WithAppender(ctx, "m_roles", func(a *appender) error {
		for _, r := range eval.RoleRows() {
			if err := a.AppendRow(r.Role, r.TreatedAs, r.Legacy, r.Admin, r.Confidence.String(), r.Flag, int32(caps.RoleRank(r.TreatedAs)), r.Ceiling); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := d.WithAppender(ctx, "m_ceiling", func(a *appender) error {
		for _, r := range eval.CeilingRows() {
			if err := a.AppendRow(r.Role, r.ContentType, r.Capability, r.Tier, r.Allowed, r.Confidence.String(), r.CellConfidence.String()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return d.WithAppender(ctx, "m_cap_catalog", func(a *appender) error {
		for _, t := range caps.ContentTypes {
			for i, c := range caps.For(t) {
				if err := a.AppendRow(t, c, int32(i+1), slices.Contains(caps.Retired, c)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// checkProjectCycles refuses a project tree with a parent cycle: the
// projects on it have no root, so no controlling project or path exists.
func (d *DB) checkProjectCycles(ctx context.Context) error {
	rows, err := d.db.QueryContext(ctx, `SELECT id, coalesce(parent_project_id, '') FROM projects
		WHERE id NOT IN (SELECT project_id FROM m_projects) ORDER BY id`)
	if err != nil {
		return fmt.Errorf("checking project parents: %w", err)
	}
	defer rows.Close()
	parent := map[string]string{}
	var ids []string
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return fmt.Errorf("checking project parents: %w", err)
		}
		parent[id] = p
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("checking project parents: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	// Walk from the first unreachable project until a project repeats.
	seen := map[string]int{}
	var path []string
	for p := ids[0]; p != ""; p = parent[p] {
		if i, ok := seen[p]; ok {
			cycle := append(path[i:], p)
			return fmt.Errorf("project parents form a cycle (%s); %d project(s) cannot be placed in the tree", strings.Join(cycle, " -> "), len(ids))
		}
		seen[p] = len(path)
		path = append(path, p)
	}
	return fmt.Errorf("%d project(s) cannot be placed in the project tree (first: %s)", len(ids), ids[0])
}

func (d *DB) stats(ctx context.Context, st *BuildStats) error {
	q := []struct {
		dst *int64
		sql string
	}{
		{&st.Users, `SELECT count(*) FROM m_users`},
		{&st.Groups, `SELECT count(*) FROM groups`},
		{&st.Items, `SELECT count(*) FROM m_content`},
		{&st.Classes, `SELECT count(DISTINCT class_id) FROM m_user_class`},
		{&st.ACLKeys, `SELECT count(*) FROM m_acl`},
		{&st.ClassGroupRows, `SELECT count(*) FROM m_class_groups`},
		{&st.GrantRows, `SELECT count(*) FROM m_acl_grants`},
		{&st.UserRuleRows, `SELECT count(*) FROM m_user_acl`},
		{&st.PositionRows, `SELECT count(*) FROM m_position`},
		{&st.Findings, `SELECT count(*) FROM model_findings`},
	}
	for _, x := range q {
		if err := d.db.QueryRowContext(ctx, x.sql).Scan(x.dst); err != nil {
			return fmt.Errorf("model statistics: %w", err)
		}
	}
	rows, err := d.db.QueryContext(ctx, `SELECT content_type || ':' || capability FROM m_type_caps WHERE NOT known ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("model statistics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("model statistics: %w", err)
		}
		st.UnknownCapabilities = append(st.UnknownCapabilities, s)
	}
	return rows.Err()
}

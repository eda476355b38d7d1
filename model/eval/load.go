package eval

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// LoadFacts builds Facts from the snapshot tables of a model database, by
// the table and column names of extract/snapshot/catalog.go (users, groups,
// group_members, group_sets, group_set_members, projects, workbooks, views,
// datasources, flows, virtual_connections, databases, tables,
// permission_rules). The database must hold one snapshot.
//
// Data roles, lenses and metrics have no inventory table in the snapshot, so
// they are absent from loaded facts (rules stored for them are kept).
func LoadFacts(ctx context.Context, db *sql.DB) (*Facts, error) {
	r := &rawFacts{}
	type query struct {
		table, cols string
		scan        func(v []sql.NullString) error
	}
	str := func(v sql.NullString) string { return v.String }
	boolp := func(v sql.NullString) (*bool, error) {
		if !v.Valid {
			return nil, nil
		}
		switch strings.ToLower(v.String) {
		case "true", "t", "1":
			b := true
			return &b, nil
		case "false", "f", "0":
			b := false
			return &b, nil
		}
		return nil, fmt.Errorf("not a boolean: %q", v.String)
	}
	item := func(typ string) func(v []sql.NullString) error {
		return func(v []sql.NullString) error {
			r.items = append(r.items, rawItem{typ: typ, id: str(v[0]), name: str(v[1]), project: str(v[2]), owner: str(v[3]), location: str(v[4])})
			return nil
		}
	}
	queries := []query{
		{"users", "id, name, full_name, email, site_role, glsi_minimum_site_role", func(v []sql.NullString) error {
			r.users = append(r.users, rawUser{id: str(v[0]), name: str(v[1]), fullName: str(v[2]), email: str(v[3]), siteRole: str(v[4]), glsi: str(v[5])})
			return nil
		}},
		{"groups", "id, name, domain_name, minimum_site_role, grant_license_mode, CAST(is_all_users AS VARCHAR)", func(v []sql.NullString) error {
			all, err := boolp(v[5])
			if err != nil {
				return fmt.Errorf("is_all_users: %w", err)
			}
			r.groups = append(r.groups, rawGroup{id: str(v[0]), name: str(v[1]), domain: str(v[2]), minRole: str(v[3]), mode: str(v[4]), allUsers: all != nil && *all})
			return nil
		}},
		{"group_members", "group_id, user_id", func(v []sql.NullString) error {
			r.members = append(r.members, [2]string{str(v[0]), str(v[1])})
			return nil
		}},
		{"group_sets", "id, name", func(v []sql.NullString) error {
			r.groupSets = append(r.groupSets, rawGroupSet{id: str(v[0]), name: str(v[1])})
			return nil
		}},
		{"group_set_members", "group_set_id, group_id", func(v []sql.NullString) error {
			r.setMember = append(r.setMember, [2]string{str(v[0]), str(v[1])})
			return nil
		}},
		{"projects", "id, name, parent_project_id, owner_id, content_permissions, controlling_permissions_project_id", func(v []sql.NullString) error {
			r.projects = append(r.projects, rawProject{id: str(v[0]), name: str(v[1]), parent: str(v[2]), owner: str(v[3]), mode: str(v[4]), controlling: str(v[5])})
			return nil
		}},
		{"workbooks", "id, name, project_id, owner_id, location_type, CAST(show_tabs AS VARCHAR)", func(v []sql.NullString) error {
			tabs, err := boolp(v[5])
			if err != nil {
				return fmt.Errorf("show_tabs: %w", err)
			}
			r.items = append(r.items, rawItem{typ: caps.Workbook, id: str(v[0]), name: str(v[1]), project: str(v[2]), owner: str(v[3]), location: str(v[4]), showTabs: tabs})
			return nil
		}},
		{"views", "id, name, project_id, owner_id, workbook_id", func(v []sql.NullString) error {
			r.items = append(r.items, rawItem{typ: caps.View, id: str(v[0]), name: str(v[1]), project: str(v[2]), owner: str(v[3]), workbook: str(v[4])})
			return nil
		}},
		{"datasources", "id, name, project_id, owner_id, location_type", item(caps.Datasource)},
		{"flows", "id, name, project_id, owner_id, NULL", item(caps.Flow)},
		{"virtual_connections", "id, name, project_id, owner_id, NULL", item(caps.VirtualConnection)},
		{"databases", "id, name, contact_id, content_permissions", func(v []sql.NullString) error {
			r.items = append(r.items, rawItem{typ: caps.Database, id: str(v[0]), name: str(v[1]), owner: str(v[2]), contentPermissions: str(v[3])})
			return nil
		}},
		{"tables", "id, name, contact_id, database_id", func(v []sql.NullString) error {
			r.items = append(r.items, rawItem{typ: caps.Table, id: str(v[0]), name: str(v[1]), owner: str(v[2]), database: str(v[3])})
			return nil
		}},
		{"permission_rules", "object_type, object_id, grantee_type, grantee_id, capability, mode, rule_set, parent_project_id", func(v []sql.NullString) error {
			r.rules = append(r.rules, rawRule{objType: str(v[0]), objID: str(v[1]), granteeType: str(v[2]), granteeID: str(v[3]),
				capability: str(v[4]), mode: str(v[5]), set: str(v[6]), parent: str(v[7])})
			return nil
		}},
	}
	for _, q := range queries {
		n := strings.Count(q.cols, ",") + 1
		if err := scanAll(ctx, db, "SELECT "+q.cols+" FROM "+q.table, n, q.scan); err != nil {
			return nil, fmt.Errorf("loading facts from table %s: %w", q.table, err)
		}
	}
	// The site name is cosmetic (explain's header); a model without
	// snapshot_info still loads.
	var name sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT site_name FROM snapshot_info LIMIT 1").Scan(&name); err == nil {
		r.siteName = name.String
	}
	f, err := build(r)
	if err != nil {
		return nil, fmt.Errorf("loading facts: %w", err)
	}
	return f, nil
}

func scanAll(ctx context.Context, db *sql.DB, q string, n int, scan func([]sql.NullString) error) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]sql.NullString, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := scan(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Package modeltest builds a model database straight from a *site.Site,
// without the simulator and the extractor: every site object becomes the
// snapshot row the extractor would write for it (LUIDs from site.LUID), then
// model.Build runs as it does for a real snapshot. Rules, reports and the
// model's own tests and benchmarks use it to get a model in milliseconds.
package modeltest

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/internal/caps"
	"github.com/tabaudit/tabaudit/model"
)

// New returns an in-memory model of s, closed when the test ends.
func New(t testing.TB, s *site.Site) *model.DB {
	t.Helper()
	db, err := model.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := Load(t.Context(), db, s); err != nil {
		t.Fatal(err)
	}
	return db
}

// FromSite opens an in-memory model and loads s into it.
func FromSite(ctx context.Context, s *site.Site) (*model.DB, model.BuildStats, error) {
	db, err := model.Open(ctx, "")
	if err != nil {
		return nil, model.BuildStats{}, err
	}
	st, err := Load(ctx, db, s)
	if err != nil {
		db.Close()
		return nil, st, err
	}
	return db, st, nil
}

// Manifest is the manifest recorded for a site loaded by this package.
func Manifest(s *site.Site) snapshot.Manifest {
	id := s.ID
	if id == "" {
		id = s.ContentURL
	}
	if id == "" {
		id = "default"
	}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return snapshot.Manifest{
		SchemaVersion: snapshot.SchemaVersion, ToolVersion: "modeltest", SnapshotID: id + "/modeltest",
		ServerURL: "modeltest:", SiteID: site.LUID("site", id), SiteContentURL: s.ContentURL, SiteName: s.Name,
		StartedAt: t, FinishedAt: t, Complete: true, Lineage: "skipped", Tables: map[string]snapshot.TableStats{},
	}
}

// Load writes s into db's snapshot tables (replacing them) and builds the model.
func Load(ctx context.Context, db *model.DB, s *site.Site) (model.BuildStats, error) {
	if err := db.CreateSnapshotTables(ctx); err != nil {
		return model.BuildStats{}, err
	}
	if err := WriteTables(ctx, db, s); err != nil {
		return model.BuildStats{}, err
	}
	if err := db.RecordSnapshot(ctx, Manifest(s), "", false, false, true); err != nil {
		return model.BuildStats{}, err
	}
	return db.Build(ctx)
}

// row collects one row of a catalogue table by column name.
type table struct {
	t   snapshot.Table
	idx map[string]int
	buf [][]driver.Value
}

func newTable(name string) *table {
	t, ok := snapshot.Lookup(name)
	if !ok {
		panic("modeltest: no table " + name) // a typo in this file, not an input error
	}
	idx := map[string]int{}
	for i, c := range t.Columns {
		idx[c.Name] = i
	}
	return &table{t: t, idx: idx}
}

func (t *table) add(kv ...any) {
	row := make([]driver.Value, len(t.t.Columns))
	for i := 0; i+1 < len(kv); i += 2 {
		name := kv[i].(string)
		j, ok := t.idx[name]
		if !ok {
			panic(fmt.Sprintf("modeltest: table %s has no column %s", t.t.Name, name))
		}
		row[j] = value(kv[i+1])
	}
	t.buf = append(t.buf, row)
}

func value(v any) driver.Value {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return x
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.UTC()
	case []string:
		if x == nil {
			return nil
		}
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return v
}

func (t *table) flush(ctx context.Context, db *model.DB) error {
	return db.WithAppender(ctx, t.t.Name, func(a *model.Appender) error {
		for _, r := range t.buf {
			if err := a.AppendRow(r...); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteTables appends s's rows to the (existing) snapshot tables.
func WriteTables(ctx context.Context, db *model.DB, s *site.Site) error {
	L := site.LUID
	tabs := map[string]*table{}
	tb := func(n string) *table {
		if tabs[n] == nil {
			tabs[n] = newTable(n)
		}
		return tabs[n]
	}
	users, groups, members := tb("users"), tb("groups"), tb("group_members")
	for _, u := range s.Users {
		users.add("id", L("user", u.ID), "name", site.DisplayName(u.Name, u.ID), "full_name", u.FullName, "email", u.Email,
			"site_role", u.Role, "auth_setting", u.AuthSetting, "last_login", u.LastLogin, "domain_name", u.Domain,
			"glsi_minimum_site_role", u.GLSIMinimumSiteRole)
	}
	hasAll := false
	for _, g := range s.Groups {
		all := g.ID == site.AllUsersID
		hasAll = hasAll || all
		name := site.DisplayName(g.Name, g.ID)
		if all {
			name = site.AllUsersName
		}
		dom := g.Domain
		if dom == "" {
			dom = "local"
		}
		n := int64(len(g.Members))
		if all {
			n = int64(len(s.Users))
		}
		groups.add("id", L("group", g.ID), "name", name, "domain_name", dom, "minimum_site_role", g.MinimumSiteRole,
			"grant_license_mode", g.LicenseMode, "user_count", n, "is_all_users", all)
		if all {
			continue // written below from the user list: everybody is a member (spec §9.1)
		}
		for _, m := range g.Members {
			members.add("group_id", L("group", g.ID), "user_id", L("user", m))
		}
	}
	if !hasAll {
		groups.add("id", L("group", site.AllUsersID), "name", site.AllUsersName, "domain_name", "local",
			"user_count", int64(len(s.Users)), "is_all_users", true)
	}
	for _, u := range s.Users {
		members.add("group_id", L("group", site.AllUsersID), "user_id", L("user", u.ID))
	}
	sets, setMembers := tb("group_sets"), tb("group_set_members")
	for _, gs := range s.GroupSets {
		sets.add("id", L("groupset", gs.ID), "name", site.DisplayName(gs.Name, gs.ID), "group_count", int64(len(gs.Groups)))
		for _, g := range gs.Groups {
			setMembers.add("group_set_id", L("groupset", gs.ID), "group_id", L("group", g))
		}
	}

	rules := tb("permission_rules")
	addRules := func(objType, objID, ruleSet, contentType string, rs []site.Rule) error {
		for _, r := range rs {
			kind, gid, err := site.ParseGrantee(r.Grantee)
			if err != nil {
				return err
			}
			cs, err := r.Capabilities(contentType)
			if err != nil {
				return fmt.Errorf("rule for %s on %s %s: %w", r.Grantee, objType, objID, err)
			}
			gtype := kind
			for _, c := range cs {
				rules.add("object_type", objType, "object_id", L(objType, objID), "grantee_type", gtype,
					"grantee_id", L(kind, gid), "capability", c.Name, "mode", c.Mode, "rule_set", ruleSet)
			}
		}
		return nil
	}

	projects := tb("projects")
	ctrl := controlling(s)
	for _, p := range s.Projects {
		parent := ""
		if p.Parent != "" {
			parent = L("project", p.Parent)
		}
		mode := p.ContentPermissions
		if mode == "" {
			mode = "ManagedByOwner"
		}
		c := ctrl[p.ID]
		if p.ControllingProject != "" {
			c = p.ControllingProject
		}
		projects.add("id", L("project", p.ID), "name", site.DisplayName(p.Name, p.ID), "description", p.Description,
			"parent_project_id", parent, "owner_id", luidOrEmpty("user", p.Owner), "content_permissions", mode,
			"controlling_permissions_project_id", L("project", c), "created_at", p.CreatedAt, "updated_at", p.UpdatedAt)
		if err := addRules("project", p.ID, "item", caps.Project, p.Rules); err != nil {
			return err
		}
		for _, ct := range sortedKeys(p.Defaults) {
			if err := addRules("project", p.ID, "default:"+ct, ct, p.Defaults[ct]); err != nil {
				return err
			}
		}
	}
	owner := map[string]string{}     // workbook -> owner, for views
	wbProject := map[string]string{} // workbook -> project, for views
	for _, it := range s.Items {
		if it.Type == caps.Workbook {
			owner[it.ID] = it.Owner
			wbProject[it.ID] = it.Project
		}
	}
	for _, it := range s.Items {
		id := L(it.Type, it.ID)
		name := site.DisplayName(it.Name, it.ID)
		proj := luidOrEmpty("project", it.Project)
		own := luidOrEmpty("user", it.Owner)
		switch it.Type {
		case caps.Workbook:
			tb("workbooks").add("id", id, "name", name, "content_url", it.ID, "project_id", proj, "owner_id", own,
				"show_tabs", it.ShowTabs != nil && *it.ShowTabs, "size", it.SizeBytes, "location_type", locationType(it.LocationType),
				"has_extracts", it.HasExtracts, "description", it.Description, "tags", it.Tags,
				"created_at", it.CreatedAt, "updated_at", it.UpdatedAt)
		case caps.View:
			tb("views").add("id", id, "name", name, "content_url", it.ID, "workbook_id", L(caps.Workbook, it.Workbook),
				"project_id", luidOrEmpty("project", wbProject[it.Workbook]), "owner_id", luidOrEmpty("user", owner[it.Workbook]),
				"sheet_type", "worksheet", "view_url_name", it.ID, "hidden", it.Hidden, "tags", it.Tags,
				"created_at", it.CreatedAt, "updated_at", it.UpdatedAt)
		case caps.Datasource:
			tb("datasources").add("id", id, "name", name, "content_url", it.ID, "project_id", proj, "owner_id", own,
				"is_certified", it.Certified, "has_extracts", it.HasExtracts, "location_type", locationType(it.LocationType),
				"description", it.Description, "tags", it.Tags, "created_at", it.CreatedAt, "updated_at", it.UpdatedAt)
		case caps.Flow:
			tb("flows").add("id", id, "name", name, "project_id", proj, "owner_id", own, "description", it.Description,
				"tags", it.Tags, "created_at", it.CreatedAt, "updated_at", it.UpdatedAt)
		case caps.VirtualConnection:
			tb("virtual_connections").add("id", id, "name", name, "project_id", proj, "owner_id", own,
				"has_extracts", it.HasExtracts, "is_certified", it.Certified, "created_at", it.CreatedAt, "updated_at", it.UpdatedAt)
		case caps.Database:
			mode := it.ContentPermissions
			if mode == "" {
				mode = "ManagedByOwner"
			}
			tb("databases").add("id", id, "name", name, "content_permissions", mode, "contact_id", own)
			for _, ct := range sortedKeys(it.Defaults) {
				if err := addRules(caps.Database, it.ID, "default:"+ct, ct, it.Defaults[ct]); err != nil {
					return err
				}
			}
		case caps.Table:
			tb("tables").add("id", id, "name", name, "database_id", luidOrEmpty(caps.Database, it.Database), "contact_id", own)
		default:
			continue // data roles, lenses and metrics have no snapshot table
		}
		if err := addRules(it.Type, it.ID, "item", it.Type, it.Rules); err != nil {
			return err
		}
	}
	for _, t := range snapshot.Tables {
		if x := tabs[t.Name]; x != nil {
			if err := x.flush(ctx, db); err != nil {
				return err
			}
		}
	}
	return nil
}

func locationType(s string) string {
	if s == "" {
		return "Project"
	}
	return s
}

func luidOrEmpty(kind, id string) string {
	if id == "" {
		return ""
	}
	return site.LUID(kind, id)
}

// controlling computes spec §7.2's controlling project for every project:
// the top-most LockedToProject project on its path, else itself. A cycle
// stops the walk (the model reports it).
func controlling(s *site.Site) map[string]string {
	byID := map[string]*site.Project{}
	for i := range s.Projects {
		byID[s.Projects[i].ID] = &s.Projects[i]
	}
	out := map[string]string{}
	for _, p := range s.Projects {
		c := p.ID
		seen := map[string]bool{}
		for q := &p; q != nil && !seen[q.ID]; q = byID[q.Parent] {
			seen[q.ID] = true
			if q.ContentPermissions == "LockedToProject" {
				c = q.ID
			}
		}
		out[p.ID] = c
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slicesSort(out)
	return out
}

func slicesSort(s []string) { slices.Sort(s) }

package extract

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/extract/tableautest"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// vectorSites loads the site of every spec vector.
func vectorSites(t testing.TB) map[string]*site.Site {
	t.Helper()
	data, err := os.ReadFile("../testdata/spec/permission-vectors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			ID   string    `yaml:"id"`
			Site yaml.Node `yaml:"site"`
		} `yaml:"vectors"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]*site.Site{}
	for _, v := range doc.Vectors {
		s, err := site.FromNode(v.ID, &v.Site)
		if err != nil {
			t.Fatalf("%s: %v", v.ID, err)
		}
		out[v.ID] = s
	}
	return out
}

// testConfig extracts from srv into a fresh folder.
func testConfig(t testing.TB, srv *tableautest.Server) Config {
	t.Helper()
	return Config{
		ServerURL:   srv.URL,
		Credentials: tableau.Credentials{PATName: tableautest.DefaultPATName, PATSecret: tableautest.DefaultPATSecret, ContentURL: srv.ContentURL},
		OutRoot:     t.TempDir(),
		Concurrency: 8,
		NoLineage:   true,
		ToolVersion: "test",
		RetryPolicy: &tableau.RetryPolicy{MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxWait: 2 * time.Second, MaxReSignIns: 3},
	}
}

func extractOne(t testing.TB, cfg Config) SiteResult {
	t.Helper()
	res, err := Extract(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if len(res.Snapshots) != 1 {
		t.Fatalf("got %d snapshots, want 1", len(res.Snapshots))
	}
	return res.Snapshots[0]
}

// tuples reads the named columns of a table as sorted "a|b|c" strings; nil
// is "∅", bools and ints are printed, lists joined with ",".
func tuples(t testing.TB, dir, table string, cols ...string) []string {
	t.Helper()
	s, err := snapshot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.Read(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = rows.Column(c)
		if idx[i] < 0 {
			t.Fatalf("%s has no column %s", table, c)
		}
	}
	out := make([]string, 0, len(rows.Rows))
	for _, row := range rows.Rows {
		parts := make([]string, len(cols))
		for i, j := range idx {
			parts[i] = show(row[j])
		}
		out = append(out, strings.Join(parts, "|"))
	}
	slices.Sort(out)
	return out
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "∅"
	case []string:
		return strings.Join(x, ",")
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

func sortedStrings(s []string) []string {
	if s == nil {
		s = []string{}
	}
	slices.Sort(s)
	return s
}

// expected computes, from a site file, the tuples the extraction must yield.
func expected(t testing.TB, s *site.Site) map[string][]string {
	t.Helper()
	L := site.LUID
	want := map[string][]string{}
	add := func(table string, parts ...string) { want[table] = append(want[table], strings.Join(parts, "|")) }
	for _, u := range s.Users {
		add("users", L("user", u.ID), site.DisplayName(u.Name, u.ID), u.Role)
	}
	for _, g := range s.Groups {
		add("groups", L("group", g.ID), site.DisplayName(g.Name, g.ID), or(g.MinimumSiteRole, "∅"))
		for _, m := range g.Members {
			add("group_members", L("group", g.ID), L("user", m))
		}
	}
	for _, gs := range s.GroupSets {
		add("group_sets", L("groupset", gs.ID), site.DisplayName(gs.Name, gs.ID))
		for _, g := range gs.Groups {
			add("group_set_members", L("groupset", gs.ID), L("group", g))
		}
	}
	rules := func(objType, objID, ruleSet, contentType string, rs []site.Rule) {
		for _, r := range rs {
			kind, id, err := site.ParseGrantee(r.Grantee)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := r.Capabilities(contentType)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				add("permission_rules", objType, objID, kind, L(kind, id), c.Name, c.Mode, ruleSet)
			}
		}
	}
	for _, p := range s.Projects {
		parent := "∅"
		if p.Parent != "" {
			parent = L("project", p.Parent)
		}
		// Tableau reports a project nested in a locked (with nested)
		// project as locked itself (spec §7.2).
		mode := or(p.ContentPermissions, "ManagedByOwner")
		for a := s.ProjectByID(p.Parent); a != nil; a = s.ProjectByID(a.Parent) {
			if a.ContentPermissions == "LockedToProject" {
				mode = "LockedToProject"
			}
		}
		add("projects", L("project", p.ID), site.DisplayName(p.Name, p.ID), parent, mode)
		rules(caps.Project, L("project", p.ID), "item", caps.Project, p.Rules)
		for typ, rs := range p.Defaults {
			rules(caps.Project, L("project", p.ID), "default:"+typ, typ, rs)
		}
	}
	tables := map[string]string{caps.Workbook: "workbooks", caps.View: "views", caps.Datasource: "datasources", caps.Flow: "flows",
		caps.VirtualConnection: "virtual_connections", caps.Database: "databases", caps.Table: "tables"}
	for _, it := range s.Items {
		table, ok := tables[it.Type]
		if !ok {
			continue
		}
		luid := L(it.Type, it.ID)
		switch it.Type {
		case caps.View:
			add(table, luid, site.DisplayName(it.Name, it.ID), L(caps.Workbook, it.Workbook), fmt.Sprint(it.Hidden))
		case caps.Database, caps.Table:
			add(table, luid, site.DisplayName(it.Name, it.ID))
		default:
			proj := L("project", it.Project)
			if it.LocationType == "PersonalSpace" {
				proj = "∅" // Personal Space content has no project element
			}
			add(table, luid, site.DisplayName(it.Name, it.ID), proj)
		}
		rules(it.Type, luid, "item", it.Type, it.Rules)
		if it.Type == caps.Database {
			for typ, rs := range it.Defaults {
				rules(caps.Database, luid, "default:"+typ, typ, rs)
			}
		}
	}
	for k := range want {
		want[k] = sortedStrings(want[k])
	}
	return want
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// got reads the same tuples back from a snapshot.
func got(t testing.TB, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{
		"users":               tuples(t, dir, "users", "id", "name", "site_role"),
		"groups":              tuples(t, dir, "groups", "id", "name", "minimum_site_role"),
		"group_members":       tuples(t, dir, "group_members", "group_id", "user_id"),
		"group_sets":          tuples(t, dir, "group_sets", "id", "name"),
		"group_set_members":   tuples(t, dir, "group_set_members", "group_set_id", "group_id"),
		"projects":            tuples(t, dir, "projects", "id", "name", "parent_project_id", "content_permissions"),
		"workbooks":           tuples(t, dir, "workbooks", "id", "name", "project_id"),
		"views":               fixHidden(tuples(t, dir, "views", "id", "name", "workbook_id", "hidden")),
		"datasources":         tuples(t, dir, "datasources", "id", "name", "project_id"),
		"flows":               tuples(t, dir, "flows", "id", "name", "project_id"),
		"virtual_connections": tuples(t, dir, "virtual_connections", "id", "name", "project_id"),
		"databases":           tuples(t, dir, "databases", "id", "name"),
		"tables":              tuples(t, dir, "tables", "id", "name"),
		"permission_rules":    tuples(t, dir, "permission_rules", "object_type", "object_id", "grantee_type", "grantee_id", "capability", "mode", "rule_set"),
	}
	for k, v := range out {
		if len(v) == 0 {
			delete(out, k)
		}
	}
	return out
}

// fixHidden maps an absent hidden attribute to false: Tableau only sends
// hidden="true".
func fixHidden(in []string) []string {
	for i, s := range in {
		in[i] = strings.TrimSuffix(s, "|∅") + map[bool]string{true: "|false", false: ""}[strings.HasSuffix(s, "|∅")]
	}
	slices.Sort(in)
	return in
}

// Every vector site extracts losslessly: every user, group, membership,
// group set, project, item, rule and default rule.
func TestRoundTripVectorSites(t *testing.T) {
	sites := vectorSites(t)
	ids := make([]string, 0, len(sites))
	for id := range sites {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			s := sites[id]
			srv := tableautest.NewServer(t, s)
			res := extractOne(t, testConfig(t, srv))
			if !res.Manifest.Complete {
				t.Errorf("incomplete: %v failures=%v", res.Manifest.Incomplete, res.Manifest.Failures)
			}
			if diff := cmp.Diff(expected(t, s), got(t, res.Dir)); diff != "" {
				t.Errorf("snapshot differs from the site file (-want +got):\n%s", diff)
			}
			if filepath.Base(filepath.Dir(res.Dir)) != snapshot.SiteFolder(s.ContentURL) {
				t.Errorf("snapshot folder %s", res.Dir)
			}
		})
	}
}

// With lineage on, the Metadata API walk goes through the client's
// authenticated, retrying doer and lands in the same snapshot.
func TestLineage(t *testing.T) {
	s, err := site.Load("../testdata/sim/rich.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := tableautest.NewServer(t, s, tableautest.WithFaults(tableautest.Faults{SessionExpiryRequests: 30, Error5xxEvery: 17}))
	cfg := testConfig(t, srv)
	cfg.NoLineage = false
	res := extractOne(t, cfg)
	m := res.Manifest
	if m.Lineage != "complete" || !m.Complete {
		t.Fatalf("lineage %q complete %v notes %v incomplete %v failures %v", m.Lineage, m.Complete, m.LineageNotes, m.Incomplete, m.Failures)
	}
	if m.Tables["lineage_nodes"].Rows == 0 || m.Tables["lineage_edges"].Rows == 0 {
		t.Errorf("lineage tables: %+v %+v", m.Tables["lineage_nodes"], m.Tables["lineage_edges"])
	}
	// Every REST workbook appears as a lineage node with its LUID.
	wb := tuples(t, res.Dir, "workbooks", "id")
	nodes := map[string]bool{}
	for _, l := range tuples(t, res.Dir, "lineage_nodes", "luid", "kind") {
		nodes[l] = true
	}
	for _, id := range wb {
		if !nodes[id+"|workbook"] {
			t.Errorf("workbook %s has no lineage node", id)
		}
	}
	if diff := cmp.Diff(expected(t, s), got(t, res.Dir)); diff != "" {
		t.Errorf("REST tables differ from the site file (-want +got):\n%s", diff)
	}
}

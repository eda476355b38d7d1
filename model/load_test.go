package model_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

// writeSnapshot writes s as a snapshot folder (Parquet through DuckDB's
// COPY, plus manifest.json) under root/site=<id>/snapshot=<stamp>, and
// returns the folder.
func writeSnapshot(t *testing.T, s *site.Site, root, stamp string, edit func(*snapshot.Manifest)) string {
	t.Helper()
	db := modeltest.New(t, s)
	dir := filepath.Join(root, "site="+s.ID, "snapshot="+stamp)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := modeltest.Manifest(s)
	m.SnapshotID = s.ID + "/" + stamp
	m.Tables = map[string]snapshot.TableStats{}
	for _, tb := range snapshot.Tables {
		if tb.Lineage {
			continue
		}
		f := filepath.Join(dir, tb.File())
		if _, err := db.SQL().Exec(fmt.Sprintf("COPY %s TO '%s' (FORMAT parquet)", tb.Name, f)); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(&m)
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, snapshot.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func vectorSite(t *testing.T, id string) *site.Site {
	t.Helper()
	vs, err := model.LoadVectors(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.ID == id {
			return v.Site
		}
	}
	t.Fatalf("no vector %s", id)
	return nil
}

func TestLoadSnapshot(t *testing.T) {
	s := vectorSite(t, "PS-40")
	dir := writeSnapshot(t, s, t.TempDir(), "20260101T000000Z", nil)
	db, err := model.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	info, err := db.LoadSnapshot(t.Context(), dir, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Rows["users"] != 5 || info.Rows["projects"] != 1 || info.Rows["workbooks"] != 1 {
		t.Errorf("rows %v", info.Rows)
	}
	if strings.Join(info.Absent, ",") != "lineage_nodes,lineage_edges" {
		t.Errorf("absent %v, want the lineage tables", info.Absent)
	}
	if info.Stats.Users != 5 || info.Stats.ACLKeys != 2 || info.Stats.Classes != 3 {
		t.Errorf("stats %+v", info.Stats)
	}
	var decision, reason, flags, cv string
	if err := db.SQL().QueryRow(`SELECT decision, reason, array_to_string(flags, ','), (SELECT ceiling_version FROM snapshot_info)
		FROM effective_permissions WHERE user_id = ? AND content_id = ? AND capability = 'ChangePermissions' AND basis = 'current'`,
		site.LUID("user", "uri"), site.LUID("workbook", "w1")).Scan(&decision, &reason, &flags, &cv); err != nil {
		t.Fatal(err)
	}
	if decision != "deny" || reason != "LOCKED_PROJECT" || flags != "INERT_IN_LOCKED_PROJECT" || cv == "" {
		t.Errorf("got %s %s [%s] ceiling %q", decision, reason, flags, cv)
	}
}

func TestLoadSnapshotBadInput(t *testing.T) {
	s := vectorSite(t, "PS-01")
	tests := []struct {
		name   string
		edit   func(*snapshot.Manifest)
		break_ func(dir string)
		opts   model.LoadOptions
		want   string
		check  func(error) bool
	}{
		{name: "newer schema", edit: func(m *snapshot.Manifest) { m.SchemaVersion = snapshot.SchemaVersion + 1 },
			want: "is newer than this tabaudit understands", check: func(err error) bool { var se *model.SchemaError; return errors.As(err, &se) }},
		{name: "incomplete", edit: func(m *snapshot.Manifest) {
			m.Complete = false
			m.Incomplete = []string{"permissions of workbook w1 failed"}
		},
			want: "is incomplete (permissions of workbook w1 failed); pass --allow-incomplete", check: func(err error) bool { var ie *model.IncompleteError; return errors.As(err, &ie) }},
		{name: "missing table", break_: func(dir string) { os.Remove(filepath.Join(dir, "group_members.parquet")) },
			want: "table group_members is missing (group_members.parquet)", check: func(err error) bool { var se *model.SchemaError; return errors.As(err, &se) }},
		{name: "missing column", break_: func(dir string) {
			db, _ := model.Open(t.Context(), "")
			defer db.Close()
			f := filepath.Join(dir, "users.parquet")
			db.SQL().Exec(fmt.Sprintf("COPY (SELECT * EXCLUDE (site_role) FROM '%s') TO '%s.x' (FORMAT parquet)", f, f))
			os.Rename(f+".x", f)
		}, want: "table users has no column site_role", check: func(err error) bool { var se *model.SchemaError; return errors.As(err, &se) }},
		{name: "no manifest", break_: func(dir string) { os.Remove(filepath.Join(dir, snapshot.ManifestFile)) },
			want: "reading manifest of snapshot", check: func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeSnapshot(t, s, t.TempDir(), "20260101T000000Z", tt.edit)
			if tt.break_ != nil {
				tt.break_(dir)
			}
			db, err := model.Open(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			_, err = db.LoadSnapshot(t.Context(), dir, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !tt.check(err) {
				t.Fatalf("error = %v, want %q of the right type", err, tt.want)
			}
		})
	}
	t.Run("incomplete allowed", func(t *testing.T) {
		dir := writeSnapshot(t, s, t.TempDir(), "20260101T000000Z", func(m *snapshot.Manifest) { m.Complete = false })
		db, _ := model.Open(t.Context(), "")
		defer db.Close()
		info, err := db.LoadSnapshot(t.Context(), dir, model.LoadOptions{AllowIncomplete: true})
		if err != nil || !info.AllowedIncomplete {
			t.Fatalf("err %v, info %+v", err, info)
		}
		var complete, allowed bool
		db.SQL().QueryRow(`SELECT complete, allowed_incomplete FROM snapshot_info`).Scan(&complete, &allowed)
		if complete || !allowed {
			t.Errorf("snapshot_info complete=%v allowed_incomplete=%v", complete, allowed)
		}
	})
}

// Bad facts inside a readable snapshot: a rule naming a user or group that
// is not on the site is kept (matches nobody) and reported; a project parent
// cycle is refused with the cycle named.
func TestBadFacts(t *testing.T) {
	s := vectorSite(t, "PS-01")
	db := modeltest.New(t, s)
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO permission_rules VALUES ('workbook', '` + site.LUID("workbook", "w1") + `', 'user', 'ghost-user', 'Read', 'Allow', 'item', NULL)`,
		`INSERT INTO permission_rules VALUES ('workbook', '` + site.LUID("workbook", "w1") + `', 'group', 'ghost-group', 'Filter', 'Deny', 'item', NULL)`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Build(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	db.SQL().QueryRow(`SELECT count(*) FROM model_findings WHERE code = 'UNKNOWN_GRANTEE' AND related_id IN ('ghost-user', 'ghost-group')`).Scan(&n)
	if n != 2 {
		t.Errorf("%d UNKNOWN_GRANTEE findings, want 2", n)
	}
	var reason string
	db.SQL().QueryRow(`SELECT reason FROM effective_permissions WHERE user_id = ? AND content_id = ? AND capability = 'Filter' AND basis = 'current'`,
		site.LUID("user", "ana"), site.LUID("workbook", "w1")).Scan(&reason)
	if reason != "UNSPECIFIED" {
		t.Errorf("ana Filter: %s, want UNSPECIFIED (the unknown group's Deny matches nobody)", reason)
	}

	// An unknown site role gets an empty cap, keeps its name and is flagged;
	// both engines agree on every triple.
	if _, err := db.SQL().ExecContext(ctx, `UPDATE users SET site_role = 'Wizard' WHERE id = ?`, site.LUID("user", "ana")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Build(ctx); err != nil {
		t.Fatal(err)
	}
	var rule, flags string
	db.SQL().QueryRow(`SELECT reason || ' ' || deciding_rule, array_to_string(flags, ',') FROM effective_permissions
		WHERE user_id = ? AND content_id = ? AND capability = 'Read' AND basis = 'current'`,
		site.LUID("user", "ana"), site.LUID("workbook", "w1")).Scan(&rule, &flags)
	if rule != "SITE_ROLE_CEILING ceiling:Wizard" || flags != "UNKNOWN_SITE_ROLE" {
		t.Errorf("unknown role: %q [%s]", rule, flags)
	}
	if diffs, err := compare(ctx, db, 5); err != nil || len(diffs) > 0 {
		t.Errorf("engines disagree on bad facts: %v %v", err, diffs)
	}

	// A parent cycle p2 -> p3 -> p2.
	for _, q := range []string{
		`INSERT INTO projects (id, name, parent_project_id, content_permissions) VALUES ('p2', 'two', 'p3', 'ManagedByOwner'), ('p3', 'three', 'p2', 'ManagedByOwner')`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	_, err := db.Build(ctx)
	if err == nil || !strings.Contains(err.Error(), "project parents form a cycle (p2 -> p3 -> p2)") {
		t.Fatalf("error = %v, want the cycle named", err)
	}
}

//go:build large

package model_test

// Scale runs: go test -tags large -run TestScale -v -timeout 30m ./model/
// (TABAUDIT_SCALE=M or L picks one preset; default both). They print the
// figures the model is held to: build time, peak RSS, classes, ACL keys and
// the two analyst queries.

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

func TestScale(t *testing.T) {
	presets := []string{"M", "L"}
	if p := os.Getenv("TABAUDIT_SCALE"); p != "" {
		presets = strings.Split(p, ",")
	}
	for _, p := range presets {
		t.Run(p, func(t *testing.T) { scale(t, p) })
	}
}

func scale(t *testing.T, preset string) {
	ctx := context.Background()
	t0 := time.Now()
	s, err := site.Generate(preset, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: generated in %v (rss %s)", preset, time.Since(t0).Round(time.Millisecond), rss())
	// TABAUDIT_SCALE_DB keeps the model in a file for later inspection.
	path := os.Getenv("TABAUDIT_SCALE_DB")
	if path != "" {
		path += "." + preset + ".duckdb"
		os.Remove(path)
	}
	db, err := model.OpenWith(ctx, path, model.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t1 := time.Now()
	if err := db.CreateSnapshotTables(ctx); err != nil {
		t.Fatal(err)
	}
	if err := modeltest.WriteTables(ctx, db, s); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordSnapshot(ctx, modeltest.Manifest(s), "", false, false, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: tables written in %v", preset, time.Since(t1).Round(time.Millisecond))
	s = nil
	st, err := db.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: model built in %v; users %d, items %d, classes %d, ACL keys %d, class-group rows %d, grant rows %d, user-rule rows %d, position rows %d; peak rss %s",
		preset, st.Duration.Round(time.Millisecond), st.Users, st.Items, st.Classes, st.ACLKeys, st.ClassGroupRows, st.GrantRows, st.UserRuleRows, st.PositionRows, rss())
	for _, sd := range st.StageDurations {
		t.Logf("  stage %-14s %v", sd.Stage, sd.Duration.Round(time.Millisecond))
	}
	var user, item string
	if err := db.SQL().QueryRowContext(ctx, `SELECT user_id FROM m_user_basis WHERE basis = 'current' AND role IN ('Creator', 'Explorer') ORDER BY user_id LIMIT 1`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().QueryRowContext(ctx, `SELECT content_id FROM m_content WHERE content_type = 'workbook' ORDER BY content_id LIMIT 1`).Scan(&item); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ name, sql, arg string }{
		{"everything user U can do", `SELECT count(*) FROM effective_permissions WHERE user_id = ? AND decision = 'allow' AND basis = 'current'`, user},
		{"everyone who can Read item I", `SELECT count(*) FROM effective_permissions WHERE content_id = ? AND capability = 'Read' AND decision = 'allow' AND basis = 'current'`, item},
		{"everything user U can do, with deciding rules", `SELECT count(DISTINCT deciding_rule) FROM effective_permissions WHERE user_id = ? AND decision = 'allow' AND basis = 'current'`, user},
		{"everyone who can Read item I, with deciding rules", `SELECT count(DISTINCT deciding_rule) FROM effective_permissions WHERE content_id = ? AND capability = 'Read' AND decision = 'allow' AND basis = 'current'`, item},
	} {
		t2 := time.Now()
		var n int64
		if err := db.SQL().QueryRowContext(ctx, q.sql, q.arg).Scan(&n); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s: %d rows in %v", preset, q.name, n, time.Since(t2).Round(time.Millisecond))
	}
	t.Logf("%s: peak rss %s", preset, rss())
}

// rss is the process's peak resident set (VmHWM), which includes the Go
// site generator as well as DuckDB.
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

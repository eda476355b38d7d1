//go:build large

package model_test

// Scale runs: go test -tags large -run TestScale -v -timeout 30m ./model/
// (TABAUDIT_SCALE=M or L picks one preset; default both). They print the
// figures the model is held to: build time, peak RSS, classes, ACL keys and
// the two analyst queries, and model.ExpandAccess against the view.

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
	t.Logf("%s: generated in %v (rss %s)", preset, time.Since(t0).Round(time.Millisecond), modeltest.PeakRSS())
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
		preset, st.Duration.Round(time.Millisecond), st.Users, st.Items, st.Classes, st.ACLKeys, st.ClassGroupRows, st.GrantRows, st.UserRuleRows, st.PositionRows, modeltest.PeakRSS())
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
	expandScale(t, db, preset)
	t.Logf("%s: peak rss %s", preset, modeltest.PeakRSS())
}

// expandScale times model.ExpandAccess against its baseline, the
// effective_permissions view filtered by constant item lists (what every
// consumer did before), on the same items, and prints the ratio; then the
// whole site counted.
func expandScale(t *testing.T, db *model.DB, preset string) {
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var ids string
	if err := conn.QueryRowContext(ctx, `SELECT string_agg(chr(39) || content_id || chr(39), ',') FROM (SELECT content_id FROM m_content
		WHERE content_type = 'view' ORDER BY hash(content_id) LIMIT 400)`).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	items := `SELECT 'view' AS content_type, content_id, 'Read' AS capability FROM m_content WHERE content_type = 'view' AND content_id IN (` + ids + `)`
	t0 := time.Now()
	var base int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM effective_permissions WHERE basis = 'current' AND decision = 'allow'
		AND capability = 'Read' AND content_type = 'view' AND content_id IN (`+ids+`)`).Scan(&base); err != nil {
		t.Fatal(err)
	}
	baseline := time.Since(t0)
	t1 := time.Now()
	st, err := model.ExpandAccess(ctx, conn, "scale_x", items, model.AccessOptions{Decision: "allow"})
	if err != nil {
		t.Fatal(err)
	}
	expand := time.Since(t1)
	if st.Rows != base {
		t.Errorf("ExpandAccess wrote %d rows, the view has %d", st.Rows, base)
	}
	t2 := time.Now()
	if _, err := model.ExpandAccess(ctx, conn, "scale_c", items, model.AccessOptions{Decision: "allow", Count: true}); err != nil {
		t.Fatal(err)
	}
	count := time.Since(t2)
	t.Logf("%s: 400 views × Read, %d allowed rows: view (baseline) %v | ExpandAccess %v (%.1f× faster) | counted %v (%.1f× faster)",
		preset, base, baseline.Round(time.Millisecond), expand.Round(time.Millisecond), baseline.Seconds()/expand.Seconds(),
		count.Round(time.Millisecond), baseline.Seconds()/count.Seconds())
	t3 := time.Now()
	st, err = model.ExpandAccess(ctx, conn, "scale_all", `SELECT c.content_type, c.content_id, k.capability FROM m_content c
		JOIN m_type_caps k ON k.content_type = c.content_type`, model.AccessOptions{Decision: "allow", Count: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: whole site counted (%d item × capability pairs, %d contexts, %d class pairs, %d exception pairs): %v, rss %s",
		preset, st.Selected, st.Contexts, st.ClassPairs, st.Exceptions, time.Since(t3).Round(time.Millisecond), modeltest.PeakRSS())
}

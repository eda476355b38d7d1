package model_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

var accessSites = flag.Int("access-sites", 20, "random sites TestExpandAccessMatchesView compares (e.g. -access-sites=500)")

// accessRows reads a relation of effective_permissions' shape as sorted
// lines, one per decision.
func accessRows(ctx context.Context, conn *sql.Conn, q string) ([]string, error) {
	return sortedLines(ctx, conn, `SELECT concat_ws('|', user_id, user_name, content_type, content_id, capability, decision, reason,
		coalesce(deciding_rule, '∅'), array_to_string(flags, ','), confidence) FROM (`+q+`)`)
}

// accessCounts reads counted access as sorted lines.
func accessCounts(ctx context.Context, conn *sql.Conn, q string) ([]string, error) {
	return sortedLines(ctx, conn, `SELECT concat_ws('|', content_type, content_id, capability, decision, reason, users) FROM (`+q+`)`)
}

func sortedLines(ctx context.Context, conn *sql.Conn, q string) ([]string, error) {
	rs, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out, rs.Err()
}

// expandMatches compares ExpandAccess with a filter of the view.
func expandMatches(ctx context.Context, conn *sql.Conn, items, viewFilter string, opts model.AccessOptions) (diffs []string, st model.AccessStats, err error) {
	st, err = model.ExpandAccess(ctx, conn, "t_expanded", items, opts)
	if err != nil {
		return nil, st, err
	}
	got, err := accessRows(ctx, conn, `SELECT * FROM t_expanded`)
	if err != nil {
		return nil, st, err
	}
	cols := `e.* EXCLUDE (content_name, project_id, project_path, basis)`
	if opts.Narrow {
		cols = `e.user_id, e.user_name, e.content_type, e.content_id, e.capability, e.decision, e.reason,
			NULL::VARCHAR AS deciding_rule, NULL::VARCHAR[] AS flags, NULL::VARCHAR AS confidence`
	}
	want, err := accessRows(ctx, conn, `SELECT `+cols+`
		FROM effective_permissions e SEMI JOIN (`+items+`) s ON s.content_type = e.content_type AND s.content_id = e.content_id
			AND s.capability = e.capability WHERE `+viewFilter)
	if err != nil {
		return nil, st, err
	}
	if int64(len(got)) != st.Rows {
		diffs = append(diffs, fmt.Sprintf("stats say %d rows, table has %d", st.Rows, len(got)))
	}
	i, j := 0, 0
	for (i < len(got) || j < len(want)) && len(diffs) < 6 {
		switch {
		case j >= len(want) || (i < len(got) && got[i] < want[j]):
			diffs = append(diffs, "expanded only: "+got[i])
			i++
		case i >= len(got) || want[j] < got[i]:
			diffs = append(diffs, "view only:     "+want[j])
			j++
		default:
			i++
			j++
		}
	}
	return diffs, st, nil
}

const allItems = `SELECT c.content_type, c.content_id, k.capability FROM m_content c JOIN m_type_caps k USING (content_type)`

// TestExpandAccessMatchesView holds the class-level expansion to the view
// on random sites (every decision, both bases), the spec's vector sites and
// a generated S site, with the decision and user filters.
func TestExpandAccessMatchesView(t *testing.T) {
	ctx := t.Context()
	check := func(t *testing.T, db *model.DB, what string) model.AccessStats {
		t.Helper()
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var st model.AccessStats
		for _, c := range []struct {
			opts   model.AccessOptions
			filter string
		}{
			{model.AccessOptions{}, "basis = 'current'"},
			{model.AccessOptions{Basis: "projected"}, "basis = 'projected'"},
			{model.AccessOptions{Decision: "allow"}, "basis = 'current' AND decision = 'allow'"},
			{model.AccessOptions{Decision: "deny", Users: `SELECT id AS user_id FROM users WHERE id < '8'`},
				"basis = 'current' AND decision = 'deny' AND user_id < '8'"},
			{model.AccessOptions{Narrow: true, Users: `SELECT id AS user_id FROM users WHERE id > '8'`},
				"basis = 'current' AND user_id > '8'"},
			{model.AccessOptions{Tuples: `SELECT user_id, content_type, content_id, capability FROM effective_permissions
				WHERE basis = 'current' AND hash(user_id, content_id, capability) % 3 = 0`},
				"basis = 'current' AND hash(user_id, content_id, capability) % 3 = 0"},
		} {
			diffs, s, err := expandMatches(ctx, conn, allItems, c.filter, c.opts)
			if err != nil {
				t.Fatalf("%s %+v: %v", what, c.opts, err)
			}
			if len(diffs) > 0 {
				t.Fatalf("%s %+v: expansion differs from effective_permissions:\n%s", what, c.opts, strings.Join(diffs, "\n"))
			}
			if c.opts == (model.AccessOptions{}) {
				st = s
			}
			if c.opts.Tuples != "" {
				continue
			}
			// Counting without expanding users gives the expansion's counts.
			copts := c.opts
			copts.Count = true
			if _, err := model.ExpandAccess(ctx, conn, "t_counted", allItems, copts); err != nil {
				t.Fatalf("%s %+v: %v", what, copts, err)
			}
			got, err := accessCounts(ctx, conn, `SELECT * FROM t_counted`)
			if err != nil {
				t.Fatal(err)
			}
			want, err := accessCounts(ctx, conn, `SELECT content_type, content_id, capability, decision, reason, count(*) AS users FROM t_expanded GROUP BY ALL`)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s %+v: counts differ from the expansion (%d vs %d rows), first: %v / %v", what, copts, len(got), len(want),
					got[:min(3, len(got))], want[:min(3, len(want))])
			}
			// And counting items per user gives the expansion's, per user.
			copts.PerUser = true
			if _, err := model.ExpandAccess(ctx, conn, "t_counted", allItems, copts); err != nil {
				t.Fatalf("%s %+v: %v", what, copts, err)
			}
			perUser := func(q string) []string {
				l, err := sortedLines(ctx, conn, `SELECT concat_ws('|', user_id, user_name, capability, decision, reason, items) FROM (`+q+`)`)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			got = perUser(`SELECT * FROM t_counted`)
			want = perUser(`SELECT user_id, user_name, capability, decision, reason, count(*) AS items FROM t_expanded GROUP BY ALL`)
			if !slices.Equal(got, want) {
				t.Fatalf("%s %+v: counts per user differ from the expansion (%d vs %d rows), first: %v / %v", what, copts, len(got), len(want),
					got[:min(3, len(got))], want[:min(3, len(want))])
			}
		}
		// The generated site has groups and roles on every part: a
		// comparison of nothing would pass.
		if n := keepMatches(t, conn, what); n == 0 && what == "S" {
			t.Fatalf("%s: Keep kept no rows", what)
		}
		return st
	}
	t.Run("random", func(t *testing.T) {
		db, err := model.Open(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for i := range *accessSites {
			seed := uint64(i)
			s := site.Random(rand.New(rand.NewPCG(seed, seed^0xacce55)), site.RandomParams{})
			if _, err := modeltest.Load(ctx, db, s); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			check(t, db, fmt.Sprintf("seed %d", seed))
		}
	})
	t.Run("vectors", func(t *testing.T) {
		vs, err := model.LoadVectors(vectorsFile)
		if err != nil {
			t.Fatal(err)
		}
		db, err := model.Open(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, v := range vs {
			if _, err := modeltest.Load(ctx, db, v.Site); err != nil {
				t.Fatalf("%s: %v", v.ID, err)
			}
			check(t, db, v.ID)
		}
	})
	t.Run("generated S", func(t *testing.T) {
		s, err := site.Generate("S", 7)
		if err != nil {
			t.Fatal(err)
		}
		db := modeltest.New(t, s)
		st := check(t, db, "S")
		// The point of the expansion: far fewer evaluations than rows.
		if st.ClassPairs*4 > st.Rows {
			t.Errorf("class pairs %d vs rows %d: the expansion evaluates nearly per user", st.ClassPairs, st.Rows)
		}
		t.Logf("S: %+v", st)
	})
}

// TestExpandAccessErrors: bad options are errors, not SQL injection.
func TestExpandAccessErrors(t *testing.T) {
	ctx := t.Context()
	s, err := site.Generate("S", 1)
	if err != nil {
		t.Fatal(err)
	}
	db := modeltest.New(t, s)
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, c := range []struct {
		dst  string
		opts model.AccessOptions
		want string
	}{
		{"t", model.AccessOptions{Basis: "future"}, `basis "future"`},
		{"t", model.AccessOptions{Decision: "maybe"}, `decision "maybe"`},
		{"t; DROP TABLE users", model.AccessOptions{}, "bad table name"},
	} {
		_, err := model.ExpandAccess(ctx, conn, c.dst, allItems, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %+v: got %v, want an error containing %q", c.dst, c.opts, err, c.want)
		}
	}
	if _, err := model.ExpandAccess(ctx, conn, "t", `SELECT nope FROM users`, model.AccessOptions{}); err == nil ||
		!strings.Contains(err.Error(), "selecting items") {
		t.Errorf("bad item query: got %v", err)
	}
}

// keepMatches holds Keep to the view: items split into parts, each part's
// contexts given extra groups, and the answers tagged with every extra
// group and with the site role of the principal they answer for must give
// exactly the view's rows of the users in that group or with that role.
func keepMatches(t *testing.T, conn *sql.Conn, what string) int {
	t.Helper()
	ctx := t.Context()
	parts := `SELECT content_type, content_id, (hash(content_id) % 3)::VARCHAR AS part FROM m_content WHERE hash(content_id) % 5 <> 0`
	partGroups := `SELECT p.part, g.id AS group_id FROM (VALUES ('0'), ('1'), ('2')) p(part) JOIN groups g ON hash(g.id, p.part) % 2 = 0`
	opts := model.AccessOptions{Parts: parts, PartGroups: partGroups, Keep: `
		SELECT a.ans_id, 'g:' || pg.group_id AS tag FROM xa_answers a JOIN (` + partGroups + `) pg ON pg.part = a.part
		WHERE list_contains(a.groups, pg.group_id)
		UNION ALL SELECT ans_id, 'r:' || site_role || ':' || decision || ':' || admin FROM xa_answers WHERE site_role IS NOT NULL`}
	if _, err := model.ExpandAccess(ctx, conn, "t_kept", allItems, opts); err != nil {
		t.Fatalf("%s %+v: %v", what, opts, err)
	}
	got, err := accessRows(ctx, conn, `SELECT user_id || '#' || tag AS user_id, * EXCLUDE (user_id, tag) FROM t_kept`)
	if err != nil {
		t.Fatal(err)
	}
	// KeepInto: the answers' columns come from the kept answers, once each.
	slim := opts
	slim.KeepInto = "t_keep"
	slim.Keep = `SELECT k.*, a.capability, a.decision, a.reason, a.deciding_rule, a.confidence, a.flags
		FROM (` + opts.Keep + `) k JOIN xa_answers a USING (ans_id)`
	if _, err := model.ExpandAccess(ctx, conn, "t_slim", allItems, slim); err != nil {
		t.Fatalf("%s %+v: %v", what, slim, err)
	}
	gotSlim, err := accessRows(ctx, conn, `SELECT d.user_id || '#' || k.tag AS user_id, u.user_name, d.content_type, d.content_id,
		k.capability, k.decision, k.reason, k.deciding_rule, k.confidence, k.flags
		FROM t_slim d JOIN t_keep k USING (keep_id) JOIN m_users u ON u.user_id = d.user_id`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, gotSlim) {
		t.Fatalf("%s: KeepInto gives %d rows, Keep %d", what, len(gotSlim), len(got))
	}
	cols := `e.* EXCLUDE (user_id, content_name, project_id, project_path, basis)`
	want, err := accessRows(ctx, conn, `
		SELECT e.user_id || '#g:' || pg.group_id AS user_id, `+cols+`
		FROM effective_permissions e
		JOIN m_user_basis ub ON ub.user_id = e.user_id AND ub.basis = 'current'
		JOIN (`+parts+`) p ON p.content_type = e.content_type AND p.content_id = e.content_id
		JOIN (`+partGroups+`) pg ON pg.part = p.part AND list_contains(ub.groups, pg.group_id)
		WHERE e.basis = 'current'
		UNION ALL
		SELECT e.user_id || '#r:' || u.site_role || ':' || e.decision || ':' || ub.admin, `+cols+`
		FROM effective_permissions e
		JOIN m_user_basis ub ON ub.user_id = e.user_id AND ub.basis = 'current'
		JOIN users u ON u.id = e.user_id
		WHERE e.basis = 'current' AND u.site_role IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		at := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end)"
		}
		t.Fatalf("%s: kept answers differ from the view (%d vs %d rows), first difference at %d: %q / %q", what, len(got), len(want), i, at(got), at(want))
	}
	return len(got)
}

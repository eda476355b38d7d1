//go:build large

package model_test

// The side-by-side of the brief: the class/bitmask model against a naive
// SQL expansion that materialises every user x item x capability with the
// rules joined directly. The naive form cannot finish on M in reasonable
// time and disk (5,000 users x 19k items x ~12 capabilities x 2 bases is
// about 2.3 billion rows), so it runs on a sample of users and is
// extrapolated linearly in users; it also reports where both differ on the
// sample (the naive SQL leaves out the virtual-connection Write/Overwrite
// alias of spec §2.6, so those cells differ by design).
//
//   go test -tags large -run TestNaiveVsModel -v -timeout 30m ./model/

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

const naiveSQL = `
CREATE OR REPLACE TABLE naive AS
WITH su AS (SELECT * FROM m_user_basis WHERE user_id IN (SELECT user_id FROM naive_sample)),
ug AS (
    SELECT user_id, group_id FROM m_members WHERE user_id IN (SELECT user_id FROM naive_sample)
    UNION ALL SELECT s.user_id, a.group_id FROM naive_sample s CROSS JOIN m_all_users a),
sn AS (SELECT group_set_id, count(DISTINCT group_id) AS n FROM group_set_members GROUP BY ALL),
us AS (
    SELECT ug.user_id, sm.group_set_id AS set_id
    FROM group_set_members sm JOIN ug ON ug.group_id = sm.group_id JOIN sn USING (group_set_id)
    GROUP BY ug.user_id, sm.group_set_id, sn.n
    HAVING count(DISTINCT sm.group_id) = sn.n),
t AS (
    SELECT su.user_id, su.basis, su.admin, su.treated_as, c.content_type, c.content_id, c.acl_id, c.project_id, c.owner_id,
           c.locked_for, c.lock_cp, c.personal, ce.capability, ce.allowed
    FROM su CROSS JOIN m_content c JOIN m_ceiling_bits ce ON ce.role = su.role AND ce.content_type = c.content_type),
r AS (
    SELECT t.user_id, t.basis, t.content_id, t.capability,
           bool_or(ar.grantee_type = 'user' AND ar.mode = 'Deny') AS ud, bool_or(ar.grantee_type = 'user' AND ar.mode = 'Allow') AS ua,
           bool_or(ar.grantee_type = 'group' AND ar.mode = 'Deny') AS gd, bool_or(ar.grantee_type = 'group' AND ar.mode = 'Allow') AS ga,
           bool_or(ar.grantee_type = 'groupset' AND ar.mode = 'Deny') AS sd, bool_or(ar.grantee_type = 'groupset' AND ar.mode = 'Allow') AS sa
    FROM t JOIN m_acl_rules ar ON ar.acl_id = t.acl_id AND ar.capability = t.capability
    WHERE (ar.grantee_type = 'user' AND ar.grantee_id = t.user_id)
       OR (ar.grantee_type = 'group' AND EXISTS (SELECT 1 FROM ug WHERE ug.user_id = t.user_id AND ug.group_id = ar.grantee_id))
       OR (ar.grantee_type = 'groupset' AND EXISTS (SELECT 1 FROM us WHERE us.user_id = t.user_id AND us.set_id = ar.grantee_id))
    GROUP BY ALL)
SELECT t.user_id, t.basis, t.content_type, t.content_id, t.capability,
       CASE WHEN NOT t.allowed THEN 'SITE_ROLE_CEILING' WHEN t.admin THEN 'ADMIN'
            WHEN t.personal THEN CASE WHEN t.owner_id = t.user_id THEN 'CONTENT_OWNER' ELSE 'PERSONAL_SPACE' END
            WHEN pos.reason IS NOT NULL THEN pos.reason
            WHEN t.content_type <> 'project' AND t.owner_id = t.user_id AND NOT (t.capability = 'ChangePermissions' AND t.locked_for) THEN 'CONTENT_OWNER'
            WHEN t.content_type = 'project' AND t.capability = 'ProjectLeader' THEN 'UNSPECIFIED'
            WHEN r.ud THEN 'USER_DENY'
            WHEN r.ua THEN CASE WHEN t.capability = 'ChangePermissions' AND t.lock_cp THEN 'LOCKED_PROJECT' ELSE 'USER_ALLOW' END
            WHEN r.gd THEN 'GROUP_DENY'
            WHEN r.ga THEN CASE WHEN t.capability = 'ChangePermissions' AND t.lock_cp THEN 'LOCKED_PROJECT' ELSE 'GROUP_ALLOW' END
            WHEN r.sd THEN 'GROUPSET_DENY'
            WHEN r.sa THEN CASE WHEN t.capability = 'ChangePermissions' AND t.lock_cp THEN 'LOCKED_PROJECT' ELSE 'GROUPSET_ALLOW' END
            ELSE 'UNSPECIFIED' END AS reason
FROM t
LEFT JOIN r USING (user_id, basis, content_id, capability)
LEFT JOIN m_position pos ON pos.user_id = t.user_id AND pos.project_id = t.project_id`

func TestNaiveVsModel(t *testing.T) {
	ctx := context.Background()
	preset := "M"
	if p := os.Getenv("TABAUDIT_SCALE"); p != "" {
		preset = p
	}
	sample := 20
	if n := os.Getenv("TABAUDIT_NAIVE_SAMPLE"); n != "" {
		fmt.Sscan(n, &sample)
	}
	s, err := site.Generate(preset, 1)
	if err != nil {
		t.Fatal(err)
	}
	users := len(s.Users)
	db, err := model.OpenWith(ctx, "", model.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateSnapshotTables(ctx); err != nil {
		t.Fatal(err)
	}
	if err := modeltest.WriteTables(ctx, db, s); err != nil {
		t.Fatal(err)
	}
	db.RecordSnapshot(ctx, modeltest.Manifest(s), "", false, false, true)
	memBefore := duckMem(t, db)
	st, err := db.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	modelMem := duckMem(t, db) - memBefore
	t.Logf("%s: class/bitmask model built in %v; DuckDB memory for the model %s; classes %d, ACL keys %d",
		preset, st.Duration.Round(time.Millisecond), mib(modelMem), st.Classes, st.ACLKeys)

	if _, err := db.SQL().ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TABLE naive_sample AS
		SELECT user_id FROM m_users ORDER BY hash(user_id) LIMIT %d`, sample)); err != nil {
		t.Fatal(err)
	}
	before := duckMem(t, db)
	t0 := time.Now()
	if _, err := db.SQL().ExecContext(ctx, naiveSQL); err != nil {
		t.Fatal(err)
	}
	naiveTime := time.Since(t0)
	var rows int64
	db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM naive`).Scan(&rows)
	naiveMem := duckMem(t, db) - before
	scale := float64(users) / float64(sample)
	t.Logf("%s: naive expansion for %d of %d users: %d rows in %v, DuckDB memory %s; extrapolated to all users: %d rows, %v, %s",
		preset, sample, users, rows, naiveTime.Round(time.Millisecond), mib(naiveMem),
		int64(float64(rows)*scale), time.Duration(float64(naiveTime)*scale).Round(time.Second), mib(int64(float64(naiveMem)*scale)))
	t.Logf("%s: ratio (extrapolated naive / model): time %.0fx, memory %.0fx", preset,
		float64(naiveTime)*scale/float64(st.Duration), float64(naiveMem)*scale/float64(max(modelMem, 1)))

	// Both give the same reason on every sampled triple.
	var diff int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM naive n JOIN effective_permissions e
		ON e.user_id = n.user_id AND e.basis = n.basis AND e.content_type = n.content_type AND e.content_id = n.content_id AND e.capability = n.capability
		WHERE e.reason <> n.reason AND e.user_id IN (SELECT user_id FROM naive_sample)`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d of %d sampled triples differ in reason", preset, diff, rows)
	rs, err := db.SQL().QueryContext(ctx, `SELECT n.content_type, n.capability, n.reason, e.reason, e.flags FROM naive n JOIN effective_permissions e
		ON e.user_id = n.user_id AND e.basis = n.basis AND e.content_type = n.content_type AND e.content_id = n.content_id AND e.capability = n.capability
		WHERE e.reason <> n.reason AND e.user_id IN (SELECT user_id FROM naive_sample) LIMIT 8`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var ct, c, nr, er string
		var fl any
		rs.Scan(&ct, &c, &nr, &er, &fl)
		t.Logf("  differs: %s %s naive %s, model %s %v", ct, c, nr, er, fl)
	}
}

func duckMem(t *testing.T, db *model.DB) int64 {
	var n int64
	if err := db.SQL().QueryRow(`SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

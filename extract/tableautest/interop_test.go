package tableautest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/extract/tableautest"
)

// TestTabauditClientThroughFaults points tabaudit's own REST client at the
// simulator with every list/retry fault on, in XML and JSON, and checks it
// still reads every user and group membership and the rules of a workbook.
// It guards the two packages against drifting apart on the wire.
func TestTabauditClientThroughFaults(t *testing.T) {
	s, err := site.Load("../../testdata/sim/rich.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, json := range []bool{false, true} {
		srv := tableautest.NewServer(t, s, tableautest.WithFaults(tableautest.Faults{
			RateLimitEvery: 7, RateLimitWait: 0, Error5xxEvery: 11, SessionExpiryRequests: 8,
			ShortPageEvery: 5, MovingTotals: true,
		}))
		opts := []tableau.Option{tableau.WithPageSize(2), tableau.WithRetryPolicy(tableau.RetryPolicy{
			MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxWait: 2 * time.Second, MaxReSignIns: 3})}
		if json {
			opts = append(opts, tableau.WithJSON())
		}
		c, err := tableau.NewClient(srv.URL, tableau.Credentials{PATName: tableautest.DefaultPATName, PATSecret: tableautest.DefaultPATSecret, ContentURL: "finance"}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := c.Auth.SignIn(ctx); err != nil {
			t.Fatalf("json=%v sign-in: %v", json, err)
		}
		var users []string
		for u, err := range c.Users.All(ctx, nil) {
			if err != nil {
				t.Fatalf("json=%v users: %v", json, err)
			}
			users = append(users, u.Name)
		}
		slices.Sort(users)
		want := []string{"admin@example.com", "ana@example.com", "bo@example.com", "cy@example.com", "dee@example.com", "eve@example.com"}
		if diff := cmp.Diff(want, users); diff != "" {
			t.Errorf("json=%v users (-want +got):\n%s", json, diff)
		}
		var members []string
		for u, err := range c.Groups.AllUsers(ctx, site.LUID("group", "all-users"), nil) {
			if err != nil {
				t.Fatalf("json=%v All Users members: %v", json, err)
			}
			members = append(members, u.Name)
		}
		slices.Sort(members)
		if diff := cmp.Diff(want, members); diff != "" {
			t.Errorf("json=%v All Users (-want +got):\n%s", json, diff)
		}
		ps, err := c.Permissions.Get(ctx, "workbook", site.LUID("workbook", "wb-hr"))
		if err != nil {
			t.Fatalf("json=%v permissions: %v", json, err)
		}
		if ps.ParentID != site.LUID("project", "locked") || len(ps.Grantees) != 1 {
			t.Errorf("json=%v permissions: %+v", json, ps)
		}
		st := srv.Stats()
		if st.RateLimited == 0 || st.ServerErrors == 0 || st.Expired == 0 {
			t.Errorf("json=%v: faults not exercised: %+v", json, st)
		}
	}
}

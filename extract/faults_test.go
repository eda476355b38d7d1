package extract

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/extract/tableautest"
)

// allRows reads every table of a snapshot, every column, rows sorted.
func allRows(t testing.TB, dir string) map[string][]string {
	t.Helper()
	s, err := snapshot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, name := range s.Tables() {
		rows, err := s.Read(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		lines := make([]string, 0, len(rows.Rows))
		for _, r := range rows.Rows {
			parts := make([]string, len(r))
			for i, v := range r {
				parts[i] = show(v)
			}
			lines = append(lines, strings.Join(parts, "|"))
		}
		slices.Sort(lines)
		out[name] = lines
	}
	return out
}

var (
	smallOnce sync.Once
	smallSite *site.Site
	smallErr  error
)

// small is the synthetic S site (200 users, 100 workbooks, 600 views, ...).
func small(t testing.TB) *site.Site {
	t.Helper()
	smallOnce.Do(func() { smallSite, smallErr = site.Generate("S", 7) })
	if smallErr != nil {
		t.Fatal(smallErr)
	}
	return smallSite
}

var (
	cleanOnce sync.Once
	cleanRows map[string][]string
)

// clean is the snapshot of the S site without faults, read as XML with
// page size 50 (so that every list has several pages).
func clean(t *testing.T) map[string][]string {
	t.Helper()
	cleanOnce.Do(func() {
		srv := tableautest.NewServer(t, small(t))
		cfg := testConfig(t, srv)
		cfg.PageSize = 50
		res := extractOne(t, cfg)
		if !res.Manifest.Complete {
			t.Fatalf("clean run incomplete: %v %v", res.Manifest.Incomplete, res.Manifest.Failures)
		}
		cleanRows = allRows(t, res.Dir)
	})
	if cleanRows == nil {
		t.Fatal("clean run failed")
	}
	return cleanRows
}

// The synthetic S site also round-trips losslessly.
func TestRoundTripSyntheticS(t *testing.T) {
	s := small(t)
	srv := tableautest.NewServer(t, s)
	cfg := testConfig(t, srv)
	cfg.PageSize = 50
	res := extractOne(t, cfg)
	if !res.Manifest.Complete {
		t.Fatalf("incomplete: %v %v", res.Manifest.Incomplete, res.Manifest.Failures)
	}
	if diff := cmp.Diff(expected(t, s), got(t, res.Dir)); diff != "" {
		t.Errorf("snapshot differs from the site file (-want +got):\n%s", diff)
	}
}

// XML and JSON responses give identical snapshots, cell for cell.
func TestXMLAndJSONIdentical(t *testing.T) {
	want := clean(t)
	srv := tableautest.NewServer(t, small(t))
	cfg := testConfig(t, srv)
	cfg.PageSize = 50
	cfg.JSON = true
	res := extractOne(t, cfg)
	if res.Manifest.Format != "json" || !res.Manifest.Complete {
		t.Fatalf("format %q complete %v: %v", res.Manifest.Format, res.Manifest.Complete, res.Manifest.Failures)
	}
	if diff := cmp.Diff(want, allRows(t, res.Dir)); diff != "" {
		t.Errorf("JSON snapshot differs from XML (-xml +json):\n%s", diff)
	}
}

// Under every fault switch the snapshot is identical to the clean run, or
// marked incomplete with the missing entities named.
func TestFaults(t *testing.T) {
	want := clean(t)
	tests := []struct {
		name   string
		faults tableautest.Faults
		check  func(t *testing.T, m *snapshot.Manifest)
	}{
		{"429 bursts", tableautest.Faults{RateLimitEvery: 97, RateLimitBurst: 3, RateLimitWait: 100 * time.Millisecond, RetryAfterHeader: true},
			func(t *testing.T, m *snapshot.Manifest) {
				if m.Throttled == 0 || m.Retries < m.Throttled {
					t.Errorf("throttled=%d retries=%d, want both > 0", m.Throttled, m.Retries)
				}
			}},
		{"429 wait in detail only", tableautest.Faults{RateLimitEvery: 211, RateLimitBurst: 1, RateLimitWait: time.Second},
			func(t *testing.T, m *snapshot.Manifest) {
				if m.Throttled == 0 {
					t.Error("no 429 seen")
				}
			}},
		{"5xx bursts", tableautest.Faults{Error5xxEvery: 37, Error5xxBurst: 2}, func(t *testing.T, m *snapshot.Manifest) {
			if m.Retries == 0 {
				t.Error("no retries after 5xx")
			}
		}},
		{"session expiry every 200 requests", tableautest.Faults{SessionExpiryRequests: 200}, func(t *testing.T, m *snapshot.Manifest) {
			if m.ReSignIns < 3 {
				t.Errorf("re-sign-ins = %d, want several", m.ReSignIns)
			}
		}},
		{"moving totals", tableautest.Faults{MovingTotals: true}, nil},
		{"short pages", tableautest.Faults{ShortPageEvery: 2}, nil},
		{"latency", tableautest.Faults{Latency: 3 * time.Millisecond, LatencyJitter: 2 * time.Millisecond}, nil},
		// A stated wait beyond RetryPolicy.MaxWait (2 s here) is not waited
		// out: those requests fail and the snapshot says which.
		{"429 longer than the client waits", tableautest.Faults{RateLimitEvery: 150, RateLimitWait: 30 * time.Second}, func(t *testing.T, m *snapshot.Manifest) {
			if m.Complete || len(m.Failures) == 0 {
				t.Fatalf("complete=%v failures=%d, want an incomplete snapshot naming failures", m.Complete, len(m.Failures))
			}
			for _, f := range m.Failures {
				if f.StatusCode != 429 || f.Code != "429000" || !strings.Contains(f.Error, "server asked to wait 30s") {
					t.Errorf("failure %+v, want a 429 naming the stated wait", f)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tableautest.NewServer(t, small(t), tableautest.WithFaults(tt.faults))
			cfg := testConfig(t, srv)
			cfg.PageSize = 50
			res := extractOne(t, cfg)
			m := res.Manifest
			if tt.check != nil {
				tt.check(t, m)
			}
			gotRows := allRows(t, res.Dir)
			if !m.Complete && !strings.HasPrefix(tt.name, "429 longer") {
				t.Errorf("the client should recover from %s, got incomplete: %v %v", tt.name, m.Incomplete, m.Failures)
			}
			if m.Complete {
				if diff := cmp.Diff(want, gotRows); diff != "" {
					t.Errorf("complete snapshot differs from the clean run (-clean +faulty):\n%s", diff)
				}
				return
			}
			// Incomplete: every failure names an entity, and every table that
			// differs from the clean run is marked incomplete.
			if len(m.Failures) == 0 {
				t.Errorf("incomplete without a named failure: %v", m.Incomplete)
			}
			for _, f := range m.Failures {
				if f.Entity == "" {
					t.Errorf("failure without entity: %+v", f)
				}
			}
			for name, rows := range want {
				if !cmp.Equal(rows, gotRows[name]) && m.Tables[name].Complete {
					t.Errorf("table %s differs from the clean run but is marked complete", name)
				}
			}
			t.Logf("incomplete as allowed: %v", m.Incomplete)
		})
	}
}

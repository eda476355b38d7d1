package extract

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/extract/tableautest"
)

// cancelAt cancels a context when the n-th request is sent.
type cancelAt struct {
	n      int64
	seen   atomic.Int64
	cancel context.CancelFunc
	next   http.RoundTripper
}

func (c *cancelAt) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.seen.Add(1) == c.n {
		c.cancel()
	}
	return c.next.RoundTrip(r)
}

// A run cancelled at a random point leaves no snapshot folder (and no
// temporary one); the next run succeeds and equals the clean run.
func TestCancelLeavesNoSnapshot(t *testing.T) {
	want := clean(t)
	srv := tableautest.NewServer(t, small(t))
	rng := rand.New(rand.NewPCG(1, 2))
	root := t.TempDir()
	for i := range 6 {
		n := int64(1 + rng.IntN(900)) // the clean S run makes about 1,000 requests
		if i == 0 {
			n = 3 // during sign-in / the first lists
		}
		ctx, cancel := context.WithCancel(context.Background())
		cfg := testConfig(t, srv)
		cfg.OutRoot = root
		cfg.PageSize = 50
		cfg.HTTPClient = &http.Client{Transport: &cancelAt{n: n, cancel: cancel, next: http.DefaultTransport}}
		_, err := Extract(ctx, cfg)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel at request %d: err = %v, want context.Canceled", n, err)
		}
		if dirs, _ := snapshot.Find(root); len(dirs) != 0 {
			t.Fatalf("cancel at request %d left snapshot folders %v", n, dirs)
		}
		leftovers, _ := filepath.Glob(filepath.Join(root, "*", "*"))
		for _, l := range leftovers {
			if strings.HasPrefix(filepath.Base(l), snapshot.TempPrefix) {
				t.Errorf("cancel at request %d left %s", n, l)
			}
		}
	}
	cfg := testConfig(t, srv)
	cfg.OutRoot = root
	cfg.PageSize = 50
	res := extractOne(t, cfg)
	if diff := cmp.Diff(want, allRows(t, res.Dir)); diff != "" {
		t.Errorf("run after cancellations differs (-clean +got):\n%s", diff)
	}
	if ents, _ := os.ReadDir(filepath.Dir(res.Dir)); len(ents) != 1 {
		t.Errorf("site folder holds %d entries, want 1", len(ents))
	}
}

// Credentials and session tokens never reach the snapshot, the manifest or
// an error, even when every request fails.
func TestNoSecretInSnapshotOrErrors(t *testing.T) {
	srv := tableautest.NewServer(t, small(t), tableautest.WithFaults(tableautest.Faults{Error5xxEvery: 5, SessionExpiryRequests: 50}))
	var tokens []string
	cfg := testConfig(t, srv)
	cfg.RetryPolicy = &tableau.RetryPolicy{MaxAttempts: 1, MaxReSignIns: 3}
	cfg.HTTPClient = &http.Client{Transport: tokenSpy{next: http.DefaultTransport, mu: &sync.Mutex{}, seen: &tokens}}
	res := extractOne(t, cfg)
	if res.Manifest.Complete || len(res.Manifest.Failures) == 0 {
		t.Fatalf("want failures with one attempt per request, got complete=%v", res.Manifest.Complete)
	}
	var all strings.Builder
	_ = filepath.WalkDir(cfg.OutRoot, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all.Write(b)
		}
		return nil
	})
	for _, f := range res.Manifest.Failures {
		all.WriteString(f.Error + f.Path)
	}
	secrets := append([]string{tableautest.DefaultPATSecret}, tokens...)
	if len(secrets) < 2 {
		t.Fatal("no session token observed")
	}
	for _, s := range secrets {
		if strings.Contains(all.String(), s) {
			t.Errorf("secret %q… found in the snapshot or errors", s[:6])
		}
	}
}

type tokenSpy struct {
	next http.RoundTripper
	mu   *sync.Mutex
	seen *[]string
}

func (s tokenSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	if tok := r.Header.Get("X-Tableau-Auth"); tok != "" && !slices.Contains(*s.seen, tok) {
		*s.seen = append(*s.seen, tok)
	}
	s.mu.Unlock()
	return s.next.RoundTrip(r)
}

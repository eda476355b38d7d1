package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the command goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSimServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	f := &Factory{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Now: time.Now, Getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() {
		done <- RunWith(ctx, f, []string{"sim", "serve", "--site", "../../testdata/sim/rich.yaml", "--addr", "127.0.0.1:0",
			"--rate-limit-every", "3", "--stats"})
	}()
	urlRe := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("sim serve exited early with %d: %s %s", code, out.String(), errOut.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("no URL printed: %q", out.String())
	}
	for _, want := range []string{`site content URL: "finance"`, "PAT name:         tabaudit-sim", "PAT secret:       sim-secret-do-not-use-in-prod"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	var statuses []int
	for i := 0; i < 3; i++ {
		r, err := http.Post(base+"/api/3.29/auth/signin", "text/xml", strings.NewReader(
			`<tsRequest><credentials personalAccessTokenName="tabaudit-sim" personalAccessTokenSecret="sim-secret-do-not-use-in-prod"><site contentUrl="finance"/></credentials></tsRequest>`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		statuses = append(statuses, r.StatusCode)
		if r.StatusCode == 200 && !strings.Contains(string(b), "<credentials token=") {
			t.Errorf("sign-in body: %s", b)
		}
	}
	if want := []int{200, 200, 429}; !equalInts(statuses, want) {
		t.Errorf("statuses %v, want %v (--rate-limit-every 3)", statuses, want)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim serve did not stop on cancel")
	}
	if s := out.String(); !strings.Contains(s, "requests: 3  sign-ins: 2  429: 1") || !strings.Contains(s, "2  POST /auth/signin") {
		t.Errorf("stats output:\n%s", s)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSimServeInputErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sim", "serve"}, "give --site FILE or --preset S|M|L"},
		{[]string{"sim", "serve", "--site", "x.yaml", "--preset", "S"}, "not both"},
		{[]string{"sim", "serve", "--site", "does-not-exist.yaml"}, "reading site file"},
		{[]string{"sim", "serve", "--site", "../../testdata/sim/rich.yaml", "--user", "nobody"}, `"nobody" is not a user of the site`},
	} {
		var out, errOut syncBuffer
		f := &Factory{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Now: time.Now, Getenv: func(string) string { return "" }}
		code := RunWith(context.Background(), f, tt.args)
		if code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}

func TestSimServePreset(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	f := &Factory{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Now: time.Now, Getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- RunWith(ctx, f, []string{"sim", "serve", "--preset", "S", "--seed", "3"}) }()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.Contains(out.String(), "listening on"); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "listening on http://127.0.0.1:") {
		t.Fatalf("no URL: %q %q", out.String(), errOut.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	var o2, e2 syncBuffer
	f2 := &Factory{IO: IOStreams{In: strings.NewReader(""), Out: &o2, ErrOut: &e2}, Now: time.Now, Getenv: func(string) string { return "" }}
	if code := RunWith(context.Background(), f2, []string{"sim", "serve", "--preset", "XL"}); code != ExitUsage || !strings.Contains(e2.String(), "XL") {
		t.Errorf("unknown preset: exit %d, %q", code, e2.String())
	}
}

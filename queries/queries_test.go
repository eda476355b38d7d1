package queries

import (
	"strings"
	"testing"
)

func TestAllParse(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 12 {
		t.Fatalf("got %d queries, want the whole library (>= 12)", len(all))
	}
	for _, q := range all {
		if !strings.Contains(q.SQL, "SELECT") {
			t.Errorf("%s: no SELECT in body", q.Name)
		}
	}
}

func TestBind(t *testing.T) {
	q, err := Get("access_of_user")
	if err != nil {
		t.Fatal(err)
	}
	args, err := q.Bind(map[string]string{"user": "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 2 || args[0] != (NamedArg{"user", "ana"}) || args[1] != (NamedArg{"basis", "current"}) {
		t.Errorf("args = %v, want user=ana basis=current (default)", args)
	}
	tests := []struct {
		name   string
		query  string
		values map[string]string
		want   string
	}{
		{"missing required", "access_of_user", nil, "needs --param user=<string>"},
		{"unknown param", "access_of_user", map[string]string{"user": "a", "usr": "b"}, `has no parameter "usr" (parameters: user, basis)`},
		{"bad int", "stale_content", map[string]string{"days": "ten"}, `--param days="ten": not an integer`},
		{"no params", "deny_rules", map[string]string{"x": "1"}, "takes no parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Get(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = q.Bind(tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
	d, _ := Get("stale_content")
	args, err = d.Bind(map[string]string{"days": "30"})
	if err != nil || args[0].Value != int64(30) {
		t.Fatalf("days bound to %v, %v", args, err)
	}
}

func TestGetUnknownSuggests(t *testing.T) {
	_, err := Get("access_of_usr")
	if err == nil || !strings.Contains(err.Error(), "did you mean access_of_user") {
		t.Fatalf("error = %v, want a suggestion", err)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	tests := []struct{ file, text, want string }{
		{"a.sql", "SELECT 1", "missing `-- name:` header"},
		{"a.sql", "-- name: b\n-- title: t\n-- purpose: p\nSELECT 1", `header name "b" does not match`},
		{"a.sql", "-- name: a\n-- title: t\n-- purpose: p\n-- param: x float\nSELECT 1", `a.sql:4: param x: unknown type "float"`},
	}
	for _, tt := range tests {
		if _, err := Parse(tt.file, tt.text); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want %q", tt.text, err, tt.want)
		}
	}
}

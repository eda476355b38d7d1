// Package queries holds the SQL files analysts run against the tabaudit model
// (`tabaudit query NAME`). Each file starts with a header of `-- key: value`
// lines naming the query, its purpose and its parameters; the files are
// embedded so the exact SQL that runs is what reviewers read.
//
// Header keys:
//
//	-- name: access_of_user              (required; must match the file name)
//	-- title: Everything one user can do (required)
//	-- purpose: free text, may repeat     (required)
//	-- param: user string required -- user name, email or LUID
//	-- param: days int default 90 -- days without sign-in
//	-- requires: table_exposure           (relations that must exist)
//
// Parameters are passed to DuckDB as named parameters ($user, $days).
package queries

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed *.sql
var files embed.FS

// Param is one declared parameter.
type Param struct {
	Name     string
	Type     string // string | int | date | bool
	Default  string
	Required bool
	Doc      string
}

// Query is one parsed SQL file.
type Query struct {
	Name     string
	Title    string
	Purpose  string
	Params   []Param
	Requires []string
	SQL      string
	File     string
}

// All returns every embedded query, sorted by name.
func All() ([]Query, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, n := range names {
		data, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		q, err := Parse(n, string(data))
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	slices.SortFunc(out, func(a, b Query) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Get returns the query with the name; the error lists close names.
func Get(name string) (Query, error) {
	all, err := All()
	if err != nil {
		return Query{}, err
	}
	var names []string
	for _, q := range all {
		if q.Name == name {
			return q, nil
		}
		names = append(names, q.Name)
	}
	var near []string
	for _, n := range names {
		if strings.Contains(n, name) || strings.Contains(name, n) || editDistance(n, name) <= 3 {
			near = append(near, n)
		}
	}
	if len(near) > 0 {
		return Query{}, fmt.Errorf("unknown query %q (did you mean %s?)", name, strings.Join(near, ", "))
	}
	return Query{}, fmt.Errorf("unknown query %q (run `tabaudit query list`)", name)
}

// Parse reads a query file's header and body.
func Parse(file, text string) (Query, error) {
	q := Query{File: file, SQL: text}
	var purpose []string
	for i, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "--") {
			if t == "" {
				continue
			}
			break
		}
		key, val, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(t, "--")), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "name":
			q.Name = val
		case "title":
			q.Title = val
		case "purpose":
			purpose = append(purpose, val)
		case "requires":
			for _, r := range strings.Split(val, ",") {
				if r = strings.TrimSpace(r); r != "" {
					q.Requires = append(q.Requires, r)
				}
			}
		case "param":
			p, err := parseParam(val)
			if err != nil {
				return Query{}, fmt.Errorf("%s:%d: %w", file, i+1, err)
			}
			q.Params = append(q.Params, p)
		}
	}
	q.Purpose = strings.Join(purpose, " ")
	switch {
	case q.Name == "":
		return Query{}, fmt.Errorf("%s: missing `-- name:` header", file)
	case q.Name+".sql" != path.Base(file):
		return Query{}, fmt.Errorf("%s: header name %q does not match the file name", file, q.Name)
	case q.Title == "" || q.Purpose == "":
		return Query{}, fmt.Errorf("%s: missing `-- title:` or `-- purpose:` header", file)
	}
	return q, nil
}

func parseParam(spec string) (Param, error) {
	def, doc, _ := strings.Cut(spec, "--")
	f := strings.Fields(def)
	if len(f) < 2 {
		return Param{}, fmt.Errorf("param %q: want `name type [required|default V] -- doc`", spec)
	}
	p := Param{Name: f[0], Type: f[1], Doc: strings.TrimSpace(doc)}
	if !slices.Contains([]string{"string", "int", "date", "bool"}, p.Type) {
		return Param{}, fmt.Errorf("param %s: unknown type %q (want string, int, date or bool)", p.Name, p.Type)
	}
	rest := f[2:]
	for len(rest) > 0 {
		switch rest[0] {
		case "required":
			p.Required = true
			rest = rest[1:]
		case "default":
			if len(rest) < 2 {
				return Param{}, fmt.Errorf("param %s: default needs a value", p.Name)
			}
			p.Default = rest[1]
			rest = rest[2:]
		default:
			return Param{}, fmt.Errorf("param %s: unexpected %q", p.Name, rest[0])
		}
	}
	return p, nil
}

// NamedArg is a parameter value for database/sql (sql.Named).
type NamedArg struct {
	Name  string
	Value any
}

// Bind checks the given values against the declared parameters and converts
// them: unknown names, missing required values and bad values are errors.
func (q Query) Bind(values map[string]string) ([]NamedArg, error) {
	for k := range values {
		if !slices.ContainsFunc(q.Params, func(p Param) bool { return p.Name == k }) {
			var known []string
			for _, p := range q.Params {
				known = append(known, p.Name)
			}
			if len(known) == 0 {
				return nil, fmt.Errorf("query %s takes no parameters (got %q)", q.Name, k)
			}
			return nil, fmt.Errorf("query %s has no parameter %q (parameters: %s)", q.Name, k, strings.Join(known, ", "))
		}
	}
	var out []NamedArg
	for _, p := range q.Params {
		raw, ok := values[p.Name]
		if !ok {
			if p.Required {
				return nil, fmt.Errorf("query %s needs --param %s=<%s> (%s)", q.Name, p.Name, p.Type, p.Doc)
			}
			raw = p.Default
		}
		v, err := convert(p, raw)
		if err != nil {
			return nil, fmt.Errorf("query %s: --param %s=%q: %w", q.Name, p.Name, raw, err)
		}
		out = append(out, NamedArg{Name: p.Name, Value: v})
	}
	return out, nil
}

func convert(p Param, raw string) (any, error) {
	if raw == "" && !p.Required {
		return nil, nil
	}
	switch p.Type {
	case "int":
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not an integer")
		}
		return n, nil
	case "bool":
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("not true or false")
		}
		return b, nil
	case "date":
		t, err := time.Parse("2006-01-02", raw)
		if err != nil {
			return nil, fmt.Errorf("not a date (want YYYY-MM-DD)")
		}
		return t, nil
	}
	return raw, nil
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

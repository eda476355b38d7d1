package model

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// VectorSchemas are the permission-vector file schemas this package reads
// (spec §16.1; v1 lacks flags).
var VectorSchemas = []string{"tabaudit-permission-vectors/v1", "tabaudit-permission-vectors/v2"}

// Vector is one permission test vector: a site and the decisions expected
// on it.
type Vector struct {
	ID         string
	Title      string
	Confidence string
	Site       *site.Site
	Findings   []string
	Expect     []Expectation
	Line       int
}

// Expectation is one expected decision. Basis defaults to current.
type Expectation struct {
	User   string   `yaml:"user"`
	Item   string   `yaml:"item"`
	Cap    string   `yaml:"cap"`
	Result string   `yaml:"result"`
	Reason string   `yaml:"reason"`
	Flags  []string `yaml:"flags"`
	Basis  string   `yaml:"basis"`
	Why    string   `yaml:"why"`
	Line   int      `yaml:"-"`
}

// LoadVectors reads a vectors file and every vector's site.
func LoadVectors(path string) ([]Vector, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading vectors: %w", err)
	}
	return ParseVectors(path, b)
}

// ParseVectors parses vectors from bytes; name is used in errors.
func ParseVectors(name string, data []byte) ([]Vector, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	var top struct {
		Schema  string      `yaml:"schema"`
		Vectors []yaml.Node `yaml:"vectors"`
	}
	if err := doc.Content[0].Decode(&top); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !slices.Contains(VectorSchemas, top.Schema) {
		return nil, fmt.Errorf("%s: schema %q (want one of %s)", name, top.Schema, strings.Join(VectorSchemas, ", "))
	}
	var out []Vector
	var errs []error
	for _, n := range top.Vectors {
		var raw struct {
			ID         string        `yaml:"id"`
			Title      string        `yaml:"title"`
			Confidence string        `yaml:"confidence"`
			Findings   []string      `yaml:"findings"`
			Expect     []Expectation `yaml:"expect"`
		}
		if err := n.Decode(&raw); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, n.Line, err))
			continue
		}
		v := Vector{ID: raw.ID, Title: raw.Title, Confidence: raw.Confidence, Findings: raw.Findings, Expect: raw.Expect, Line: n.Line}
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch n.Content[i].Value {
			case "site":
				s, err := site.FromNode(name, n.Content[i+1])
				if err != nil {
					errs = append(errs, fmt.Errorf("vector %s: %w", raw.ID, err))
					continue
				}
				v.Site = s
			case "expect":
				for j, e := range n.Content[i+1].Content {
					if j < len(v.Expect) {
						v.Expect[j].Line = e.Line
					}
				}
			}
		}
		if v.Site == nil {
			errs = append(errs, fmt.Errorf("%s:%d: vector %s has no site", name, n.Line, raw.ID))
			continue
		}
		out = append(out, v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Outcome is what effective_permissions says for one expectation.
type Outcome struct {
	Expectation
	GotResult, GotReason string
	GotFlags             []string
	GotRule              string
	GotConfidence        string
	Problems             []string // empty when the expectation holds
}

// OK reports whether the expectation held.
func (o Outcome) OK() bool { return len(o.Problems) == 0 }

// CheckVector looks up every expectation of v in db's
// effective_permissions. Users and items are named by the vector's short
// ids (site.LUID maps them). A capability that does not exist on the item's
// type has no row; that is the not_applicable answer.
func CheckVector(ctx context.Context, db *sql.DB, v Vector) ([]Outcome, error) {
	var out []Outcome
	for _, e := range v.Expect {
		o := Outcome{Expectation: e}
		basis := e.Basis
		if basis == "" {
			basis = "current"
		}
		typ := itemType(v.Site, e.Item)
		if typ == "" {
			o.Problems = append(o.Problems, fmt.Sprintf("item %q is not in the vector's site", e.Item))
			out = append(out, o)
			continue
		}
		var flags []any
		err := db.QueryRowContext(ctx, `SELECT decision, reason, flags, coalesce(deciding_rule, ''), confidence FROM effective_permissions
			WHERE user_id = ? AND content_type = ? AND content_id = ? AND capability = ? AND basis = ?`,
			site.LUID("user", e.User), typ, site.LUID(typ, e.Item), e.Cap, basis).Scan(&o.GotResult, &o.GotReason, &flags, &o.GotRule, &o.GotConfidence)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if caps.Applies(typ, e.Cap) {
				o.GotResult, o.GotReason = "missing", "NO_ROW"
			} else {
				o.GotResult, o.GotReason = "not_applicable", "NOT_APPLICABLE"
			}
		case err != nil:
			return nil, fmt.Errorf("vector %s: querying %s/%s/%s: %w", v.ID, e.User, e.Item, e.Cap, err)
		}
		for _, f := range flags {
			o.GotFlags = append(o.GotFlags, fmt.Sprint(f))
		}
		if o.GotResult != e.Result {
			o.Problems = append(o.Problems, fmt.Sprintf("result %s, want %s", o.GotResult, e.Result))
		}
		if e.Reason != "" && o.GotReason != e.Reason {
			o.Problems = append(o.Problems, fmt.Sprintf("reason %s, want %s", o.GotReason, e.Reason))
		}
		for _, f := range e.Flags {
			if !slices.Contains(o.GotFlags, f) {
				o.Problems = append(o.Problems, fmt.Sprintf("flag %s missing (got %v)", f, o.GotFlags))
			}
		}
		out = append(out, o)
	}
	for _, want := range v.Findings {
		o := Outcome{Expectation: Expectation{User: "-", Item: "-", Cap: "finding " + want, Result: "present"}}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM model_findings WHERE short = ?`, want).Scan(&n); err != nil {
			return nil, fmt.Errorf("vector %s: looking up finding %s: %w", v.ID, want, err)
		}
		o.GotResult = "present"
		if n == 0 {
			o.GotResult = "absent"
			o.Problems = append(o.Problems, fmt.Sprintf("finding %s not reported", want))
		}
		out = append(out, o)
	}
	return out, nil
}

func itemType(s *site.Site, id string) string {
	if s.ProjectByID(id) != nil {
		return caps.Project
	}
	if it := s.ItemByID(id); it != nil {
		return it.Type
	}
	return ""
}

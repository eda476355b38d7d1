package eval

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// vectorsFile is the spec's vector file, copied unchanged into the repo.
const vectorsFile = "../../testdata/spec/permission-vectors.yaml"

// Expectation is one `expect:` entry of a vector or case file (spec §16.1).
type Expectation struct {
	User   string   `yaml:"user"`
	Item   string   `yaml:"item"`
	Cap    string   `yaml:"cap"`
	Result string   `yaml:"result"`
	Reason string   `yaml:"reason"`
	Flags  []string `yaml:"flags"`
	// NoFlags lists flags the decision must not carry (case files only).
	NoFlags    []string `yaml:"no_flags"`
	Basis      string   `yaml:"basis"`
	Why        string   `yaml:"why"`
	Confidence string   `yaml:"confidence"` // case files only: exact confidence
	Rule       string   `yaml:"rule"`       // case files only: deciding rule with short ids
}

// Vector is one spec vector or case.
type Vector struct {
	ID       string
	Title    string
	Site     *site.Site
	Findings []string
	// NoFindings lists finding prefixes that must not appear (case files only).
	NoFindings []string
	Expect     []Expectation
}

// loadVectors reads a file in the spec §16.1 format (schema
// tabaudit-permission-vectors/v2, or the same shape under `cases:`).
func loadVectors(t testing.TB, path string) []Vector {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []yaml.Node `yaml:"vectors"`
		Cases   []yaml.Node `yaml:"cases"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []Vector
	for _, n := range append(doc.Vectors, doc.Cases...) {
		var v struct {
			ID         string        `yaml:"id"`
			Title      string        `yaml:"title"`
			Findings   []string      `yaml:"findings"`
			NoFindings []string      `yaml:"no_findings"`
			Expect     []Expectation `yaml:"expect"`
			Site       yaml.Node     `yaml:"site"`
		}
		if err := n.Decode(&v); err != nil {
			t.Fatalf("%s:%d: %v", path, n.Line, err)
		}
		s, err := site.FromNode(fmt.Sprintf("%s (%s)", path, v.ID), &v.Site)
		if err != nil {
			t.Fatalf("%s: %v", v.ID, err)
		}
		out = append(out, Vector{ID: v.ID, Title: v.Title, Site: s, Findings: v.Findings, NoFindings: v.NoFindings, Expect: v.Expect})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no vectors", path)
	}
	return out
}

// itemKey maps a vector's short item id to its type and LUID.
func itemKey(s *site.Site, id string) (Key, error) {
	if p := s.ProjectByID(id); p != nil {
		return Key{caps.Project, site.LUID("project", id)}, nil
	}
	if it := s.ItemByID(id); it != nil {
		return Key{it.Type, site.LUID(it.Type, id)}, nil
	}
	return Key{}, fmt.Errorf("no item or project %q", id)
}

// shortRule rewrites LUIDs in a deciding rule to short ids for comparison
// with a case file.
func shortRule(s *site.Site, rule string) string {
	repl := []string{}
	add := func(kind, id string) { repl = append(repl, site.LUID(kind, id), id) }
	for _, u := range s.Users {
		add("user", u.ID)
	}
	for _, g := range s.Groups {
		add("group", g.ID)
	}
	for _, g := range s.GroupSets {
		add("groupset", g.ID)
	}
	for _, p := range s.Projects {
		add("project", p.ID)
	}
	for _, it := range s.Items {
		add(it.Type, it.ID)
	}
	return strings.NewReplacer(repl...).Replace(rule)
}

// runVectors checks every expectation and finding of the vectors against
// FromSite + Decide + Findings.
func runVectors(t *testing.T, vectors []Vector) {
	for _, v := range vectors {
		t.Run(v.ID, func(t *testing.T) {
			f, err := FromSite(v.Site)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			var all []string
			for _, fd := range Findings(f) {
				got[fd.Short(f)] = true
				all = append(all, fd.Short(f))
			}
			for _, want := range v.Findings {
				if !got[want] {
					t.Errorf("finding %s missing; got %v", want, all)
				}
			}
			for _, bad := range v.NoFindings {
				for _, g := range all {
					if strings.HasPrefix(g, bad) {
						t.Errorf("unexpected finding %s", g)
					}
				}
			}
			for i, e := range v.Expect {
				name := fmt.Sprintf("%d_%s_%s_%s", i, e.User, e.Item, e.Cap)
				if e.Basis != "" {
					name += "_" + e.Basis
				}
				t.Run(name, func(t *testing.T) {
					k, err := itemKey(v.Site, e.Item)
					if err != nil {
						t.Fatal(err)
					}
					basis := Basis(e.Basis)
					if basis == "" {
						basis = Current
					}
					d := Decide(f, site.LUID("user", e.User), k.Type, k.ID, e.Cap, basis)
					fail := func(format string, args ...any) {
						t.Helper()
						t.Errorf("%s (%s)\n%s", fmt.Sprintf(format, args...), e.Why, renderChain(d))
					}
					if string(d.Result) != e.Result || d.Reason != e.Reason {
						fail("got %s/%s, want %s/%s", d.Result, d.Reason, e.Result, e.Reason)
					}
					if d.Basis != basis {
						fail("basis %s, want %s", d.Basis, basis)
					}
					for _, fl := range e.Flags {
						if !slices.Contains(d.Flags, fl) {
							fail("flag %s missing; flags %v", fl, d.Flags)
						}
					}
					for _, fl := range e.NoFlags {
						if slices.Contains(d.Flags, fl) {
							fail("unexpected flag %s; flags %v", fl, d.Flags)
						}
					}
					if e.Confidence != "" && d.Confidence.String() != e.Confidence {
						fail("confidence %s, want %s", d.Confidence, e.Confidence)
					}
					if e.Rule != "" && shortRule(v.Site, d.DecidingRule) != e.Rule {
						fail("deciding rule %q, want %q", shortRule(v.Site, d.DecidingRule), e.Rule)
					}
				})
			}
		})
	}
}

func renderChain(d Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  decision %s %s rule=%q flags=%v conf=%s\n", d.Result, d.Reason, d.DecidingRule, d.Flags, d.Confidence)
	for _, s := range d.Chain {
		fmt.Fprintf(&b, "  - [%s] %s -> %s (%s)\n", s.Stage, s.Text, s.Outcome, s.Confidence)
	}
	return b.String()
}

// TestSpecVectors runs every spec vector (spec §15.1: every one MUST pass).
func TestSpecVectors(t *testing.T) {
	runVectors(t, loadVectors(t, vectorsFile))
}

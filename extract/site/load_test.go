package site

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Every vector's site in the spec must load: the site-file format is the
// vectors' `site:` form.
func TestLoadSpecVectorSites(t *testing.T) {
	data, err := os.ReadFile("../../testdata/spec/permission-vectors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			ID   string    `yaml:"id"`
			Site yaml.Node `yaml:"site"`
		} `yaml:"vectors"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Vectors) < 40 {
		t.Fatalf("read %d vectors, want at least 40", len(doc.Vectors))
	}
	for _, v := range doc.Vectors {
		s, err := FromNode("permission-vectors.yaml", &v.Site)
		if err != nil {
			t.Errorf("%s: %v", v.ID, err)
			continue
		}
		if s.Groups[0].ID != AllUsersID || len(s.Groups[0].Members) != len(s.Users) {
			t.Errorf("%s: All Users group = %+v, want every user", v.ID, s.Groups[0])
		}
	}
}

func TestParseErrorsNameLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown field", "site:\n  users:\n    - {id: a, role: Viewer, owenr: x}\n", "f.yaml:3: site.users[0]: unknown field \"owenr\""},
		{"dangling member", "site:\n  users: [{id: a, role: Viewer}]\n  groups:\n    - {id: g, members: [b]}\n", "f.yaml:4: group \"g\" members: unknown user \"b\""},
		{"bad grantee", "site:\n  projects:\n    - id: p\n      rules:\n        - {grantee: \"team:x\", allow: [Read]}\n", "f.yaml:5: project \"p\": grantee \"team:x\": kind must be user, group or groupset"},
		{"template on project", "site:\n  projects:\n    - id: p\n      rules:\n        - {grantee: \"group:all-users\", template: Explore}\n", "f.yaml:5: project \"p\" rule for group:all-users: template \"Explore\" does not exist on projects"},
		{"cycle", "site:\n  projects:\n    - {id: a, parent: b}\n    - {id: b, parent: a}\n", "f.yaml:3: project \"a\": cycle in parent chain"},
		{"type error", "site:\n  users: {id: a}\n", "line 2: cannot unmarshal"},
		{"no site", "other: 1\n", "f.yaml:1: unknown key \"other\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRuleCapabilities(t *testing.T) {
	r := Rule{Grantee: "group:g", Template: "Denied", Allow: []string{"Read"}, Deny: []string{"Filter", "Read"}}
	got, err := r.Capabilities("view")
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string][]string{}
	for _, c := range got {
		modes[c.Name] = append(modes[c.Name], c.Mode)
	}
	if strings.Join(modes["Read"], ",") != "Allow,Deny" {
		t.Errorf("Read modes = %v, want Allow then Deny (conflict kept)", modes["Read"])
	}
	if strings.Join(modes["Delete"], ",") != "Deny" || strings.Join(modes["Filter"], ",") != "Deny" {
		t.Errorf("modes = %v", modes)
	}
	if len(modes) != 11 {
		t.Errorf("got %d capabilities, want the 11 view capabilities", len(modes))
	}
}

func TestLUIDStable(t *testing.T) {
	if a, b := LUID("user", "ana"), LUID("user", "ana"); a != b || a == LUID("group", "ana") {
		t.Fatalf("LUID not stable or not kind-scoped: %s %s", a, b)
	}
}

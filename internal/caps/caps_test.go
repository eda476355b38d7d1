package caps

import (
	"slices"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		typ, tmpl   string
		allow, deny string
		err         string
	}{
		{Workbook, "View", "Read Filter ViewComments AddComment ExportImage ExportData", "", ""},
		{Workbook, "Explore", "Read Filter ViewComments AddComment ExportImage ExportData ShareView ViewUnderlyingData WebAuthoring RunExplainData", "", ""},
		{View, "Publish", "Read Filter ViewComments AddComment ExportImage ExportData ShareView ViewUnderlyingData WebAuthoring", "", ""},
		{Datasource, "Administer", "Read Connect ExportXml Write SaveAs ChangeHierarchy Delete ChangePermissions", "", ""},
		{Project, "Publish", "Read Write", "", ""},
		// Templates never touch ProjectLeader (spec §3).
		{Project, "Denied", "", "Read Write", ""},
		{Project, "Explore", "", "", `template "Explore" does not exist on projects`},
		{Flow, "None", "", "", ""},
		{Workbook, "Edit", "", "", `unknown template "Edit"`},
		{"dashboard", "View", "", "", `unknown content type "dashboard"`},
	}
	for _, tt := range tests {
		allow, deny, err := Expand(tt.typ, tt.tmpl)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Expand(%s, %s) error = %v, want %q", tt.typ, tt.tmpl, err, tt.err)
			}
			continue
		}
		if err != nil || strings.Join(allow, " ") != tt.allow || strings.Join(deny, " ") != tt.deny {
			t.Errorf("Expand(%s, %s) = %v / %v / %v, want %q / %q", tt.typ, tt.tmpl, allow, deny, err, tt.allow, tt.deny)
		}
	}
}

func TestTemplatesStayInType(t *testing.T) {
	for _, typ := range ContentTypes {
		for _, tmpl := range append(slices.Clone(Templates), "Denied") {
			allow, deny, err := Expand(typ, tmpl)
			if err != nil {
				continue
			}
			for _, c := range append(allow, deny...) {
				if !Applies(typ, c) {
					t.Errorf("%s template %s sets %s, which %s does not have", typ, tmpl, c, typ)
				}
			}
		}
	}
}

func TestNormaliseRole(t *testing.T) {
	tests := []struct {
		in, want      string
		legacy, known bool
	}{
		{"Creator", "Creator", false, true},
		{"Interactor", "Explorer", true, true},
		{"SiteAdministrator", "SiteAdministratorExplorer", true, true},
		{"ReadOnly", "Viewer", true, true},
		{"Viewr", "Viewr", false, false},
	}
	for _, tt := range tests {
		got, legacy, ok := NormaliseRole(tt.in)
		if got != tt.want || legacy != tt.legacy || ok != tt.known {
			t.Errorf("NormaliseRole(%q) = %q %v %v", tt.in, got, legacy, ok)
		}
	}
	if !(RoleRank("Creator") < RoleRank("SiteAdministratorExplorer")) || !(RoleRank("Unlicensed") < RoleRank("Viewer")) {
		t.Error("role order does not follow spec §4.2")
	}
	if !IsAdmin("SiteAdministrator") || IsAdmin("Creator") {
		t.Error("IsAdmin")
	}
}

package eval

import (
	"slices"
	"testing"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// TestCeilingFile checks the embedded data against the capability catalogue
// and the spec's tier rules, so that a calibration edit cannot silently drop
// or misspell a cell.
func TestCeilingFile(t *testing.T) {
	tb := mustTables()
	if CeilingVersion == "" || CeilingVersion != tb.version {
		t.Fatalf("CeilingVersion %q, file %q", CeilingVersion, tb.version)
	}
	if !slices.Equal(tb.columns, []string{"Viewer", "Explorer", "ExplorerCanPublish", "Creator", "Guest"}) {
		t.Fatalf("columns %v", tb.columns)
	}
	// Every catalogue capability has exactly one row and vice versa.
	n := 0
	for _, typ := range caps.ContentTypes {
		for _, c := range caps.For(typ) {
			n++
			if _, ok := tb.rows[[2]string{typ, c}]; !ok {
				t.Errorf("no ceiling row for %s/%s", typ, c)
			}
		}
	}
	for _, k := range tb.order {
		if !caps.Applies(k[0], k[1]) {
			t.Errorf("ceiling row %s/%s is not in the catalogue", k[0], k[1])
		}
	}
	if len(tb.order) != n {
		t.Errorf("%d rows, catalogue has %d capabilities", len(tb.order), n)
	}
	// The four licence columns follow the tier (spec §6: V, E, P, C).
	want := map[string][4]bool{"V": {true, true, true, true}, "E": {false, true, true, true}, "P": {false, false, true, true}, "C": {false, false, false, true}}
	for _, k := range tb.order {
		e := tb.rows[k]
		w, ok := want[e.tier]
		if !ok {
			t.Errorf("%s/%s: tier %q", k[0], k[1], e.tier)
			continue
		}
		for i, col := range tb.columns[:4] {
			if e.cells[col].allowed != w[i] {
				t.Errorf("%s/%s: %s cell %v but tier %s", k[0], k[1], col, e.cells[col].allowed, e.tier)
			}
		}
		// Guest: {Read, Filter, ExportImage, ExportData} on workbooks/views, Read elsewhere (§6.2).
		guest := k[1] == "Read" || ((k[0] == caps.Workbook || k[0] == caps.View) && slices.Contains([]string{"Filter", "ExportImage", "ExportData"}, k[1]))
		if e.cells["Guest"].allowed != guest {
			t.Errorf("%s/%s: Guest cell %v, want %v", k[0], k[1], e.cells["Guest"].allowed, guest)
		}
	}
	// Spec §6.1 "capabilities a Viewer can never hold".
	never := map[string][]string{
		caps.Project:    {"Write"},
		caps.Workbook:   {"ShareView", "ViewUnderlyingData", "WebAuthoring", "ExportXml", "Write", "ChangeHierarchy", "Delete", "ChangePermissions"},
		caps.View:       {"ShareView", "ViewUnderlyingData", "WebAuthoring", "Delete", "ChangePermissions"},
		caps.Datasource: {"ExportXml", "Write", "SaveAs", "Delete", "ChangePermissions", "ChangeHierarchy"},
	}
	for _, c := range caps.For(caps.Flow) {
		if c != "Read" {
			never[caps.Flow] = append(never[caps.Flow], c)
		}
	}
	for typ, cs := range never {
		for _, c := range cs {
			if tb.rows[[2]string{typ, c}].cells["Viewer"].allowed {
				t.Errorf("Viewer may hold %s/%s", typ, c)
			}
		}
	}
	// Cells whose confidence the spec states explicitly.
	for _, tc := range []struct {
		typ, c, col string
		conf        Confidence
	}{
		{caps.Workbook, "VizqlDataApiAccess", "Viewer", U},
		{caps.Workbook, "ChangeHierarchy", "Explorer", I},
		{caps.Workbook, "ChangeHierarchy", "Viewer", D},
		{caps.Flow, "WebAuthoringForFlows", "ExplorerCanPublish", I},
		{caps.VirtualConnection, "Connect", "ExplorerCanPublish", U},
		{caps.Table, "Read", "Viewer", I},
		{caps.Workbook, "RunExplainData", "Viewer", D},
	} {
		if got := tb.rows[[2]string{tc.typ, tc.c}].cells[tc.col].conf; got != tc.conf {
			t.Errorf("%s/%s %s: confidence %s, want %s", tc.typ, tc.c, tc.col, got, tc.conf)
		}
	}
}

// TestRoleTable checks roles.csv against caps (spec §4.1, §4.2, §6.2).
func TestRoleTable(t *testing.T) {
	var roles []string
	for _, r := range RoleRows() {
		roles = append(roles, r.Role)
		n, legacy, ok := caps.NormaliseRole(r.Role)
		if !ok || n != r.TreatedAs || legacy != r.Legacy {
			t.Errorf("%s: roles.csv treats it as %s (legacy %v), caps says %s (legacy %v, known %v)", r.Role, r.TreatedAs, r.Legacy, n, legacy, ok)
		}
		if r.Admin != caps.IsAdmin(r.Role) {
			t.Errorf("%s: admin %v, caps says %v", r.Role, r.Admin, caps.IsAdmin(r.Role))
		}
		if r.Legacy != (r.Flag == FlagLegacySiteRole) {
			t.Errorf("%s: legacy %v but flag %q", r.Role, r.Legacy, r.Flag)
		}
	}
	for _, r := range caps.CurrentRoles {
		if !slices.Contains(roles, r) {
			t.Errorf("current role %s missing from roles.csv", r)
		}
	}
	for r := range caps.LegacyRoles {
		if !slices.Contains(roles, r) {
			t.Errorf("legacy role %s missing from roles.csv", r)
		}
	}
	for _, tc := range []struct{ role, ceiling string }{
		{"ServerAdministrator", "*"}, {"SiteAdministratorCreator", "*"}, {"SiteAdministratorExplorer", "ExplorerCanPublish"},
		{"Unlicensed", "-"}, {"SupportUser", "Viewer"}, {"Guest", "Guest"}, {"SiteAdministrator", "ExplorerCanPublish"},
	} {
		if r, _ := lookupRole(tc.role); r.Ceiling != tc.ceiling {
			t.Errorf("%s: ceiling %q, want %q", tc.role, r.Ceiling, tc.ceiling)
		}
	}
}

// TestCeilingRows checks the long form the SQL engine loads.
func TestCeilingRows(t *testing.T) {
	rows := CeilingRows()
	tb := mustTables()
	if len(rows) != len(tb.order)*len(tb.roleOrd) {
		t.Fatalf("%d rows, want %d", len(rows), len(tb.order)*len(tb.roleOrd))
	}
	find := func(role, typ, c string) CeilingRow {
		for _, r := range rows {
			if r.Role == role && r.ContentType == typ && r.Capability == c {
				return r
			}
		}
		t.Fatalf("no row %s %s %s", role, typ, c)
		return CeilingRow{}
	}
	for _, tc := range []struct {
		role, typ, c string
		allowed      bool
		conf         Confidence
		tier         string
	}{
		{"Viewer", caps.Workbook, "ExportData", true, D, "V"},
		{"Viewer", caps.Workbook, "ViewUnderlyingData", false, D, "E"},
		{"Explorer", caps.Workbook, "ChangeHierarchy", false, I, "P"},
		{"SiteAdministratorExplorer", caps.Flow, "WebAuthoringForFlows", false, I, "C"},
		{"SiteAdministratorExplorer", caps.Flow, "Write", true, D, "P"},
		{"ServerAdministrator", caps.VirtualConnection, "Connect", true, D, "C"},
		{"Unlicensed", caps.Workbook, "Read", false, D, "V"},
		{"Guest", caps.Workbook, "Filter", true, U, "V"},
		{"Interactor", caps.Workbook, "WebAuthoring", true, I, "E"},
		{"ReadOnly", caps.Workbook, "Read", true, U, "V"},
		{"SiteAdministrator", caps.Datasource, "Write", true, U, "P"},
	} {
		r := find(tc.role, tc.typ, tc.c)
		if r.Allowed != tc.allowed || r.Confidence != tc.conf || r.Tier != tc.tier {
			t.Errorf("%s %s/%s: got %v %s %s, want %v %s %s", tc.role, tc.typ, tc.c, r.Allowed, r.Confidence, r.Tier, tc.allowed, tc.conf, tc.tier)
		}
	}
}

func TestParseTablesErrors(t *testing.T) {
	for _, tc := range []struct{ name, ceil, roles string }{
		{"no version", "type,capability,tier,Viewer,confidence,note\n", "role,treated_as,legacy,ceiling,admin,confidence,flag\n"},
		{"bad cell", "# ceiling_version: x\ntype,capability,tier,Viewer,Explorer,Creator,confidence,note\nproject,Read,V,Q,Y,Y,D,\n", "role,treated_as,legacy,ceiling,admin,confidence,flag\n"},
		{"bad conf", "# ceiling_version: x\ntype,capability,tier,Viewer,Explorer,Creator,confidence,note\nproject,Read,V,Y,Y,Y,X,\n", "role,treated_as,legacy,ceiling,admin,confidence,flag\n"},
		{"bad column", "# ceiling_version: x\ntype,capability,tier,Viewer,Explorer,Creator,confidence,note\n", "role,treated_as,legacy,ceiling,admin,confidence,flag\nViewer,Viewer,N,Nope,N,D,\n"},
	} {
		if _, err := parseTables([]byte(tc.ceil), []byte(tc.roles)); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

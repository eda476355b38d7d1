package tableautest

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func names(x *tree, wrapper, elem, attr string) []string {
	var out []string
	for _, e := range x.child(wrapper).all(elem) {
		out = append(out, e.attr(attr))
	}
	return out
}

func TestPagination(t *testing.T) {
	srv := NewServer(t, richSite(t))
	for _, format := range []bool{false, true} {
		c := newClient(t, srv)
		c.json = format
		c.signIn()
		var got []string
		var pags []string
		for page := 1; ; page++ {
			r := c.get("users?pageSize=4&pageNumber=" + itoa(page))
			if r.status != 200 {
				t.Fatalf("page %d: %d %s", page, r.status, r.body)
			}
			x := parse(t, r)
			p := x.child("pagination")
			pags = append(pags, p.attr("pageNumber")+"/"+p.attr("pageSize")+"/"+p.attr("totalAvailable"))
			got = append(got, names(x, "users", "user", "name")...)
			if page*4 >= 6 {
				break
			}
		}
		want := []string{"admin@example.com", "ana@example.com", "bo@example.com", "cy@example.com", "dee@example.com", "eve@example.com"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("json=%v users (-want +got):\n%s", format, diff)
		}
		if diff := cmp.Diff([]string{"1/4/6", "2/4/6"}, pags); diff != "" {
			t.Errorf("pagination (-want +got):\n%s", diff)
		}
		// Empty lists: total 0 and an empty wrapper ({} in JSON).
		r := c.get("groups/" + srv.ix.groupByID["empty"].luid + "/users")
		x := parse(t, r)
		if x.child("pagination").attr("totalAvailable") != "0" || x.child("users") == nil || len(x.child("users").kids) != 0 {
			t.Errorf("empty list: %s", r.body)
		}
		if format && !strings.Contains(string(r.body), `"users":{}`) {
			t.Errorf("empty JSON list: %s", r.body)
		}
	}
	c := newClient(t, srv)
	c.signIn()
	for _, tt := range []struct {
		query  string
		status int
		code   string
	}{
		{"pageSize=1001", 403, "403014"},
		{"pageSize=1000", 200, ""},
		{"pageSize=0", 400, "400007"},
		{"pageSize=abc", 400, "400007"},
		{"pageSize=-1", 400, "400007"},
		{"pageNumber=0", 400, "400006"},
		{"pageNumber=x", 400, "400006"},
		{"pageNumber=2", 400, "400006"},
		{"pageSize=5&pageNumber=2", 200, ""},
		{"pageSize=5&pageNumber=3", 400, "400006"},
	} {
		r := c.get("users?" + tt.query)
		if r.status != tt.status || (tt.code != "" && errCode(t, r) != tt.code) {
			t.Errorf("%s: %d %s, want %d %s", tt.query, r.status, r.body, tt.status, tt.code)
		}
	}
}

func TestFilterSortFields(t *testing.T) {
	srv := NewServer(t, richSite(t))
	c := newClient(t, srv)
	c.signIn()
	finance := srv.ix.projectByID["finance"].luid
	tests := []struct {
		path, wrapper, elem string
		want                []string
	}{
		{"users?filter=name:eq:ana@example.com", "users", "user", []string{"ana@example.com"}},
		{"users?filter=" + url.QueryEscape("siteRole:in:[Viewer,Unlicensed]"), "users", "user", []string{"cy@example.com", "dee@example.com"}},
		{"users?filter=lastLogin:gte:2025-01-01T00:00:00Z", "users", "user", []string{"admin@example.com", "ana@example.com"}},
		{"users?filter=lastLogin:lt:2025-01-01T00:00:00Z", "users", "user", []string{"eve@example.com"}},
		{"users?filter=siteRole:eq:Creator,name:cieq:BO@EXAMPLE.COM", "users", "user", []string{"bo@example.com"}},
		{"users?filter=name%3Aeq%3Aeve%40example.com", "users", "user", []string{"eve@example.com"}},
		{"users?sort=name:desc&pageSize=2", "users", "user", []string{"eve@example.com", "dee@example.com"}},
		{"groups?filter=name:eq:Finance%20Analysts", "groups", "group", []string{"Finance Analysts"}},
		{"groups?filter=isLocal:eq:false", "groups", "group", []string{"Sales"}},
		{"groups?filter=userCount:gt:1&sort=userCount:asc", "groups", "group", []string{"Finance Analysts", "HR, People & Culture", "All Users"}},
		{"projects?filter=parentProjectId:eq:" + finance, "projects", "project", []string{"Reports"}},
		{"projects?filter=ownerName:eq:admin@example.com&sort=name:asc", "projects", "project", []string{"Finance", "Locked Root", "Without Nested"}},
		{"projects?filter=topLevelProject:eq:true&sort=createdAt:desc,name:asc", "projects", "project", []string{"Locked Root", "Without Nested", "Finance"}},
		{"workbooks?filter=tags:has:confidential", "workbooks", "workbook", []string{"Sales Overview"}},
		{"workbooks?filter=projectName:eq:Finance", "workbooks", "workbook", []string{"Sales Overview"}},
		{"workbooks?filter=ownerName:eq:eve@example.com", "workbooks", "workbook", []string{"Headcount"}},
		{"views?filter=workbookName:eq:Sales%20Overview&sort=name:asc", "views", "view", []string{"Detail Sheet", "Summary"}},
		{"views?filter=sheetType:eq:dashboard", "views", "view", []string{"Summary"}},
		{"datasources?filter=isCertified:eq:true", "datasources", "datasource", []string{"Sales DS"}},
		{"jobs?filter=status:eq:Failed", "backgroundJobs", "backgroundJob", []string{site_LUID("job", "j2")}},
	}
	for _, tt := range tests {
		r := c.get(tt.path)
		if r.status != 200 {
			t.Errorf("%s: %d %s", tt.path, r.status, r.body)
			continue
		}
		attr := "name"
		if tt.elem == "backgroundJob" {
			attr = "id"
		}
		got := names(parse(t, r), tt.wrapper, tt.elem, attr)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.path, diff)
		}
	}
	for _, q := range []string{"users?filter=shoeSize:eq:9", "users?filter=name:like:x", "users?filter=name", "users?sort=shoeSize:asc", "users?sort=name:up"} {
		if r := c.get(q); r.status != 400 || errCode(t, r) != "400000" {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}

	// fields=_all_ adds the attributes Tableau sends only then.
	def := parse(t, c.get("users?filter=name:eq:admin@example.com")).child("users").child("user")
	all := parse(t, c.get("users?filter=name:eq:admin@example.com&fields=_all_")).child("users").child("user")
	if def.attr("email") != "" || def.attr("authSetting") != "" {
		t.Errorf("default fields carry email/authSetting: %v", def.attrs)
	}
	if all.attr("email") != "admin@example.com" || all.attr("authSetting") != "SAML" {
		t.Errorf("_all_ fields: %v", all.attrs)
	}
	g := parse(t, c.get("groups?fields=_all_&filter=name:eq:Sales")).child("groups").child("group")
	if g.attr("userCount") != "1" || g.attr("minimumSiteRole") != "Explorer" || g.child("import").attr("grantLicenseMode") != "onLogin" {
		t.Errorf("group _all_: %v %v", g.attrs, g.child("import"))
	}
	p := parse(t, c.get("projects?fields=_all_&filter=name:eq:Finance")).child("projects").child("project")
	if p.attr("topLevelProject") != "true" || p.child("contentsCounts").attr("workbookCount") != "1" ||
		p.child("contentsCounts").attr("viewCount") != "2" || p.child("contentsCounts").attr("projectCount") != "1" {
		t.Errorf("project _all_: %v %v", p.attrs, p.child("contentsCounts"))
	}
	w := parse(t, c.get("workbooks?fields=_all_&filter=name:eq:Scratch")).child("workbooks").child("workbook")
	if w.child("project") != nil || w.child("location").attr("type") != "PersonalSpace" {
		t.Errorf("personal space workbook: %+v", w)
	}
}

func site_LUID(kind, id string) string { return siteLUID(kind, id) }

func TestHiddenViewsAndNonAdmin(t *testing.T) {
	srv := NewServer(t, richSite(t))
	adm := newClient(t, srv)
	adm.signIn()
	wb := srv.ix.itemByID["wb-sales"].luid
	x := parse(t, adm.get("workbooks/"+wb+"/views"))
	if x.child("pagination") != nil {
		t.Errorf("workbook views carry pagination")
	}
	var hidden []string
	for _, v := range x.child("views").all("view") {
		hidden = append(hidden, v.attr("name")+"="+v.attr("hidden"))
	}
	if diff := cmp.Diff([]string{"Summary=", "Detail Sheet=true"}, hidden); diff != "" {
		t.Errorf("admin workbook views (-want +got):\n%s", diff)
	}

	// ana (Explorer) sees what she owns or may Read.
	ana := newClient(t, srv)
	ana.signInBody(`<tsRequest><credentials name="ana@example.com" password="sim-password"><site contentUrl="finance"/></credentials></tsRequest>`)
	list := func(path, wrapper, elem string) []string {
		r := ana.get(path)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		got := names(parse(t, r), wrapper, elem, "name")
		slices.Sort(got)
		return got
	}
	if diff := cmp.Diff([]string{"Headcount", "Sales Overview", "Scratch"}, list("workbooks", "workbooks", "workbook")); diff != "" {
		t.Errorf("ana's workbooks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Headcount", "Summary"}, list("views", "views", "view")); diff != "" {
		t.Errorf("ana's views (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Sales DS"}, list("datasources", "datasources", "datasource")); diff != "" {
		t.Errorf("ana's datasources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ana@example.com"}, list("users", "users", "user")); diff != "" {
		t.Errorf("ana's users (-want +got):\n%s", diff)
	}
	if r := ana.get("workbooks/" + wb + "/permissions"); r.status != 403 {
		t.Errorf("non-owner permissions: %d %s", r.status, r.body)
	}
	if r := ana.get("workbooks/" + srv.ix.itemByID["wb-mine"].luid + "/permissions"); r.status != 200 {
		t.Errorf("owner permissions: %d %s", r.status, r.body)
	}
	if r := ana.get("users/" + srv.ix.userByID["bo"].luid); r.status != 403 || errCode(t, r) != "403133" {
		t.Errorf("other user: %d %s", r.status, r.body)
	}
	if r := ana.get("views/" + srv.ix.itemByID["v-detail"].luid); r.status != 404 {
		t.Errorf("hidden view by id: %d %s", r.status, r.body)
	}
}

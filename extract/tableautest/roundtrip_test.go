package tableautest

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// walk lists every page of a paginated endpoint and checks the count
// against totalAvailable.
func (c *client) walk(path, wrapper, elem string) []*tree {
	c.t.Helper()
	var out []*tree
	sep := "?"
	if slices.Contains([]byte(path), '?') {
		sep = "&"
	}
	total := -1
	for page := 1; ; page++ {
		r := c.get(path + sep + "pageSize=3&pageNumber=" + strconv.Itoa(page))
		if r.status != 200 {
			c.t.Fatalf("%s page %d: HTTP %d %s", path, page, r.status, r.body)
		}
		x := parse(c.t, r)
		total, _ = strconv.Atoi(x.child("pagination").attr("totalAvailable"))
		out = append(out, x.child(wrapper).all(elem)...)
		if page*3 >= total {
			break
		}
	}
	if len(out) != total {
		c.t.Fatalf("%s: %d items, totalAvailable %d", path, len(out), total)
	}
	return out
}

// served is everything the simulator serves for a site, as sorted strings.
type served struct {
	Users, Groups, Members, GroupSets, Projects, Items, Rules []string
}

func rulesOf(object string, x *tree) []string {
	var out []string
	for _, gc := range x.child("permissions").all("granteeCapabilities") {
		var g string
		for _, k := range []string{"user", "group", "groupSet"} {
			if e := gc.child(k); e != nil {
				g = k + ":" + e.attr("id")
			}
		}
		for _, c := range gc.child("capabilities").all("capability") {
			out = append(out, object+" "+g+" "+c.attr("name")+"="+c.attr("mode"))
		}
	}
	return out
}

var listPaths = map[string]struct{ path, wrapper, elem string }{
	caps.Workbook:          {"workbooks", "workbooks", "workbook"},
	caps.View:              {"views", "views", "view"},
	caps.Datasource:        {"datasources", "datasources", "datasource"},
	caps.Flow:              {"flows", "flows", "flow"},
	caps.VirtualConnection: {"virtualConnections", "virtualConnections", "virtualConnection"},
	caps.Database:          {"databases", "databases", "database"},
	caps.Table:             {"tables", "tables", "table"},
	caps.Metric:            {"metrics", "metrics", "metric"},
}

// listServed reads the whole site back through the REST API.
func listServed(t *testing.T, srv *Server) served {
	c := newClient(t, srv)
	c.signIn()
	var s served
	for _, u := range c.walk("users", "users", "user") {
		s.Users = append(s.Users, u.attr("id")+" "+u.attr("name")+" "+u.attr("siteRole"))
	}
	for _, g := range c.walk("groups", "groups", "group") {
		s.Groups = append(s.Groups, g.attr("id")+" "+g.attr("name"))
		for _, u := range c.walk("groups/"+g.attr("id")+"/users", "users", "user") {
			s.Members = append(s.Members, g.attr("id")+" "+u.attr("id"))
		}
	}
	for _, gs := range c.walk("groupsets", "groupSets", "groupSet") {
		for _, g := range gs.all("group") {
			s.GroupSets = append(s.GroupSets, gs.attr("id")+" "+g.attr("id"))
		}
		if len(gs.all("group")) == 0 {
			s.GroupSets = append(s.GroupSets, gs.attr("id"))
		}
	}
	for _, p := range c.walk("projects", "projects", "project") {
		id := p.attr("id")
		s.Projects = append(s.Projects, id+" parent="+p.attr("parentProjectId")+" owner="+p.child("owner").attr("id"))
		s.Rules = append(s.Rules, rulesOf("project:"+id, parse(t, c.get("projects/"+id+"/permissions")))...)
		for _, d := range caps.DefaultPermissionTypes {
			s.Rules = append(s.Rules, rulesOf("project:"+id+"/default:"+d.Type, parse(t, c.get("projects/"+id+"/default-permissions/"+d.PathSegment)))...)
		}
	}
	for typ, lp := range listPaths {
		for _, it := range c.walk(lp.path, lp.wrapper, lp.elem) {
			id := it.attr("id")
			parent := it.child("project").attr("id")
			if typ == caps.View {
				parent = it.child("workbook").attr("id")
			}
			owner := it.child("owner").attr("id")
			if typ == caps.Database || typ == caps.Table {
				owner = it.child("contact").attr("id")
			}
			s.Items = append(s.Items, typ+":"+id+" parent="+parent+" owner="+owner)
			s.Rules = append(s.Rules, rulesOf(typ+":"+id, parse(t, c.get(lp.path+"/"+id+"/permissions")))...)
			if typ == caps.Database {
				s.Rules = append(s.Rules, rulesOf(typ+":"+id+"/default:table", parse(t, c.get(lp.path+"/"+id+"/default-permissions/tables")))...)
			}
		}
	}
	s.sort()
	return s
}

func (s *served) sort() {
	for _, l := range []*[]string{&s.Users, &s.Groups, &s.Members, &s.GroupSets, &s.Projects, &s.Items, &s.Rules} {
		slices.Sort(*l)
	}
}

// expected computes the same view straight from the site file.
func expected(t *testing.T, st *site.Site) served {
	var s served
	L := site.LUID
	for _, u := range st.Users {
		s.Users = append(s.Users, L("user", u.ID)+" "+site.DisplayName(u.Name, u.ID)+" "+u.Role)
	}
	for _, g := range st.Groups {
		s.Groups = append(s.Groups, L("group", g.ID)+" "+site.DisplayName(g.Name, g.ID))
		for _, m := range g.Members {
			s.Members = append(s.Members, L("group", g.ID)+" "+L("user", m))
		}
	}
	for _, gs := range st.GroupSets {
		for _, g := range gs.Groups {
			s.GroupSets = append(s.GroupSets, L("groupset", gs.ID)+" "+L("group", g))
		}
		if len(gs.Groups) == 0 {
			s.GroupSets = append(s.GroupSets, L("groupset", gs.ID))
		}
	}
	rules := func(object, ctype string, rs []site.Rule) {
		for _, r := range rs {
			kind, id, _ := site.ParseGrantee(r.Grantee)
			elem := map[string]string{"user": "user", "group": "group", "groupset": "groupSet"}[kind]
			cs, err := r.Capabilities(ctype)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				s.Rules = append(s.Rules, object+" "+elem+":"+L(kind, id)+" "+c.Name+"="+c.Mode)
			}
		}
	}
	for _, p := range st.Projects {
		parent, owner := "", ""
		if p.Parent != "" {
			parent = L("project", p.Parent)
		}
		if p.Owner != "" {
			owner = L("user", p.Owner)
		}
		s.Projects = append(s.Projects, L("project", p.ID)+" parent="+parent+" owner="+owner)
		rules("project:"+L("project", p.ID), caps.Project, p.Rules)
		for typ, rs := range p.Defaults {
			rules("project:"+L("project", p.ID)+"/default:"+typ, typ, rs)
		}
	}
	byID := map[string]site.Item{}
	for _, it := range st.Items {
		byID[it.ID] = it
	}
	for _, it := range st.Items {
		if _, ok := listPaths[it.Type]; !ok {
			t.Fatalf("item %s: type %s is not listed by the simulator; extend the round trip", it.ID, it.Type)
		}
		parent, owner := "", it.Owner
		switch it.Type {
		case caps.View:
			parent, owner = L(caps.Workbook, it.Workbook), byID[it.Workbook].Owner
		case caps.Database, caps.Table:
		default:
			if it.LocationType != "PersonalSpace" {
				parent = L("project", it.Project)
			}
		}
		if owner != "" {
			owner = L("user", owner)
		}
		obj := it.Type + ":" + L(it.Type, it.ID)
		s.Items = append(s.Items, obj+" parent="+parent+" owner="+owner)
		rules(obj, it.Type, it.Rules)
		if it.Type == caps.Database {
			rules(obj+"/default:table", caps.Table, it.Defaults[caps.Table])
		}
	}
	s.sort()
	return s
}

func TestRoundTrip(t *testing.T) {
	sites := map[string]*site.Site{"rich": richSite(t)}
	for _, seed := range []int64{1, 2} {
		s, err := site.Generate("S", seed)
		if err != nil {
			t.Fatal(err)
		}
		sites["generated-S-"+strconv.FormatInt(seed, 10)] = s
	}
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
	for _, v := range doc.Vectors {
		s, err := site.FromNode(v.ID, &v.Site)
		if err != nil {
			t.Fatalf("vector %s: %v", v.ID, err)
		}
		sites[v.ID] = s
	}
	if len(sites) < 20 {
		t.Fatalf("only %d sites", len(sites))
	}
	for name, st := range sites {
		t.Run(name, func(t *testing.T) {
			srv := NewServer(t, st)
			got := listServed(t, srv)
			want := expected(t, st)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("served site differs from the site file (-file +served):\n%s", diff)
			}
			if len(want.Users) == 0 || len(want.Rules) == 0 && name == "rich" {
				t.Errorf("empty expectation: %+v", want)
			}
		})
	}
}

func TestPermissionShapes(t *testing.T) {
	srv := NewServer(t, richSite(t))
	c := newClient(t, srv)
	c.signIn()
	ix := srv.ix
	L := site.LUID
	// The conflicting rule on ana is two entries; a None template is absent.
	x := parse(t, c.get("workbooks/"+ix.itemByID["wb-sales"].luid+"/permissions"))
	perms := x.child("permissions")
	if w := perms.child("workbook"); w.attr("name") != "Sales Overview" || w.child("owner").attr("id") != L("user", "bo") {
		t.Errorf("target: %+v", w)
	}
	if perms.child("parent") != nil {
		t.Errorf("unlocked content carries <parent>")
	}
	var grantees []string
	for _, gc := range perms.all("granteeCapabilities") {
		for _, k := range gc.kids {
			if k.name != "capabilities" {
				grantees = append(grantees, k.name+":"+k.attr("id")+fmt.Sprintf("/%d", len(gc.child("capabilities").kids)))
			}
		}
	}
	want := []string{"group:" + L("group", "fin") + "/10", "user:" + L("user", "ana") + "/2", "groupSet:" + L("groupset", "fin-hr") + "/1"}
	if diff := cmp.Diff(want, grantees); diff != "" {
		t.Errorf("grantees (-want +got):\n%s", diff)
	}
	// Content and nested projects under a lock name the controlling project.
	locked := ix.projectByID["locked"].luid
	for _, p := range []string{"workbooks/" + ix.itemByID["wb-hr"].luid, "views/" + ix.itemByID["v-hc"].luid, "projects/" + ix.projectByID["locked-child"].luid} {
		perms := parse(t, c.get(p+"/permissions")).child("permissions")
		if got := perms.child("parent"); got.attr("id") != locked || got.attr("type") != "Project" {
			t.Errorf("%s: parent %+v, want %s", p, got, locked)
		}
	}
	// The override project reports the configured controlling project.
	pr := parse(t, c.get("projects/"+ix.projectByID["override"].luid)).child("project")
	if pr.attr("controllingPermissionsProjectId") != ix.projectByID["finance"].luid || pr.attr("contentPermissions") != "ManagedByOwner" {
		t.Errorf("override project: %v", pr.attrs)
	}
	lc := parse(t, c.get("projects/"+ix.projectByID["locked-child"].luid)).child("project")
	if lc.attr("controllingPermissionsProjectId") != locked || lc.attr("contentPermissions") != "LockedToProject" {
		t.Errorf("locked child: %v", lc.attrs)
	}
	// Default permissions: target is the project; both vc spellings work.
	for _, seg := range []string{"virtualConnections", "virtualconnections"} {
		perms := parse(t, c.get("projects/"+locked+"/default-permissions/"+seg)).child("permissions")
		if perms.child("project").attr("id") != locked || len(rulesOf("x", &tree{kids: []*tree{perms}})) != 2 {
			t.Errorf("%s defaults: %+v", seg, perms)
		}
	}
}

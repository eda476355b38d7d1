package metadata

import (
	"fmt"
	"math/rand/v2"

	"github.com/tabaudit/tabaudit/extract/site"
)

// synthParams sizes a small synthetic site with lineage whose every object
// is cheap, for the node-limit tests (a limit of a few dozen nodes must cut
// every default page without any one object exceeding it). The benchmark and
// TestNodeLimitGeneratedSite use site.Generate instead.
type synthParams struct {
	Workbooks, Datasources, Flows, Tables, Databases, CustomSQL, VirtualConnections int
}

// synthSite builds a deterministic site whose every object costs at most
// ~20 Metadata API nodes in any of the operations (sheets per workbook ≤ 6,
// tables per source ≤ 3, each custom SQL query used by one source, 3-8
// columns per table, a sheet using at most one column of each of its ≤ 2
// tables).
func synthSite(p synthParams, seed uint64) *site.Site {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := &site.Site{Name: "Synthetic", ContentURL: "synth"}
	s.Users = []site.User{{ID: "adm", Role: "SiteAdministratorCreator"}, {ID: "own", Role: "Creator"}}
	s.Projects = []site.Project{{ID: "p", Name: "Everything", Owner: "adm"}}
	l := &site.Lineage{}
	s.Lineage = l
	for i := range p.Databases {
		l.Databases = append(l.Databases, site.LDatabase{ID: fmt.Sprintf("db%d", i), Name: fmt.Sprintf("db%d", i), ConnectionType: "postgres", Host: fmt.Sprintf("h%d.example.com", i)})
	}
	nCols := make([]int, p.Tables)
	for i := range p.Tables {
		t := site.LTable{ID: fmt.Sprintf("t%d", i), Database: fmt.Sprintf("db%d", i%p.Databases), Schema: "s", Name: fmt.Sprintf("table%d", i)}
		nCols[i] = 3 + r.IntN(6)
		for c := range nCols[i] {
			t.Columns = append(t.Columns, fmt.Sprintf("c%d", c))
		}
		l.Tables = append(l.Tables, t)
	}
	// columns picks at most one used column per table (field-level
	// lineage), for four tables in five.
	columns := func(tables []string) []string {
		var out []string
		for _, t := range tables {
			var i int
			fmt.Sscanf(t, "t%d", &i)
			if r.IntN(5) < 4 {
				out = append(out, fmt.Sprintf("%s.c%d", t, r.IntN(nCols[i])))
			}
		}
		return out
	}
	tables := func(n int) []string {
		var out []string
		for range n {
			t := fmt.Sprintf("t%d", r.IntN(p.Tables))
			if !contains(out, t) {
				out = append(out, t)
			}
		}
		return out
	}
	for i := range p.VirtualConnections {
		id := fmt.Sprintf("vc%d", i)
		s.Items = append(s.Items, site.Item{ID: id, Type: "virtualconnection", Project: "p", Owner: "own"})
		for j := range 2 {
			l.VirtualConnectionTables = append(l.VirtualConnectionTables, site.LVirtualConnectionTbl{ID: fmt.Sprintf("vct%d-%d", i, j), VirtualConnection: id, Tables: tables(2)})
		}
	}
	cq := 0
	for i := range p.Datasources {
		id := fmt.Sprintf("pds%d", i)
		s.Items = append(s.Items, site.Item{ID: id, Type: "datasource", Project: "p", Owner: "own"})
		pd := site.LPublishedDatasource{Item: id, Tables: tables(1 + r.IntN(3))}
		switch {
		case cq < p.CustomSQL && r.IntN(4) == 0:
			q := fmt.Sprintf("cq%d", cq)
			cq++
			l.CustomSQL = append(l.CustomSQL, site.LCustomSQL{ID: q, Database: "db0", Tables: tables(2), Query: "SELECT 1"})
			pd.CustomSQL = []string{q}
		case p.VirtualConnections > 0 && r.IntN(20) == 0:
			pd.VirtualConnectionTables = []string{fmt.Sprintf("vct%d-%d", r.IntN(p.VirtualConnections), r.IntN(2))}
		case i > 0 && r.IntN(10) == 0:
			pd.Datasources = []string{fmt.Sprintf("pds%d", r.IntN(i))}
		}
		l.PublishedDatasources = append(l.PublishedDatasources, pd)
	}
	for ; cq < p.CustomSQL; cq++ {
		l.CustomSQL = append(l.CustomSQL, site.LCustomSQL{ID: fmt.Sprintf("cq%d", cq), Database: "db0", Tables: tables(2), Query: "SELECT 2"})
	}

	for w := range p.Workbooks {
		wb := fmt.Sprintf("wb%d", w)
		s.Items = append(s.Items, site.Item{ID: wb, Type: "workbook", Project: "p", Owner: "own"})
		var eds []string
		for e := range 1 + r.IntN(2) {
			id := fmt.Sprintf("eds%d-%d", w, e)
			ed := site.LEmbeddedDatasource{ID: id, Workbook: wb}
			if p.Datasources > 0 && r.IntN(10) < 7 {
				ed.Published = []string{fmt.Sprintf("pds%d", r.IntN(p.Datasources))}
			} else {
				ed.Tables = tables(1 + r.IntN(2))
			}
			l.EmbeddedDatasources = append(l.EmbeddedDatasources, ed)
			eds = append(eds, id)
		}
		var sheets []string
		nViews := 5 + r.IntN(2) // 5 or 6 views, one of them a dashboard
		for v := range nViews - 1 {
			sid := fmt.Sprintf("sh%d-%d", w, v)
			view := fmt.Sprintf("v%d-%d", w, v)
			s.Items = append(s.Items, site.Item{ID: view, Type: "view", Workbook: wb})
			ts := tables(1 + r.IntN(2))
			l.Sheets = append(l.Sheets, site.LSheet{ID: sid, Workbook: wb, View: view, Datasources: []string{eds[r.IntN(len(eds))]}, Tables: ts, Columns: columns(ts)})
			sheets = append(sheets, sid)
		}
		dashSheets := []string{sheets[0], sheets[1]}
		if w%4 == 0 {
			hid := fmt.Sprintf("sh%d-hidden", w)
			ts := tables(1)
			l.Sheets = append(l.Sheets, site.LSheet{ID: hid, Workbook: wb, Datasources: []string{eds[0]}, Tables: ts, Columns: columns(ts)})
			dashSheets = append(dashSheets, hid)
		}
		dv := fmt.Sprintf("v%d-dash", w)
		s.Items = append(s.Items, site.Item{ID: dv, Type: "view", Workbook: wb})
		l.Dashboards = append(l.Dashboards, site.LDashboard{ID: fmt.Sprintf("d%d", w), Workbook: wb, View: dv, Sheets: dashSheets})
	}
	for f := range p.Flows {
		id := fmt.Sprintf("fl%d", f)
		s.Items = append(s.Items, site.Item{ID: id, Type: "flow", Project: "p", Owner: "own"})
		l.Flows = append(l.Flows, site.LFlow{Item: id, InputTables: tables(2), OutputTables: tables(1)})
	}
	return s
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

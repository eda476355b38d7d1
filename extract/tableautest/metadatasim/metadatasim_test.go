package metadatasim

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/site"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadSite(t *testing.T, path string) *site.Site {
	t.Helper()
	s, err := site.Load(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return s
}

func roundTrip(t *testing.T) *site.Site {
	return loadSite(t, "../../../testdata/lineage/roundtrip.yaml")
}

// post sends one GraphQL request over HTTP and decodes the answer.
func post(t *testing.T, h http.Handler, query, op string, vars map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "operationName": op, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/api/metadata/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, rec.Body.String())
	}
	return rec.Code, out
}

func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b) + "\n"
}

// TestOperations pins the answer to every operation of
// metadata-queries.graphql (first: 2, so pagination shows) on the round-trip
// site.
func TestOperations(t *testing.T) {
	h := New(roundTrip(t), Config{})
	for _, op := range []string{"TabauditWorkbookViews", "TabauditSheetLineage", "TabauditEmbeddedDatasourceLineage",
		"TabauditPublishedDatasourceLineage", "TabauditTables", "TabauditCustomSQL", "TabauditFlows"} {
		t.Run(op, func(t *testing.T) {
			code, out := post(t, h, queriesForTest, op, map[string]any{"first": 2})
			if code != 200 || out["errors"] != nil {
				t.Fatalf("HTTP %d, errors %v", code, out["errors"])
			}
			path := filepath.Join("testdata", op+".json")
			got := pretty(out)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s (-want +got):\n%s", op, d)
			}
		})
	}
}

// TestPagination walks every connection at page size 1 and checks that the
// cursors visit each object once, in id order, with a stable totalCount.
func TestPagination(t *testing.T) {
	h := New(roundTrip(t), Config{})
	for _, root := range []string{"workbooksConnection", "sheetsConnection", "dashboardsConnection", "embeddedDatasourcesConnection",
		"publishedDatasourcesConnection", "databasesConnection", "databaseTablesConnection", "customSQLTablesConnection",
		"flowsConnection", "virtualConnectionTablesConnection"} {
		q := `query($after: String) { c: ` + root + `(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }`
		var ids []string
		after := any(nil)
		for i := 0; ; i++ {
			if i > 100 {
				t.Fatalf("%s: more than 100 pages", root)
			}
			_, out := post(t, h, q, "", map[string]any{"after": after})
			c := out["data"].(map[string]any)["c"].(map[string]any)
			for _, n := range c["nodes"].([]any) {
				ids = append(ids, n.(map[string]any)["id"].(string))
			}
			pi := c["pageInfo"].(map[string]any)
			if pi["hasNextPage"] != true {
				if int(c["totalCount"].(float64)) != len(ids) {
					t.Errorf("%s: totalCount %v, walked %d", root, c["totalCount"], len(ids))
				}
				break
			}
			after = pi["endCursor"]
		}
		for i := 1; i < len(ids); i++ {
			if ids[i-1] >= ids[i] {
				t.Errorf("%s: ids not strictly ascending: %v", root, ids)
			}
		}
	}
}

// TestQueries covers the GraphQL features beyond the six operations.
func TestQueries(t *testing.T) {
	h := New(roundTrip(t), Config{})
	cases := []struct {
		name, query string
		vars        map[string]any
		want        string // JSON of the whole response
	}{
		{
			name:  "fragments, inline fragments on an interface, aliases, __typename",
			query: `fragment T on DatabaseTable { n: name schema } { t: databaseTables(filter: {nameWithin: ["salaries", "Ledger$"]}) { ...T database { __typename ... on DatabaseServer { hostName } ... on File { filePath } } } }`,
			want:  `{"data":{"t":[{"n":"salaries","schema":"hr","database":{"__typename":"DatabaseServer","hostName":"acme.snowflakecomputing.com"}},{"n":"Ledger$","schema":null,"database":{"__typename":"File","filePath":"/data/ledger.xlsx"}}]}}`,
		},
		{
			name:  "filter by luid, orderBy NAME DESC, first 0",
			query: `query($l: [String]) { a: sheetsConnection(filter: {luidWithin: $l}, orderBy: {field: NAME, direction: DESC}) { totalCount nodes { name } } b: workbooksConnection(first: 0) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }`,
			vars:  map[string]any{"l": []string{site.LUID("view", "v-orders"), site.LUID("view", "v-pay")}},
			want:  `{"data":{"a":{"totalCount":2,"nodes":[{"name":"Pay"},{"name":"Orders"}]},"b":{"totalCount":2,"pageInfo":{"hasNextPage":true,"endCursor":null},"nodes":[]}}}`,
		},
		{
			name:  "hidden sheet has an empty luid and is reached from its dashboard",
			query: `{ dashboards { name sheets { name luid path containedInDashboards { name } } } }`,
			want:  `{"data":{"dashboards":[{"name":"Overview","sheets":[{"name":"Orders","luid":"` + site.LUID("view", "v-orders") + `","path":"Sales/Orders","containedInDashboards":[{"name":"Overview"}]},{"name":"Hidden Detail","luid":"","path":"","containedInDashboards":[{"name":"Overview"}]}]}]}}`,
		},
		{
			name:  "nested connection and @include",
			query: `query($x: Boolean!) { workbooks(filter: {name: "Sales"}) { sheetsConnection(first: 1) { totalCount nodes { name @include(if: $x) } } } }`,
			vars:  map[string]any{"x": true},
			want:  `{"data":{"workbooks":[{"sheetsConnection":{"totalCount":3,"nodes":[{"name":"Orders"}]}}]}}`,
		},
		{
			name:  "syntax error",
			query: `{ workbooks { name }`,
			want:  `{"errors":[{"message":"Invalid Syntax : Expected Name, found \u003cEOF\u003e","locations":[{"line":1,"column":21}],"extensions":{"classification":"InvalidSyntax"}}]}`,
		},
		{
			name:  "unknown field",
			query: `{ workbooks { name colour } }`,
			want:  `{"errors":[{"message":"Validation error of type FieldUndefined: Cannot query field \"colour\" on type \"Workbook\".","locations":[{"line":1,"column":20}],"extensions":{"classification":"ValidationError"}}]}`,
		},
		{
			name:  "after and offset together",
			query: `{ workbooksConnection(after: "x", offset: 1) { totalCount } }`,
			want:  `{"data":null,"errors":[{"message":"Invalid argument: 'after' and 'offset' cannot be used together","path":["workbooksConnection"],"extensions":{"code":"INVALID_ARGUMENT","properties":{},"severity":"ERROR"}}]}`,
		},
		{
			name:  "cursor of another type",
			query: `query($c: String) { workbooksConnection(after: $c) { totalCount } }`,
			vars:  map[string]any{"c": (&Server{scope: "sites/1"}).encodeCursor("Sheet", "x")},
			want:  `{"data":null,"errors":[{"message":"Invalid argument: cursor \"eyJ0eXBlIjoiU2hlZXQiLCJzY29wZSI6InNpdGVzLzEiLCJzb3J0T3JkZXJWYWx1ZSI6eyJsYXN0SWQiOiJ4In19\": cursor belongs to Sheet in sites/1, not Workbook in sites/1","path":["workbooksConnection"],"extensions":{"code":"INVALID_ARGUMENT","properties":{},"severity":"ERROR"}}]}`,
		},
		{
			name:  "page size over 1000 is clamped with a warning",
			query: `{ flowsConnection(first: 5000) { totalCount } }`,
			want:  `{"data":{"flowsConnection":{"totalCount":1}},"errors":[{"message":"The requested page size exceeds the maximum of 1000; 1000 was used.","extensions":{"code":"MAX_PAGE_SIZE_EXCEEDED","properties":{"maxPageSize":1000},"severity":"WARNING"}}]}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, out := post(t, h, tc.query, "", tc.vars)
			got, _ := json.Marshal(out)
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatalf("bad want: %v", err)
			}
			if d := cmp.Diff(want, out); d != "" {
				t.Errorf("(-want +got):\n%s\ngot: %s", d, got)
			}
		})
	}
}

// TestNodeLimit: objects past the limit come back null and the response
// carries Tableau's NODE_LIMIT_EXCEEDED warning.
func TestNodeLimit(t *testing.T) {
	h := New(roundTrip(t), Config{NodeLimit: 3})
	_, out := post(t, h, `{ workbooksConnection(first: 2) { totalCount nodes { name owner { luid } sheets { name } } } }`, "", nil)
	want := map[string]any{
		"data": map[string]any{"workbooksConnection": map[string]any{"totalCount": 2.0, "nodes": []any{
			map[string]any{"name": "Direct", "owner": map[string]any{"luid": site.LUID("user", "adm")}, "sheets": []any{map[string]any{"name": "Customers"}, nil}},
			nil,
		}}},
		"errors": []any{map[string]any{
			"message":    "Showing partial results. The request exceeded the 3 node limit. Use pagination, additional filtering, or both in the query to adjust results.",
			"extensions": map[string]any{"severity": "WARNING", "code": "NODE_LIMIT_EXCEEDED", "properties": map[string]any{"nodeLimit": 3.0}},
		}},
	}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestObfuscatedAndDisabled(t *testing.T) {
	s := roundTrip(t)
	s.Lineage.Tables[3].Hidden = true // t-salaries
	_, out := post(t, New(s, Config{}), `{ databaseTables(filter: {idWithin: ["`+GraphID("table", "t-salaries")+`"]}) { id luid name schema fullName } }`, "", nil)
	want := `[{"fullName":null,"id":"` + GraphID("table", "t-salaries") + `","luid":"` + site.LUID("table", "t-salaries") + `","name":null,"schema":null}]`
	if got, _ := json.Marshal(out["data"].(map[string]any)["databaseTables"]); string(got) != want {
		t.Errorf("hidden table = %s; want %s", got, want)
	}
	_, out = post(t, New(s, Config{Disabled: true}), `{ workbooks { name } }`, "", nil)
	if got, _ := json.Marshal(out); !strings.Contains(string(got), `"code":"FEATURE_DISABLED"`) || out["data"] != nil {
		t.Errorf("disabled answer = %s", got)
	}
}

func TestDanglingReference(t *testing.T) {
	s := roundTrip(t)
	s.Lineage.Sheets[0].Tables = append(s.Lineage.Sheets[0].Tables, "t-nope")
	code, out := post(t, New(s, Config{}), `{ workbooks { name } }`, "", nil)
	got, _ := json.Marshal(out)
	if code != 500 || !strings.Contains(string(got), `site lineage refers to unknown objects: table \"t-nope\"`) {
		t.Errorf("HTTP %d %s; want 500 naming the unknown table", code, got)
	}
}

// TestColumns: a table's columns (declared, and one that exists only
// because a sheet uses it), each column's table and the sheets and
// dashboards that use it, a sheet's upstream columns, and a hidden table's
// columns obfuscated.
func TestColumns(t *testing.T) {
	s := roundTrip(t)
	h := New(s, Config{})
	col := func(table, name string) string { return GraphID("column", table+"."+name) }
	cases := []struct {
		name, query, want string
	}{
		{
			name:  "declared columns in order, with stable ids and luids, and the sheets and dashboards using them",
			query: `{ databaseTables(filter: {name: "orders"}) { columns { id luid name remoteType table { __typename id } downstreamSheets { name } downstreamDashboards { name } } } }`,
			want: `{"data":{"databaseTables":[{"columns":[` +
				`{"id":"` + col("t-orders", "id") + `","luid":"` + site.LUID("column", "t-orders.id") + `","name":"id","remoteType":"WSTR","table":{"__typename":"DatabaseTable","id":"` + GraphID("table", "t-orders") + `"},"downstreamSheets":[{"name":"Hidden Detail"}],"downstreamDashboards":[{"name":"Overview"}]},` +
				`{"id":"` + col("t-orders", "amount") + `","luid":"` + site.LUID("column", "t-orders.amount") + `","name":"amount","remoteType":"WSTR","table":{"__typename":"DatabaseTable","id":"` + GraphID("table", "t-orders") + `"},"downstreamSheets":[{"name":"Orders"}],"downstreamDashboards":[{"name":"Overview"}]}]}]}}`,
		},
		{
			name:  "a column only a sheet names exists in its table",
			query: `{ databaseTables(filter: {name: "customers"}) { columnsConnection(first: 5) { totalCount nodes { name downstreamSheets { name } } } } }`,
			want:  `{"data":{"databaseTables":[{"columnsConnection":{"totalCount":1,"nodes":[{"name":"segment","downstreamSheets":[{"name":"Customers"}]}]}}]}}`,
		},
		{
			name:  "sheet upstream columns, filtered by name",
			query: `{ sheets(filter: {name: "Pay"}) { all: upstreamColumns { name table { ... on DatabaseTable { fullName } } } none: upstreamColumns(filter: {name: "grade"}) { name } } }`,
			want:  `{"data":{"sheets":[{"all":[{"name":"salary","table":{"fullName":"[hr].[salaries]"}}],"none":[]}]}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, out := post(t, h, tc.query, "", nil)
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatalf("bad want: %v", err)
			}
			if d := cmp.Diff(want, out); d != "" {
				got, _ := json.Marshal(out)
				t.Errorf("(-want +got):\n%s\ngot: %s", d, got)
			}
		})
	}

	t.Run("columns of a hidden table are obfuscated", func(t *testing.T) {
		s := roundTrip(t)
		s.Lineage.Tables[3].Hidden = true // t-salaries
		_, out := post(t, New(s, Config{}), `{ sheets(filter: {name: "Pay"}) { upstreamColumns { id luid name } } }`, "", nil)
		want := `{"data":{"sheets":[{"upstreamColumns":[{"id":"` + col("t-salaries", "salary") + `","luid":"` + site.LUID("column", "t-salaries.salary") + `","name":null}]}]}}`
		if got, _ := json.Marshal(out); string(got) != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
	})
}

package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest/metadatasim"
)

func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// opByName finds an operation of operations() by its name.
func opByName(name string) operation {
	for _, op := range operations() {
		if op.name == name {
			return op
		}
	}
	panic("no operation " + name)
}

// carries reports whether a request body asks for pages of the operation:
// a request can carry pages of several operations, each an aliased root
// connection (the sizing probe aside).
func carries(body []byte, name string) bool {
	var req struct {
		Query         string `json:"query"`
		OperationName string `json:"operationName"`
	}
	_ = json.Unmarshal(body, &req)
	return req.OperationName != probeName && strings.Contains(req.Query, opByName(name).root+"(")
}

// ownAlias reports whether a response key is a page (not a seam check) of
// the operation.
func ownAlias(key, name string) bool {
	return strings.HasPrefix(key, opByName(name).alias()+"_") && !strings.HasSuffix(key, "_seam") && !strings.HasSuffix(key, "_check")
}

// onOp counts the requests carrying pages of one operation and calls f
// with that count.
func onOp(op string, f func(k int, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool) fault {
	var mu sync.Mutex
	k := 0
	return func(_ int, _ string, body []byte, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
		if !carries(body, op) {
			return false
		}
		mu.Lock()
		k++
		n := k
		mu.Unlock()
		return f(n, w, next)
	}
}

// rewrite passes the request to the simulator and edits the JSON answer's
// pages of the operation.
func rewrite(w http.ResponseWriter, next func() *httptest.ResponseRecorder, op string, edit func(conn map[string]any)) bool {
	rec := next()
	var resp map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		panic(err)
	}
	for k, conn := range resp["data"].(map[string]any) {
		if ownAlias(k, op) {
			edit(conn.(map[string]any))
		}
	}
	b, _ := json.Marshal(resp)
	writeRaw(w, rec.Code, string(b))
	return true
}

// TestFaults: every bad answer ends the walk it hits with a clear error
// naming the operation, leaves lineage incomplete, and the run ends (run
// fails the test if Extract is still going after 30 s).
func TestFaults(t *testing.T) {
	const op = "TabauditSheetLineage"
	var stuckCursor string
	var stuckMu sync.Mutex
	cases := []struct {
		name     string
		fault    fault
		opts     Options
		wantErr  string // regexp; "" = no error
		wantCode string // failure code; "" = no failure
		complete bool
		wantNote string
		minReqs  int
		failures int // with wantCode; 0 means 1
	}{
		{
			name: "GraphQL error",
			fault: onOp(op, func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				writeRaw(w, 200, `{"data":null,"errors":[{"message":"Invalid cursor","extensions":{"severity":"ERROR","code":"INVALID_ARGUMENT","properties":{}}}]}`)
				return true
			}),
			wantErr: `TabauditSheetLineage: page at offset 0 .*INVALID_ARGUMENT: Invalid cursor`, wantCode: "INVALID_ARGUMENT",
		},
		{
			name: "GraphQL error without extensions",
			fault: onOp(op, func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				writeRaw(w, 200, `{"errors":[{"message":"Validation error of type FieldUndefined: Field 'luid' in type 'Sheet' is undefined","extensions":null}]}`)
				return true
			}),
			wantErr: `TabauditSheetLineage.*FieldUndefined`, wantCode: "GRAPHQL_ERROR",
		},
		{
			name: "401 mid-pagination",
			opts: Options{PageSize: 1},
			fault: onOp(op, func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				if k < 2 {
					return false
				}
				writeRaw(w, 401, `{"timestamp":1,"status":401,"error":"Unauthorized","path":"/relationship-service-war/graphql"}`)
				return true
			}),
			wantErr: `TabauditSheetLineage: page at offset [1-9]\d* \(page size \d+\): HTTP 401 Unauthorized`, wantCode: "HTTP 401",
		},
		{
			name: "invalid JSON",
			fault: onOp(op, func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				writeRaw(w, 200, `{"data":{"sheetsConnection":{"nodes":[{"id":`)
				return true
			}),
			wantErr: `TabauditSheetLineage.*not the expected JSON`, wantCode: "INVALID_RESPONSE",
		},
		{
			name: "HTML error page",
			fault: onOp(op, func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				_, _ = w.Write([]byte("<html><body>" + strings.Repeat("Bad Gateway ", 100) + "</body></html>"))
				return true
			}),
			wantErr: `TabauditSheetLineage.*HTTP 502 Bad Gateway`, wantCode: "HTTP 502",
		},
		{
			name: "cursor does not advance",
			opts: Options{PageSize: 1},
			fault: onOp(op, func(k int, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
				return rewrite(w, next, op, func(conn map[string]any) {
					pi := conn["pageInfo"].(map[string]any)
					stuckMu.Lock()
					defer stuckMu.Unlock()
					if stuckCursor == "" {
						stuckCursor = pi["endCursor"].(string)
					}
					pi["endCursor"], pi["hasNextPage"] = stuckCursor, true
				})
			}),
			wantErr: `TabauditSheetLineage: cursor does not advance`, wantCode: "CURSOR_STUCK",
		},
		{
			name: "empty page that claims more",
			fault: onOp(op, func(k int, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
				return rewrite(w, next, op, func(conn map[string]any) {
					conn["nodes"] = []any{}
					conn["pageInfo"].(map[string]any)["hasNextPage"] = true
				})
			}),
			wantErr: `TabauditSheetLineage: empty page`, wantCode: "EMPTY_PAGE",
		},
		{
			name: "node limit at every page size",
			fault: onOp(op, func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				writeRaw(w, 200, `{"data":{"sheetsConnection":{"totalCount":5,"pageInfo":{"hasNextPage":true,"endCursor":null},"nodes":[null]}},"errors":[{"message":"Showing partial results. The request exceeded the 20000 node limit.","extensions":{"severity":"WARNING","code":"NODE_LIMIT_EXCEEDED","properties":{}}}]}`)
				return true
			}),
			// Offset paging moves past each object: every sheet is recorded
			// as over the limit on its own, and the walk ends.
			wantCode: "NODE_LIMIT_EXCEEDED", failures: 5,
		},
		{
			name: "rate limited twice, then served",
			opts: Options{RateBackoff: time.Millisecond},
			fault: onOp(op, func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				if k > 2 {
					return false
				}
				writeRaw(w, 200, `{"errors":[{"message":"Rate exceeded","extensions":{"severity":"ERROR","code":"RATE_EXCEEDED","properties":{}}}]}`)
				return true
			}),
			complete: true, minReqs: 4, // the probe, then the first request three times
		},
		{
			name: "rate limited for ever",
			opts: Options{RateBackoff: time.Millisecond, RateRetries: 3},
			fault: onOp(op, func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
				writeRaw(w, 200, `{"errors":[{"message":"Rate exceeded","extensions":{"severity":"ERROR","code":"RATE_EXCEEDED","properties":{}}}]}`)
				return true
			}),
			wantErr: `TabauditSheetLineage.*rate limit still exceeded after 3 retries`, wantCode: "RATE_EXCEEDED",
		},
		{
			name: "time limit warning, then smaller page",
			fault: onOp(op, func(k int, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
				if k > 1 {
					return false
				}
				writeRaw(w, 200, `{"data":{"sheetsConnection":{"totalCount":5,"pageInfo":{"hasNextPage":false,"endCursor":null},"nodes":[]}},"errors":[{"message":"Reached time limit of PT5S for query execution.","extensions":{"severity":"WARNING","code":"TIME_LIMIT_EXCEEDED"}}]}`)
				return true
			}),
			complete: true,
		},
		{
			name: "30 s timeout error, then smaller page",
			fault: onOp(op, func(k int, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
				if k > 1 {
					return false
				}
				writeRaw(w, 200, `{"data":null,"errors":[{"message":"Execution canceled because timeout of 30000 millis was reached","extensions":null}]}`)
				return true
			}),
			complete: true,
		},
		{
			name: "slow request over RequestTimeout, then smaller page",
			opts: Options{RequestTimeout: 300 * time.Millisecond},
			fault: onOp(op, func(k int, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
				if k == 1 {
					time.Sleep(time.Second)
				}
				return false
			}),
			complete: true,
		},
		{
			name: "backfill warning",
			fault: onOp(op, func(k int, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
				rec := next()
				b := strings.Replace(rec.Body.String(), `}}}`, `}}},"errors":[{"message":"Backfill running","extensions":{"severity":"WARNING","code":"BACKFILL_RUNNING"}}]`, 1)
				if !strings.HasSuffix(strings.TrimSpace(b), "]}") {
					b = strings.TrimSpace(rec.Body.String())
					b = b[:len(b)-1] + `,"errors":[{"message":"Backfill running","extensions":{"severity":"WARNING","code":"BACKFILL_RUNNING"}}]}`
				}
				writeRaw(w, 200, b)
				return true
			}),
			wantNote: "TabauditSheetLineage: server warning BACKFILL_RUNNING",
		},
	}
	s := loadSite(t, "roundtrip.yaml")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sm := newSim(t, s, metadatasim.Config{}, 0, tc.fault)
			r, st, err := run(t, sm.URL, tc.opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Extract: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Extract succeeded; want error matching %q", tc.wantErr)
			case tc.wantErr != "" && !regexp.MustCompile(tc.wantErr).MatchString(err.Error()):
				t.Fatalf("error %q does not match %q", err, tc.wantErr)
			}
			if st.Complete != tc.complete {
				t.Errorf("Complete = %v; want %v (notes %v)", st.Complete, tc.complete, st.Notes)
			}
			if tc.wantCode == "" && len(st.Failures) > 0 {
				t.Errorf("Failures = %v; want none", st.Failures)
			}
			if tc.wantCode != "" {
				n := max(tc.failures, 1)
				ok := len(st.Failures) == n
				for _, f := range st.Failures {
					ok = ok && f.Code == tc.wantCode && f.Operation == op
				}
				if !ok {
					t.Errorf("Failures = %+v; want %d %s failure(s) of %s", st.Failures, n, tc.wantCode, op)
				}
			}
			if tc.wantNote != "" && !strings.Contains(strings.Join(st.Notes, "\n"), tc.wantNote) {
				t.Errorf("Notes = %q; want one containing %q", st.Notes, tc.wantNote)
			}
			if st.Requests < tc.minReqs {
				t.Errorf("Requests = %d; want ≥ %d", st.Requests, tc.minReqs)
			}
			// The other walks still delivered: the workbooks are there.
			if !strings.Contains(render(r, namer(s)), "workbook:wb-sales\tluid:workbook:wb-sales") {
				t.Errorf("workbook rows missing after a failure in %s", op)
			}
			if strings.Contains(err2s(err), testPATSecret) || strings.Contains(strings.Join(st.Notes, " "), testPATSecret) {
				t.Errorf("secret leaked into the error or notes")
			}
		})
	}
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNotAvailable(t *testing.T) {
	s := loadSite(t, "roundtrip.yaml")
	notFound := func(_ int, _ string, _ []byte, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
		writeRaw(w, 404, `{"error":"Not Found"}`)
		return true
	}
	for _, tc := range []struct {
		name  string
		cfg   metadatasim.Config
		fault fault
		note  string
	}{
		{"404", metadatasim.Config{}, notFound, "Metadata API not available: the endpoint answered HTTP 404"},
		{"FEATURE_DISABLED", metadatasim.Config{Disabled: true}, nil, "Metadata API not available: FEATURE_DISABLED: The Metadata API is disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, st, err := run(t, newSim(t, s, tc.cfg, 0, tc.fault).URL, Options{})
			if err != nil {
				t.Fatalf("Extract: %v; want nil error for a disabled API", err)
			}
			if !st.NotAvailable || st.Complete || st.Requests != 1 || len(r.tables) != 0 {
				t.Errorf("NotAvailable=%v Complete=%v Requests=%d rows=%d; want true, false, 1, 0", st.NotAvailable, st.Complete, st.Requests, len(r.tables))
			}
			if len(st.Notes) != 1 || !strings.HasPrefix(st.Notes[0], tc.note) {
				t.Errorf("Notes = %q; want %q…", st.Notes, tc.note)
			}
		})
	}
}

func TestObfuscatedTable(t *testing.T) {
	s := loadSite(t, "roundtrip.yaml")
	for i := range s.Lineage.Tables {
		if s.Lineage.Tables[i].ID == "t-salaries" {
			s.Lineage.Tables[i].Hidden = true
		}
	}
	r, st, err := run(t, newSim(t, s, metadatasim.Config{}, 0, nil).URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Obfuscated != 1 || st.Complete {
		t.Errorf("Obfuscated = %d, Complete = %v; want 1, false", st.Obfuscated, st.Complete)
	}
	if !strings.Contains(strings.Join(st.Notes, "\n"), "1 table(s) returned obfuscated (null name)") {
		t.Errorf("Notes = %q; want the obfuscated count", st.Notes)
	}
	out := render(r, namer(s))
	want := "table:t-salaries\tluid:table:t-salaries\ttable\t∅\thr-snow\t∅\t∅\tsnowflake\t∅\t∅\t∅\t∅\ttrue\t"
	if !strings.Contains(out, want) {
		t.Errorf("obfuscated table row missing; want a line starting %q in\n%s", want, out)
	}
	// Its lineage is kept: the edges still name it.
	if !strings.Contains(out, "table:t-salaries\tsheet:sh-pay\ttable>sheet") {
		t.Errorf("edges of the obfuscated table were lost")
	}
	// Its columns are obfuscated with it, counted, and keep their edges.
	if st.ObfuscatedColumns != 3 || !strings.Contains(strings.Join(st.Notes, "\n"), "3 column(s) returned obfuscated (null name)") {
		t.Errorf("ObfuscatedColumns = %d, Notes = %q; want 3 and the count", st.ObfuscatedColumns, st.Notes)
	}
	for _, want := range []string{
		"column:t-salaries.salary\tluid:column:t-salaries.salary\tcolumn\t∅\t∅\t∅\t∅\t∅\t∅\t∅\t∅\t∅\ttrue\t∅",
		"table:t-salaries\tcolumn:t-salaries.salary\ttable>column",
		"column:t-salaries.salary\tsheet:sh-pay\tcolumn>sheet",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing line %q in\n%s", want, out)
		}
	}
}

// TestColumnTables: a sheet's column whose table is a custom SQL query hangs
// off that query; a column returned without its table (and not listed under
// any table) is reported and makes lineage incomplete, its column>sheet edge
// still kept.
func TestColumnTables(t *testing.T) {
	s := loadSite(t, "roundtrip.yaml")
	salary := metadatasim.GraphID("column", "t-salaries.salary")
	segment := metadatasim.GraphID("column", "t-customers.segment")
	// Both operations' pages may share one request: edit each by alias.
	f := func(_ int, _ string, body []byte, w http.ResponseWriter, next func() *httptest.ResponseRecorder) bool {
		if !carries(body, "TabauditSheetLineage") && !carries(body, "TabauditTables") {
			return false
		}
		rec := next()
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			panic(err)
		}
		for k, conn := range resp["data"].(map[string]any) {
			conn := conn.(map[string]any)
			switch {
			case ownAlias(k, "TabauditSheetLineage"):
				for _, n := range conn["nodes"].([]any) {
					for _, c := range n.(map[string]any)["upstreamColumns"].([]any) {
						c := c.(map[string]any)
						switch c["id"] {
						case salary:
							c["table"] = map[string]any{"__typename": "CustomSQLTable", "id": metadatasim.GraphID("custom_sql", "cq-pay")}
						case segment:
							c["table"] = nil
						}
					}
				}
			case ownAlias(k, "TabauditTables"):
				for _, n := range conn["nodes"].([]any) {
					n := n.(map[string]any)
					if n["id"] == metadatasim.GraphID("table", "t-customers") {
						n["columns"] = []any{}
					}
				}
			}
		}
		b, _ := json.Marshal(resp)
		writeRaw(w, rec.Code, string(b))
		return true
	}
	r, st, err := run(t, newSim(t, s, metadatasim.Config{}, 0, f).URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Complete {
		t.Error("Complete = true; want false")
	}
	if want := "1 column(s) used by sheets but returned without their table (column-level lineage for them is missing): column:t-customers.segment"; !strings.Contains(namer(s)(strings.Join(st.Notes, "\n")), want) {
		t.Errorf("Notes = %q; want %q", st.Notes, want)
	}
	out := render(r, namer(s))
	for _, want := range []string{
		"custom_sql:cq-pay\tcolumn:t-salaries.salary\tcustom_sql>column",
		"table:t-salaries\tcolumn:t-salaries.salary\ttable>column", // from databaseTablesConnection
		"column:t-customers.segment\tsheet:sh-customers\tcolumn>sheet",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing line %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "table:t-customers\tcolumn:t-customers.segment") {
		t.Errorf("segment is tied to t-customers although no answer said so")
	}
}

func TestRESTConsistency(t *testing.T) {
	s := loadSite(t, "roundtrip.yaml")
	rest := map[string]string{}
	for _, it := range s.Items {
		switch it.Type {
		case "workbook", "view", "datasource", "flow", "virtualconnection":
			rest[site.LUID(it.Type, it.ID)] = it.Type
		}
	}
	delete(rest, site.LUID("workbook", "wb-direct"))     // index ahead of REST
	rest[site.LUID("view", "v-just-published")] = "view" // REST ahead of the index
	rest[site.LUID("flow", "pds-sales")] = "flow"        // not a flow in GraphQL
	_, st, err := run(t, newSim(t, s, metadatasim.Config{}, 0, nil).URL, Options{RESTLUIDs: rest})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(st.Notes, "\n")
	for _, want := range []string{
		"1 luid(s) in the Metadata API but not in REST (index ahead of REST, or REST incomplete): workbook:" + site.LUID("workbook", "wb-direct"),
		"luid(s) in REST but not in the Metadata API (index behind: recently published or not yet indexed)",
		"view:" + site.LUID("view", "v-just-published"),
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("Notes lack %q:\n%s", want, notes)
		}
	}
	if !st.Complete {
		t.Errorf("REST/Metadata differences are notes, not incompleteness; Complete = false (%v)", st.Notes)
	}
}

// TestCancel: a cancelled context ends every walk promptly, including one
// sleeping before a RATE_EXCEEDED retry.
func TestCancel(t *testing.T) {
	s := loadSite(t, "roundtrip.yaml")
	sm := newSim(t, s, metadatasim.Config{}, 0, onOp("TabauditSheetLineage", func(k int, w http.ResponseWriter, _ func() *httptest.ResponseRecorder) bool {
		writeRaw(w, 200, `{"errors":[{"message":"Rate exceeded","extensions":{"severity":"ERROR","code":"RATE_EXCEEDED"}}]}`)
		return true
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := Extract(ctx, sm.URL+"/api/metadata/graphql", newDoer(sm.URL, ""), (&rows{}).emit, Options{RateBackoff: time.Hour})
	if !errors.Is(err, context.DeadlineExceeded) || st.Complete {
		t.Errorf("err = %v, Complete = %v; want deadline exceeded, incomplete", err, st.Complete)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Extract took %v after cancellation", d)
	}
}

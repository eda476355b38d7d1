// Package metadatasim serves the Tableau Metadata API (GraphQL) for a
// simulated site: any query valid against spec/metadata-api.graphql (and so
// the lineage operations of spec/metadata-queries.graphql), executed over an
// object graph built once from the site file, with cursor connections,
// totalCount, filters, orderBy, Tableau's node counting and its
// NODE_LIMIT_EXCEEDED warning, and Tableau-style errors for bad queries.
//
// Authentication is the caller's job: the REST simulator mounts the handler
// at POST /api/metadata/graphql behind its X-Tableau-Auth check.
package metadatasim

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/tabaudit/tabaudit/extract/site"
)

// Schema is the SDL the simulator validates and executes against: a copy of
// spec/metadata-api.graphql (extract/metadata holds the client's copy; a
// test keeps the two identical).
//
//go:embed schema.graphql
var Schema string

// DefaultNodeLimit is Tableau's default metadata.query.limits.count.
const DefaultNodeLimit = 20000

// Config tunes the endpoint.
type Config struct {
	// NodeLimit is the number of nodes one query may return before the
	// response is cut and carries a NODE_LIMIT_EXCEEDED warning; 0 means
	// Tableau's default of 20,000.
	NodeLimit int
	// Warnings are codes (BACKFILL_RUNNING, PERMISSIONS_MODE_SWITCHED, ...)
	// added as warnings to every successful response.
	Warnings []string
	// Disabled answers every query with the FEATURE_DISABLED error, as a
	// server whose Metadata API is not enabled does.
	Disabled bool
}

// Server is the GraphQL handler for one site.
type Server struct {
	schema     *ast.Schema
	cfg        Config
	limit      int
	scope      string
	roots      map[string][]*obj // named type (object or interface) → objects sorted by id
	implements map[string]map[string]bool
	connTypes  map[string]bool // types with nodes and pageInfo (not VirtualConnection)
	buildErr   error
}

// New returns the handler for POST /api/metadata/graphql. Authentication is
// checked by the caller (the REST simulator) before the request arrives here.
// The object graph is built once, here; a site whose lineage refers to
// unknown objects yields a handler that answers every request with an
// internal error naming them.
func New(s *site.Site, cfg Config) http.Handler {
	return NewServer(s, cfg)
}

// NewServer is New with the concrete type.
func NewServer(s *site.Site, cfg Config) *Server {
	srv := &Server{cfg: cfg, limit: cfg.NodeLimit, scope: "sites/1", roots: map[string][]*obj{}, implements: map[string]map[string]bool{}, connTypes: map[string]bool{}}
	if srv.limit <= 0 {
		srv.limit = DefaultNodeLimit
	}
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "metadata-api.graphql", Input: Schema})
	if err != nil {
		srv.buildErr = fmt.Errorf("loading the Metadata API schema: %w", err)
		return srv
	}
	srv.schema = schema
	g, err := build(s)
	if err != nil {
		srv.buildErr = err
		return srv
	}
	for name, def := range schema.Types {
		if def.Kind == ast.Object && def.Fields.ForName("nodes") != nil && def.Fields.ForName("pageInfo") != nil {
			srv.connTypes[name] = true
		}
		for _, i := range def.Interfaces {
			if srv.implements[name] == nil {
				srv.implements[name] = map[string]bool{}
			}
			srv.implements[name][i] = true
		}
	}
	for name, def := range schema.Types {
		switch def.Kind {
		case ast.Object:
			srv.roots[name] = g.byType[name]
		case ast.Interface:
			var all []*obj
			for _, impl := range schema.GetPossibleTypes(def) {
				all = append(all, g.byType[impl.Name]...)
			}
			slices.SortFunc(all, func(a, b *obj) int { return strings.Compare(a.id, b.id) })
			srv.roots[name] = all
		}
	}
	return srv
}

// nodeType is the element type of a connection's nodes list.
func (s *Server) nodeType(connType string) string {
	if def := s.schema.Types[connType]; def != nil {
		if f := def.Fields.ForName("nodes"); f != nil {
			return f.Type.Name()
		}
	}
	return strings.TrimSuffix(connType, "Connection")
}

// zero is the value of a schema field the graph does not model: null when
// nullable, otherwise an empty list or the type's zero value.
func (s *Server) zero(t *ast.Type) any {
	if !t.NonNull {
		return nil
	}
	if t.Elem != nil {
		return []any{}
	}
	switch t.NamedType {
	case "String", "ID":
		return ""
	case "Int":
		return 0
	case "Float":
		return 0.0
	case "Boolean":
		return false
	case "DateTime":
		return timeOr(nil)
	}
	if def := s.schema.Types[t.NamedType]; def != nil && def.Kind == ast.Enum && len(def.EnumValues) > 0 {
		return def.EnumValues[0].Name
	}
	return nil
}

type request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req request
	switch {
	case r.Method == http.MethodGet:
		req.Query = r.URL.Query().Get("query")
		req.OperationName = r.URL.Query().Get("operationName")
		if v := r.URL.Query().Get("variables"); v != "" {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(&req.Variables); err != nil {
				writeJSON(w, http.StatusBadRequest, nil, []gqlError{{Message: "Invalid variables: " + err.Error()}})
				return
			}
		}
	case r.Method == http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, nil, []gqlError{{Message: "reading request body: " + err.Error()}})
			return
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/graphql") {
			req.Query = string(body)
			break
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, nil, []gqlError{{Message: "Invalid JSON payload: " + err.Error()}})
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, nil, []gqlError{{Message: "method not allowed"}})
		return
	}
	status, data, errs := s.Execute(req.Query, req.OperationName, req.Variables)
	writeJSON(w, status, data, errs)
}

// Execute runs one GraphQL request and returns the HTTP status, the "data"
// JSON (nil = absent) and the "errors" list.
func (s *Server) Execute(query, operationName string, vars map[string]any) (int, json.RawMessage, []gqlError) {
	if s.buildErr != nil {
		return http.StatusInternalServerError, nil, []gqlError{{Message: "metadata simulator: " + s.buildErr.Error()}}
	}
	if s.cfg.Disabled {
		return http.StatusOK, nil, []gqlError{failure("FEATURE_DISABLED", "The Metadata API is disabled on this server. A server administrator can enable it with 'tsm maintenance metadata-services enable'.", nil)}
	}
	if strings.TrimSpace(query) == "" {
		return http.StatusOK, nil, []gqlError{{Message: "Invalid Syntax : query is empty", Extensions: map[string]any{"classification": "InvalidSyntax"}}}
	}
	doc, err := parser.ParseQuery(&ast.Source{Name: "query", Input: query})
	if err != nil {
		var ge *gqlerror.Error
		msg := err.Error()
		if errors.As(err, &ge) {
			msg = ge.Message
		}
		e := gqlError{Message: "Invalid Syntax : " + msg, Extensions: map[string]any{"classification": "InvalidSyntax"}}
		if ge != nil {
			e.Locations = locations(ge)
		}
		return http.StatusOK, nil, []gqlError{e}
	}
	if errs := validator.Validate(s.schema, doc); len(errs) > 0 {
		out := make([]gqlError, 0, len(errs))
		for _, ge := range errs {
			kind := validationKind(ge.Rule)
			out = append(out, gqlError{
				Message:    fmt.Sprintf("Validation error of type %s: %s", kind, ge.Message),
				Locations:  locations(ge),
				Extensions: map[string]any{"classification": "ValidationError"},
			})
		}
		return http.StatusOK, nil, out
	}
	op := doc.Operations.ForName(operationName)
	if op == nil {
		msg := "Unknown operation named '" + operationName + "'."
		if operationName == "" {
			msg = "Must provide operation name if query contains multiple operations."
		}
		return http.StatusOK, nil, []gqlError{{Message: msg, Extensions: map[string]any{"classification": "ValidationError"}}}
	}
	if op.Operation != ast.Query {
		return http.StatusOK, nil, []gqlError{{Message: "Schema is not configured for " + string(op.Operation) + "s."}}
	}
	coerced, err := validator.VariableValues(s.schema, op, vars)
	if err != nil {
		return http.StatusOK, nil, []gqlError{{Message: "Variable error: " + err.Error(), Extensions: map[string]any{"classification": "ValidationError"}}}
	}
	e := &exec{s: s, vars: coerced, limit: s.limit, cache: map[collectKey][]cfield{}}
	e.object(nil, "Query", []ast.SelectionSet{op.SelectionSet}, nil)
	var errs []gqlError
	if slices.ContainsFunc(e.errs, func(ge gqlError) bool { return len(ge.Path) == 1 }) {
		// Every root field is non-null: an argument error there nulls data.
		return http.StatusOK, json.RawMessage("null"), e.errs
	}
	errs = append(errs, e.errs...)
	if e.clamped {
		errs = append(errs, warning("MAX_PAGE_SIZE_EXCEEDED", fmt.Sprintf("The requested page size exceeds the maximum of %d; %d was used.", maxFirst, maxFirst), map[string]any{"maxPageSize": maxFirst}))
	}
	if e.truncated {
		errs = append(errs, warning("NODE_LIMIT_EXCEEDED",
			fmt.Sprintf("Showing partial results. The request exceeded the %d node limit. Use pagination, additional filtering, or both in the query to adjust results.", s.limit),
			map[string]any{"nodeLimit": s.limit}))
	}
	for _, code := range s.cfg.Warnings {
		errs = append(errs, warning(code, warningText(code), nil))
	}
	return http.StatusOK, e.buf, errs
}

func warningText(code string) string {
	switch code {
	case "BACKFILL_RUNNING":
		return "The Metadata API index is being built (backfill running); results may be incomplete."
	case "PERMISSIONS_MODE_SWITCHED":
		return "The query filtered on attributes the user may not see and was run in FILTER_RESULTS mode."
	case "TIME_LIMIT_EXCEEDED":
		return "Showing partial results. Reached time limit of PT20S for query execution."
	}
	return code
}

// validationKind names a validation failure the way Tableau's GraphQL
// server (graphql-java) does.
func validationKind(rule string) string {
	switch rule {
	case "FieldsOnCorrectType":
		return "FieldUndefined"
	case "KnownArgumentNames":
		return "UnknownArgument"
	case "KnownTypeNames":
		return "UnknownType"
	case "KnownFragmentNames":
		return "UndefinedFragment"
	case "NoUndefinedVariables":
		return "UndefinedVariable"
	case "NoUnusedVariables":
		return "UnusedVariable"
	case "NoUnusedFragments":
		return "UnusedFragment"
	case "ScalarLeafs":
		return "SubSelectionRequired"
	case "ProvidedRequiredArguments":
		return "MissingFieldArgument"
	case "ValuesOfCorrectType", "VariablesInAllowedPosition":
		return "WrongType"
	case "":
		return "InvalidQuery"
	}
	return rule
}

func locations(ge *gqlerror.Error) []location {
	var out []location
	for _, l := range ge.Locations {
		out = append(out, location{Line: l.Line, Column: l.Column})
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, data json.RawMessage, errs []gqlError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	buf := make([]byte, 0, len(data)+256)
	buf = append(buf, '{')
	if data != nil {
		buf = append(buf, `"data":`...)
		buf = append(buf, data...)
	}
	if len(errs) > 0 {
		if data != nil {
			buf = append(buf, ',')
		}
		b, _ := json.Marshal(errs)
		buf = append(buf, `"errors":`...)
		buf = append(buf, b...)
	}
	buf = append(buf, '}', '\n')
	_, _ = w.Write(buf)
}

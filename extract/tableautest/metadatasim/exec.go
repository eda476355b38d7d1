package metadatasim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
)

// Tableau's page-size rules (spec/metadata-api.md §4).
const (
	defaultFirst = 100
	maxFirst     = 1000
)

// gqlError is one entry of the response's "errors" list, in the envelope the
// Metadata API uses (spec/metadata-api.md §5).
type gqlError struct {
	Message    string         `json:"message"`
	Locations  []location     `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func warning(code, msg string, props map[string]any) gqlError {
	if props == nil {
		props = map[string]any{}
	}
	return gqlError{Message: msg, Extensions: map[string]any{"severity": "WARNING", "code": code, "properties": props}}
}

func failure(code, msg string, path []any) gqlError {
	return gqlError{Message: msg, Path: path, Extensions: map[string]any{"severity": "ERROR", "code": code, "properties": map[string]any{}}}
}

// argError aborts the evaluation of one field (bad cursor, bad page size).
type argError struct{ code, msg string }

func (e *argError) Error() string { return e.msg }

// cfield is one response key after field collection: the merged
// occurrences of a field under one alias.
type cfield struct {
	alias string
	f     *ast.Field
	sels  []ast.SelectionSet
}

type collectKey struct {
	p   *ast.Selection
	n   int
	typ string
}

// exec runs one operation and writes the JSON "data" value into buf.
type exec struct {
	s         *Server
	vars      map[string]any
	buf       []byte
	nodes     int
	limit     int
	truncated bool
	clamped   bool
	errs      []gqlError
	cache     map[collectKey][]cfield
}

// countable reports whether objects of the type count against the node
// limit: every returned object does, except the connection wrappers and
// PageInfo (spec/metadata-api.md §7 cost model).
func (e *exec) countable(typ string) bool {
	return typ != "PageInfo" && typ != "Query" && !e.s.connTypes[typ]
}

func (e *exec) matches(concrete, cond string) bool {
	return cond == "" || cond == concrete || e.s.implements[concrete][cond]
}

func (e *exec) skipped(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		v, _ := d.ArgumentMap(e.vars)["if"].(bool)
		if d.Name == "skip" && v || d.Name == "include" && !v {
			return true
		}
	}
	return false
}

func (e *exec) collect(typ string, sels []ast.SelectionSet) []cfield {
	var key collectKey
	if len(sels) == 1 && len(sels[0]) > 0 {
		key = collectKey{p: &sels[0][0], n: len(sels[0]), typ: typ}
		if c, ok := e.cache[key]; ok {
			return c
		}
	}
	var out []cfield
	idx := map[string]int{}
	visited := map[string]bool{}
	var walk func(set ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch x := sel.(type) {
			case *ast.Field:
				if e.skipped(x.Directives) {
					continue
				}
				alias := x.Alias
				if alias == "" {
					alias = x.Name
				}
				if i, ok := idx[alias]; ok {
					out[i].sels = append(out[i].sels, x.SelectionSet)
					continue
				}
				idx[alias] = len(out)
				out = append(out, cfield{alias: alias, f: x, sels: []ast.SelectionSet{x.SelectionSet}})
			case *ast.InlineFragment:
				if !e.skipped(x.Directives) && e.matches(typ, x.TypeCondition) {
					walk(x.SelectionSet)
				}
			case *ast.FragmentSpread:
				if e.skipped(x.Directives) || visited[x.Name] || x.Definition == nil {
					continue
				}
				visited[x.Name] = true
				if e.matches(typ, x.Definition.TypeCondition) {
					walk(x.Definition.SelectionSet)
				}
			}
		}
	}
	for _, set := range sels {
		walk(set)
	}
	if key.p != nil {
		e.cache[key] = out
	}
	return out
}

// object writes o (of concrete type typ) with the selection, or null when
// the node limit is reached.
func (e *exec) object(o *obj, typ string, sels []ast.SelectionSet, path []any) {
	if e.countable(typ) {
		if e.nodes >= e.limit {
			// Tableau cuts the result: objects past the limit come back
			// null and the response carries NODE_LIMIT_EXCEEDED.
			e.truncated = true
			e.buf = append(e.buf, "null"...)
			return
		}
		e.nodes++
	}
	e.buf = append(e.buf, '{')
	for i, cf := range e.collect(typ, sels) {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, cf.alias)
		e.buf = append(e.buf, ':')
		e.field(o, typ, cf, path)
	}
	e.buf = append(e.buf, '}')
}

// field writes the value of one field of o.
func (e *exec) field(o *obj, typ string, cf cfield, path []any) {
	name := cf.f.Name
	if name == "__typename" {
		e.buf = appendString(e.buf, typ)
		return
	}
	def := cf.f.Definition
	if def == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	ft := def.Type
	named := e.s.schema.Types[ft.Name()]
	args := cf.f.ArgumentMap(e.vars)

	// Connections: root ones page over every object of the node type,
	// nested ones over the list field they are named after.
	if named != nil && e.s.connTypes[named.Name] {
		var list []*obj
		if o == nil {
			list = e.s.roots[e.s.nodeType(named.Name)]
		} else if l, ok := o.many[strings.TrimSuffix(name, "Connection")]; ok {
			list = l
		} else if ft.NonNull {
			list = nil
		} else {
			e.buf = append(e.buf, "null"...)
			return
		}
		if err := e.connection(list, named.Name, args, cf.sels, append(path, cf.alias)); err != nil {
			e.buf = append(e.buf, "null"...)
			e.errs = append(e.errs, failure(err.code, err.msg, append(slices.Clone(path), cf.alias)))
		}
		return
	}

	switch {
	case named != nil && (named.Kind == ast.Object || named.Kind == ast.Interface):
		if ft.Elem != nil {
			var list []*obj
			if o == nil {
				list = e.s.roots[named.Name]
			} else {
				list = o.many[name]
			}
			list = e.filterSort(list, args)
			e.buf = append(e.buf, '[')
			for i, x := range list {
				if i > 0 {
					e.buf = append(e.buf, ',')
				}
				e.object(x, x.typ, cf.sels, path)
			}
			e.buf = append(e.buf, ']')
			return
		}
		var x *obj
		if o != nil {
			x = o.one[name]
		}
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.object(x, x.typ, cf.sels, path)
	default:
		var v any
		ok := false
		if o != nil {
			v, ok = o.scalars[name]
		}
		if !ok {
			v = e.s.zero(ft)
		}
		e.buf = appendValue(e.buf, v)
	}
}

// connection writes a connection object: filter, order, then one page.
func (e *exec) connection(all []*obj, connType string, args map[string]any, sels []ast.SelectionSet, path []any) *argError {
	nodeType := e.s.nodeType(connType)
	list := e.filterSort(all, args)
	first := defaultFirst
	if v, ok := args["first"]; ok && v != nil {
		n, ok := toInt(v)
		if !ok || n < 0 {
			return &argError{"INVALID_ARGUMENT", fmt.Sprintf("Invalid argument: first must be a non-negative integer, got %v", v)}
		}
		first = n
	}
	if first > maxFirst {
		first = maxFirst
		e.clamped = true
	}
	after, _ := args["after"].(string)
	offsetV, hasOffset := args["offset"]
	hasOffset = hasOffset && offsetV != nil
	if after != "" && hasOffset {
		return &argError{"INVALID_ARGUMENT", "Invalid argument: 'after' and 'offset' cannot be used together"}
	}
	start := 0
	switch {
	case hasOffset:
		n, ok := toInt(offsetV)
		if !ok || n < 0 {
			return &argError{"INVALID_ARGUMENT", fmt.Sprintf("Invalid argument: offset must be a non-negative integer, got %v", offsetV)}
		}
		start = min(n, len(list))
	case after != "":
		lastID, err := e.s.decodeCursor(after, nodeType)
		if err != nil {
			return &argError{"INVALID_ARGUMENT", fmt.Sprintf("Invalid argument: cursor %q: %v", after, err)}
		}
		if byIDAsc(args) {
			start = sort.Search(len(list), func(i int) bool { return list[i].id > lastID })
		} else {
			i := slices.IndexFunc(list, func(x *obj) bool { return x.id == lastID })
			if i < 0 {
				return &argError{"INVALID_ARGUMENT", fmt.Sprintf("Invalid argument: cursor %q does not name an object of this result", after)}
			}
			start = i + 1
		}
	}
	end := min(start+first, len(list))
	page := list[start:end]

	e.buf = append(e.buf, '{')
	for i, cf := range e.collect(connType, sels) {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, cf.alias)
		e.buf = append(e.buf, ':')
		switch cf.f.Name {
		case "__typename":
			e.buf = appendString(e.buf, connType)
		case "totalCount":
			e.buf = strconv.AppendInt(e.buf, int64(len(list)), 10)
		case "pageInfo":
			e.buf = append(e.buf, '{')
			for j, pf := range e.collect("PageInfo", cf.sels) {
				if j > 0 {
					e.buf = append(e.buf, ',')
				}
				e.buf = appendString(e.buf, pf.alias)
				e.buf = append(e.buf, ':')
				switch pf.f.Name {
				case "hasNextPage":
					e.buf = strconv.AppendBool(e.buf, end < len(list))
				case "endCursor":
					if len(page) == 0 {
						e.buf = append(e.buf, "null"...)
					} else {
						e.buf = appendString(e.buf, e.s.encodeCursor(nodeType, page[len(page)-1].id))
					}
				case "__typename":
					e.buf = appendString(e.buf, "PageInfo")
				default:
					e.buf = append(e.buf, "null"...)
				}
			}
			e.buf = append(e.buf, '}')
		case "nodes":
			e.buf = append(e.buf, '[')
			for j, x := range page {
				if j > 0 {
					e.buf = append(e.buf, ',')
				}
				e.object(x, x.typ, cf.sels, path)
			}
			e.buf = append(e.buf, ']')
		default:
			e.buf = append(e.buf, "null"...)
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func byIDAsc(args map[string]any) bool {
	ob, _ := args["orderBy"].(map[string]any)
	if ob == nil {
		return true
	}
	f, _ := ob["field"].(string)
	d, _ := ob["direction"].(string)
	return (f == "" || f == "ID") && d != "DESC"
}

// filterSort applies filter, permissionMode and orderBy. The input is
// sorted by id and never modified.
func (e *exec) filterSort(list []*obj, args map[string]any) []*obj {
	filter, _ := args["filter"].(map[string]any)
	pm, _ := args["permissionMode"].(string)
	if len(filter) > 0 || pm == "FILTER_RESULTS" {
		var out []*obj
		for _, o := range list {
			if pm == "FILTER_RESULTS" && o.scalars["hidden"] == true {
				continue
			}
			if matchFilter(o, filter) {
				out = append(out, o)
			}
		}
		list = out
	}
	if byIDAsc(args) {
		return list
	}
	ob := args["orderBy"].(map[string]any)
	attr := enumToField(fmt.Sprint(ob["field"]))
	desc := ob["direction"] == "DESC"
	out := slices.Clone(list)
	slices.SortStableFunc(out, func(a, b *obj) int {
		c := compareValues(a.field(attr), b.field(attr))
		if c == 0 {
			c = strings.Compare(a.id, b.id)
		}
		if desc {
			return -c
		}
		return c
	})
	return out
}

// matchFilter ANDs the filter attributes: `x: v` is equality, `xWithin:
// [..]` matches any, `text` is a case-insensitive word-prefix search on
// the name.
func matchFilter(o *obj, filter map[string]any) bool {
	for k, want := range filter {
		if want == nil {
			continue
		}
		switch {
		case k == "text":
			name, _ := o.field("name").(string)
			q := strings.ToLower(fmt.Sprint(want))
			hit := false
			for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == ' ' || r == '_' || r == '.' || r == '-' }) {
				if strings.HasPrefix(w, q) {
					hit = true
				}
			}
			if !hit {
				return false
			}
		case strings.HasSuffix(k, "Within"):
			l, _ := want.([]any)
			got := o.field(strings.TrimSuffix(k, "Within"))
			if !slices.ContainsFunc(l, func(v any) bool { return equalValues(got, v) }) {
				return false
			}
		default:
			if !equalValues(o.field(k), want) {
				return false
			}
		}
	}
	return true
}

func equalValues(got, want any) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	switch g := got.(type) {
	case bool:
		w, ok := want.(bool)
		return ok && w == g
	case int:
		w, ok := toInt(want)
		return ok && w == g
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1 // nulls last
	case b == nil:
		return -1
	}
	if x, ok := a.(int); ok {
		if y, ok := b.(int); ok {
			return x - y
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// enumToField maps an order-field enum (PROJECT_NAME) to the attribute it
// sorts on (projectName).
func enumToField(s string) string {
	parts := strings.Split(strings.ToLower(s), "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		if n == math.Trunc(n) {
			return int(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// cursor is the observed shape of Tableau's opaque cursors: base64 JSON
// naming the object type, the site and the last id.
type cursor struct {
	Type           string `json:"type"`
	Scope          string `json:"scope"`
	SortOrderValue struct {
		LastID string `json:"lastId"`
	} `json:"sortOrderValue"`
}

func (s *Server) encodeCursor(typ, lastID string) string {
	var c cursor
	c.Type, c.Scope, c.SortOrderValue.LastID = typ, s.scope, lastID
	b, _ := json.Marshal(c)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Server) decodeCursor(raw, typ string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return "", fmt.Errorf("not a cursor")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.SortOrderValue.LastID == "" {
		return "", fmt.Errorf("not a cursor")
	}
	if c.Type != typ || c.Scope != s.scope {
		return "", fmt.Errorf("cursor belongs to %s in %s, not %s in %s", c.Type, c.Scope, typ, s.scope)
	}
	return c.SortOrderValue.LastID, nil
}

func appendValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...)
	case string:
		return appendString(buf, x)
	case bool:
		return strconv.AppendBool(buf, x)
	case int:
		return strconv.AppendInt(buf, int64(x), 10)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case float64:
		return strconv.AppendFloat(buf, x, 'g', -1, 64)
	}
	b, _ := json.Marshal(v)
	return append(buf, b...)
}

func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

package tableautest

import (
	"slices"
	"strconv"
	"strings"
)

// listParams are the query parameters of a list request.
type listParams struct {
	pageSize   int
	pageNumber int
	filters    []filterExpr
	sorts      []sortKey
	fields     map[string]bool // nil: _default_
}

type filterExpr struct {
	field, op string
	values    []string
}

type sortKey struct {
	field string
	desc  bool
}

func (lp listParams) all() bool { return lp.fields["_all_"] }

// field reports whether an attribute that Tableau sends only with
// fields=_all_ (or when named) is wanted.
func (lp listParams) field(name string) bool {
	return lp.fields != nil && (lp.fields["_all_"] || lp.fields[name])
}

// parseList reads pageSize, pageNumber, filter, sort and fields with
// Tableau's error codes (spec/tableau-rest.md §3.2, §4).
func parseList(q *request) (listParams, *apiErr) {
	v := q.r.URL.Query()
	lp := listParams{pageSize: 100, pageNumber: 1}
	if s := v.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return lp, errf(400, "400007", "Invalid page size", "The page size '%s' is not a valid page size. It must be a positive integer.", s)
		}
		if n > 1000 {
			return lp, errf(403, "403014", "Page size limit exceeded", "The page size '%d' exceeds the maximum page size of 1000.", n)
		}
		lp.pageSize = n
	}
	if s := v.Get("pageNumber"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return lp, errf(400, "400006", "Invalid page number", "The page number '%s' is not a valid page number. It must be a positive integer.", s)
		}
		lp.pageNumber = n
	}
	if s := v.Get("filter"); s != "" {
		for _, expr := range splitOutsideBrackets(s) {
			parts := strings.SplitN(expr, ":", 3)
			if len(parts) != 3 || parts[0] == "" {
				return lp, errf(400, "400000", "Bad Request", "Invalid filter expression '%s'.", expr)
			}
			f := filterExpr{field: parts[0], op: parts[1]}
			switch f.op {
			case "eq", "cieq", "gt", "gte", "lt", "lte", "has":
				f.values = []string{parts[2]}
			case "in":
				val := parts[2]
				if !strings.HasPrefix(val, "[") || !strings.HasSuffix(val, "]") {
					return lp, errf(400, "400000", "Bad Request", "Invalid filter expression '%s': in takes [a,b].", expr)
				}
				f.values = strings.Split(val[1:len(val)-1], ",")
			default:
				return lp, errf(400, "400000", "Bad Request", "Invalid filter operator '%s' in '%s'.", f.op, expr)
			}
			lp.filters = append(lp.filters, f)
		}
	}
	if s := v.Get("sort"); s != "" {
		for _, expr := range strings.Split(s, ",") {
			field, dir, _ := strings.Cut(expr, ":")
			if field == "" || (dir != "" && dir != "asc" && dir != "desc") {
				return lp, errf(400, "400000", "Bad Request", "Invalid sort expression '%s'.", expr)
			}
			lp.sorts = append(lp.sorts, sortKey{field: field, desc: dir == "desc"})
		}
	}
	if s := v.Get("fields"); s != "" {
		lp.fields = map[string]bool{}
		for _, f := range strings.Split(s, ",") {
			lp.fields[f] = true
		}
	}
	return lp, nil
}

func splitOutsideBrackets(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// accessor maps each filterable/sortable field of an endpoint to the values
// a record has for it (several for tags).
type accessor[T any] map[string]func(rec T) []string

// selectList filters and sorts; all is never modified.
func selectList[T any](all []T, lp listParams, get accessor[T]) ([]T, *apiErr) {
	if len(lp.filters) == 0 && len(lp.sorts) == 0 {
		return all, nil
	}
	for _, f := range lp.filters {
		if get[f.field] == nil {
			return nil, errf(400, "400000", "Bad Request", "Invalid filter field '%s'.", f.field)
		}
	}
	for _, k := range lp.sorts {
		if get[k.field] == nil {
			return nil, errf(400, "400000", "Bad Request", "Invalid sort field '%s'.", k.field)
		}
	}
	out := all
	if len(lp.filters) > 0 {
		out = make([]T, 0, len(all))
		for _, rec := range all {
			if matchAll(rec, lp.filters, get) {
				out = append(out, rec)
			}
		}
	}
	if len(lp.sorts) > 0 {
		if len(lp.filters) == 0 {
			out = slices.Clone(all)
		}
		slices.SortStableFunc(out, func(a, b T) int {
			for _, k := range lp.sorts {
				c := compareVals(first(get[k.field](a)), first(get[k.field](b)))
				if k.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	return out, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func matchAll[T any](rec T, fs []filterExpr, get accessor[T]) bool {
	for _, f := range fs {
		if !matchOne(get[f.field](rec), f) {
			return false
		}
	}
	return true
}

func matchOne(vals []string, f filterExpr) bool {
	for _, v := range vals {
		for _, want := range f.values {
			switch f.op {
			case "eq", "in":
				if v == want {
					return true
				}
			case "cieq", "has":
				if strings.EqualFold(v, want) {
					return true
				}
			case "gt":
				if v != "" && compareVals(v, want) > 0 {
					return true
				}
			case "gte":
				if v != "" && compareVals(v, want) >= 0 {
					return true
				}
			case "lt":
				if v != "" && compareVals(v, want) < 0 {
					return true
				}
			case "lte":
				if v != "" && compareVals(v, want) <= 0 {
					return true
				}
			}
		}
	}
	return false
}

// compareVals compares numerically when both are integers, else as
// strings; ISO-8601 UTC timestamps order correctly as strings.
func compareVals(a, b string) int {
	if x, err := strconv.ParseInt(a, 10, 64); err == nil {
		if y, err := strconv.ParseInt(b, 10, 64); err == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(a, b)
}

// paginate cuts one page and applies the moving-totals and short-page
// faults. The returned node is the pagination element.
func paginate[T any](s *Server, q *request, lp listParams, list []T) ([]T, *node, *apiErr) {
	f := s.faults.Load()
	if f.MovingTotals {
		key := q.r.URL.Path
		s.walkMu.Lock()
		if lp.pageNumber == 1 {
			s.walks[key]++
		}
		walk := s.walks[key]
		s.walkMu.Unlock()
		if walk <= 1 && lp.pageNumber >= 2 && len(list) > 0 {
			list = list[1:]
		}
	}
	total := len(list)
	off := (lp.pageNumber - 1) * lp.pageSize
	if lp.pageNumber > 1 && off >= total {
		return nil, nil, errf(400, "400006", "Invalid page number", "The page number '%d' is larger than the number of pages (page size %d, total %d).", lp.pageNumber, lp.pageSize, total)
	}
	end := min(off+lp.pageSize, total)
	page := list[off:end]
	if f.ShortPageEvery > 0 && end < total && len(page) > 0 {
		if n := s.shortPages.Add(1); n%int64(f.ShortPageEvery) == 0 {
			page = page[:len(page)-1]
		}
	}
	pag := el("pagination", "pageNumber", itoa(lp.pageNumber), "pageSize", itoa(lp.pageSize), "totalAvailable", itoa(total))
	return page, pag, nil
}

package tableau

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// ListOptions are the paging and query options every List and All accept.
type ListOptions struct {
	PageNumber int    // 1-based; 0 means 1
	PageSize   int    // 1..1000; 0 means the client's page size
	Fields     string // fields=...; services default to _all_ where Tableau supports it
	Filter     string // filter=field:op:value,...
	Sort       string // sort=field:asc,...
	// OnPage is called by All after every page read, e.g. to record the
	// totalAvailable announced and count requests.
	OnPage func(*Response)
}

// Response is the paging information of one list response.
type Response struct {
	PageNumber     int
	PageSize       int
	TotalAvailable int
	// Paginated is false for endpoints that return everything at once (no
	// <pagination> element); TotalAvailable is then the item count.
	Paginated bool
}

// maxPasses bounds how often All re-reads a list whose total moved or whose
// items did not add up.
const maxPasses = 3

func (o *ListOptions) query(defaultFields string, pageSize int) url.Values {
	q := url.Values{}
	if o == nil {
		o = &ListOptions{}
	}
	n := o.PageNumber
	if n < 1 {
		n = 1
	}
	if o.PageSize > 0 {
		pageSize = o.PageSize
	}
	q.Set("pageSize", strconv.Itoa(pageSize))
	q.Set("pageNumber", strconv.Itoa(n))
	f := o.Fields
	if f == "" {
		f = defaultFields
	}
	if f != "" {
		q.Set("fields", f)
	}
	if o.Filter != "" {
		q.Set("filter", o.Filter)
	}
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	return q
}

// listPage reads one page of path and returns the item elements.
func (c *Client) listPage(ctx context.Context, path string, q url.Values, wrapper, elem string) ([]*node, *Response, error) {
	n, err := c.get(ctx, path, q)
	if err != nil {
		return nil, nil, err
	}
	w := n.child(wrapper)
	if w == nil {
		if e := n.child("error"); e != nil {
			return nil, nil, fmt.Errorf("%w: error element in a success response: %s %s", ErrMalformed, e.attr("code"), e.attr("summary"))
		}
		// An empty JSON list may omit the wrapper; XML always has it.
		if c.json || n.child("pagination") != nil {
			w = &node{}
		} else {
			return nil, nil, fmt.Errorf("%w: no <%s> element in the response", ErrMalformed, wrapper)
		}
	}
	items := w.children(elem)
	resp := &Response{TotalAvailable: len(items)}
	if p := n.child("pagination"); p != nil {
		resp.Paginated = true
		var e1, e2, e3 error
		pn, e1 := parseInt(p.attr("pageNumber"))
		ps, e2 := parseInt(p.attr("pageSize"))
		ta, e3 := parseInt(p.attr("totalAvailable"))
		if e1 != nil || e2 != nil || e3 != nil || !p.has("totalAvailable") {
			return nil, nil, fmt.Errorf("%w: bad pagination element %v", ErrMalformed, p.Attrs)
		}
		resp.PageNumber, resp.PageSize, resp.TotalAvailable = int(pn), int(ps), int(ta)
	}
	return items, resp, nil
}

// lister describes one paginated endpoint and how to decode its items.
type lister[T any] struct {
	c             *Client
	path          string
	wrapper, elem string
	fields        string
	decode        func(*node) (T, error)
	id            func(T) string
}

func (l lister[T]) list(ctx context.Context, opts *ListOptions) ([]T, *Response, error) {
	nodes, resp, err := l.c.listPage(ctx, l.path, opts.query(l.fields, l.c.pageSize), l.wrapper, l.elem)
	if err != nil {
		return nil, nil, fmt.Errorf("listing %s: %w", l.path, err)
	}
	out := make([]T, 0, len(nodes))
	for _, n := range nodes {
		v, err := l.decode(n)
		if err != nil {
			return nil, nil, fmt.Errorf("listing %s: %w", l.path, err)
		}
		out = append(out, v)
	}
	return out, resp, nil
}

// all walks every page. Items are yielded as pages arrive (a site's views
// are never all held in memory) and de-duplicated by id, because content
// created or deleted between page requests shifts offsets. At the end of a
// pass the distinct items of that pass must equal the totalAvailable of its
// pages; if the total moved during the pass, a page came back short or
// empty, or the count disagrees, the list is read again (yielding only new
// items), up to maxPasses. Still disagreeing is a *ListCountError.
func (l lister[T]) all(ctx context.Context, opts *ListOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		o := ListOptions{}
		if opts != nil {
			o = *opts
		}
		seen := map[string]struct{}{}
		lastTotal := -1
		for pass := 1; ; pass++ {
			passSeen := map[string]struct{}{}
			total, moved := -1, false
			pageSize := o.PageSize
			if pageSize <= 0 {
				pageSize = l.c.pageSize
			}
			for page := 1; ; page++ {
				o.PageNumber = page
				nodes, resp, err := l.c.listPage(ctx, l.path, o.query(l.fields, pageSize), l.wrapper, l.elem)
				var ae *APIError
				if page > 1 && errors.As(err, &ae) && ae.Code == "400006" {
					// "Page number larger than the number of pages": the list
					// shrank while we walked it. Walk it again.
					moved = true
					break
				}
				if err != nil {
					yield(zero, fmt.Errorf("listing %s (page %d): %w", l.path, page, err))
					return
				}
				if o.OnPage != nil {
					o.OnPage(resp)
				}
				// A page short of a full page that is not the last one lost
				// items (servers do this under load): read it again at once,
				// which is far cheaper than another pass over the list.
				for retry := 0; retry < 2 && resp.Paginated && isShort(resp, len(nodes), page, pageSize); retry++ {
					again, r2, err := l.c.listPage(ctx, l.path, o.query(l.fields, pageSize), l.wrapper, l.elem)
					if err != nil {
						yield(zero, fmt.Errorf("listing %s (page %d): %w", l.path, page, err))
						return
					}
					if o.OnPage != nil {
						o.OnPage(r2)
					}
					if len(again) > len(nodes) && r2.TotalAvailable == resp.TotalAvailable {
						nodes, resp = again, r2
					}
				}
				if total >= 0 && resp.TotalAvailable != total {
					moved = true
				}
				total = resp.TotalAvailable
				fresh := 0
				for _, n := range nodes {
					v, err := l.decode(n)
					if err != nil {
						yield(zero, fmt.Errorf("listing %s (page %d): %w", l.path, page, err))
						return
					}
					k := l.id(v)
					if k == "" {
						yield(zero, fmt.Errorf("listing %s (page %d): %w: <%s> without an id", l.path, page, ErrMalformed, l.elem))
						return
					}
					if _, dup := passSeen[k]; dup {
						continue
					}
					passSeen[k] = struct{}{}
					fresh++
					if _, dup := seen[k]; dup {
						continue
					}
					seen[k] = struct{}{}
					if !yield(v, nil) {
						return
					}
				}
				ps := pageSize
				if resp.PageSize > 0 {
					ps = resp.PageSize // the server may cap the page size
				}
				// Stop on the last page, and on a page that brought nothing
				// new: a server announcing more than it serves must not keep
				// us paging forever.
				if !resp.Paginated || fresh == 0 || page*ps >= total {
					break
				}
			}
			if !moved && len(passSeen) == total {
				return
			}
			// Items are only ever missed, never invented: when the total
			// held still over two passes and their union matches it, the
			// list is complete even if no single pass was.
			if !moved && pass > 1 && total == lastTotal && len(seen) == total {
				return
			}
			if moved {
				lastTotal = -1
			} else {
				lastTotal = total
			}
			if pass >= maxPasses {
				yield(zero, &ListCountError{Path: l.path, Seen: len(passSeen), TotalAvailable: total, Passes: pass})
				return
			}
		}
	}
}

// ---- decoding helpers -----------------------------------------------------

// dec reads attributes of one element and remembers which ones it used, so
// that everything else is kept as extras.
type dec struct {
	n     *node
	known []string
	// bad holds attributes whose values could not be parsed; they stay in
	// extras verbatim rather than becoming a silent zero.
	bad []string
}

func newDec(n *node) *dec { return &dec{n: n} }

func (d *dec) s(name string) string {
	d.known = append(d.known, name)
	return d.n.attr(name)
}

func (d *dec) b(name string) bool { return parseBool(d.s(name)) }

func (d *dec) ob(name string) *bool { return parseOptBool(d.s(name)) }

func (d *dec) i(name string) *int64 {
	v := d.n.attr(name)
	if v == "" {
		d.known = append(d.known, name)
		return nil
	}
	x, err := parseInt(v)
	if err != nil {
		return nil // left in extras
	}
	d.known = append(d.known, name)
	return &x
}

func (d *dec) t(name string) *time.Time {
	v := d.n.attr(name)
	if v == "" {
		d.known = append(d.known, name)
		return nil
	}
	t, ok := parseTime(v)
	if !ok {
		return nil // impossible dates occur; kept verbatim in extras
	}
	d.known = append(d.known, name)
	return &t
}

func (d *dec) child(name string) *node {
	d.known = append(d.known, name)
	return d.n.child(name)
}

func (d *dec) childID(name string) string { return d.child(name).attr("id") }

func (d *dec) tags() []string {
	t := d.child("tags")
	var out []string
	for _, tag := range t.children("tag") {
		out = append(out, tag.attr("label"))
	}
	return out
}

func (d *dec) extras() map[string]any { return d.n.extras(d.known...) }

func idOf[T interface{ GetID() string }](v T) string { return v.GetID() }

// isShort reports a non-last page with fewer items than a full page.
func isShort(resp *Response, n, page, pageSize int) bool {
	ps := pageSize
	if resp.PageSize > 0 {
		ps = resp.PageSize
	}
	return page*ps < resp.TotalAvailable && n < ps
}

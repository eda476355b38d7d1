package tableau

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The REST API speaks XML by default and JSON on request. Both are decoded
// into the same element tree (node), and every typed decoder in this package
// reads that tree, so the two formats cannot drift apart: an XML attribute and
// a JSON scalar key are both attributes, an XML child element and a JSON
// object are both children, and a JSON array is a run of repeated children.
// Text content (XML chardata, JSON "value" of an object) is Text.

// Namespaces Tableau has used for tsResponse; matched by URI, never by prefix.
const (
	NamespaceAPI    = "http://tableau.com/api"
	NamespaceLegacy = "http://tableausoftware.com/api"
)

type node struct {
	Name     string
	Attrs    []attr
	Children []*node
	Text     string
}

type attr struct{ Name, Value string }

// attr returns the attribute, or for JSON-shaped or text-element data the
// text of a child element with that name (<summary>x</summary>).
func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	if c := n.child(name); c != nil && len(c.Attrs) == 0 && len(c.Children) == 0 {
		return c.Text
	}
	return ""
}

func (n *node) has(name string) bool {
	if n == nil {
		return false
	}
	for _, a := range n.Attrs {
		if a.Name == name {
			return true
		}
	}
	return n.child(name) != nil
}

func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (n *node) children(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.Children {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// extras returns the attributes (and scalar children) of n that are not in
// known, so that attributes tabaudit does not model are kept, never dropped.
// Nested elements not in known are kept as nested objects.
func (n *node) extras(known ...string) map[string]any {
	if n == nil {
		return nil
	}
	var out map[string]any
	put := func(k string, v any) {
		if out == nil {
			out = map[string]any{}
		}
		out[k] = v
	}
	for _, a := range n.Attrs {
		if !slices.Contains(known, a.Name) {
			put(a.Name, a.Value)
		}
	}
	for _, c := range n.Children {
		if slices.Contains(known, c.Name) {
			continue
		}
		v := c.toAny()
		if prev, ok := out[c.Name]; ok {
			if list, ok := prev.([]any); ok {
				out[c.Name] = append(list, v)
			} else {
				out[c.Name] = []any{prev, v}
			}
			continue
		}
		put(c.Name, v)
	}
	return out
}

func (n *node) toAny() any {
	if len(n.Attrs) == 0 && len(n.Children) == 0 {
		return n.Text
	}
	m := map[string]any{}
	for _, a := range n.Attrs {
		m[a.Name] = a.Value
	}
	for _, c := range n.Children {
		v := c.toAny()
		if prev, ok := m[c.Name]; ok {
			if list, ok := prev.([]any); ok {
				m[c.Name] = append(list, v)
			} else {
				m[c.Name] = []any{prev, v}
			}
			continue
		}
		m[c.Name] = v
	}
	if n.Text != "" {
		m["value"] = n.Text
	}
	return m
}

// maxBody bounds one response body; the largest legitimate page (1,000 users
// with every field) is a few MB.
const maxBody = 256 << 20

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed response")

// decodeXML parses a tsResponse document. Elements are matched by local name
// once the root is known to be in a Tableau namespace.
func decodeXML(r io.Reader) (*node, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: XML: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{Name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" || a.Name.Space == "http://www.w3.org/2001/XMLSchema-instance" {
					continue
				}
				n.Attrs = append(n.Attrs, attr{a.Name.Local, a.Value})
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: XML: more than one root element", ErrMalformed)
				}
				if t.Name.Local != "tsResponse" {
					return nil, fmt.Errorf("%w: XML root is <%s>, want <tsResponse>", ErrMalformed, t.Name.Local)
				}
				if t.Name.Space != NamespaceAPI && t.Name.Space != NamespaceLegacy {
					return nil, fmt.Errorf("%w: tsResponse namespace %q, want %q", ErrMalformed, t.Name.Space, NamespaceAPI)
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			top := stack[len(stack)-1]
			top.Text = strings.TrimSpace(top.Text)
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: empty XML document", ErrMalformed)
	}
	return root, nil
}

// decodeJSON parses a JSON response into the same tree as decodeXML; the
// top-level object plays the role of tsResponse.
func decodeJSON(r io.Reader) (*node, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: JSON: %v", ErrMalformed, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: JSON top level is not an object", ErrMalformed)
	}
	root := &node{Name: "tsResponse"}
	fillJSON(root, obj)
	return root, nil
}

func fillJSON(n *node, obj map[string]any) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // map order is random; keep decoding deterministic
	for _, k := range keys {
		addJSON(n, k, obj[k])
	}
}

func addJSON(n *node, k string, v any) {
	switch t := v.(type) {
	case map[string]any:
		c := &node{Name: k}
		if s, ok := t["value"]; ok {
			if str, ok := scalar(s); ok {
				c.Text = str
				delete(t, "value")
			}
		}
		fillJSON(c, t)
		n.Children = append(n.Children, c)
	case []any:
		for _, e := range t {
			addJSON(n, k, e)
		}
	case nil:
	default:
		s, _ := scalar(t)
		n.Attrs = append(n.Attrs, attr{k, s})
	}
}

func scalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

// Value parsing: lenient where Tableau is inconsistent (True/true), strict
// where a silent zero would mislead (integers).

func parseBool(s string) bool { return strings.EqualFold(s, "true") }

func parseOptBool(s string) *bool {
	if s == "" {
		return nil
	}
	b := parseBool(s)
	return &b
}

func parseInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseTime parses an ISO-8601 timestamp; impossible dates (June 31 occurs in
// real data) give the zero time rather than an error, and the raw text is
// kept by the caller in extras.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// encodeRequest renders a tsRequest body in the client's format. body is a
// small tree; attributes become XML attributes or JSON scalars.
func encodeRequest(asJSON bool, body *node) ([]byte, error) {
	if asJSON {
		return json.Marshal(nodeToJSON(body))
	}
	var b bytes.Buffer
	b.WriteString("<tsRequest>")
	for _, c := range body.Children {
		writeXML(&b, c)
	}
	b.WriteString("</tsRequest>")
	return b.Bytes(), nil
}

func nodeToJSON(n *node) map[string]any {
	m := map[string]any{}
	for _, a := range n.Attrs {
		m[a.Name] = a.Value
	}
	for _, c := range n.Children {
		m[c.Name] = nodeToJSON(c)
	}
	return m
}

func writeXML(b *bytes.Buffer, n *node) {
	b.WriteByte('<')
	b.WriteString(n.Name)
	for _, a := range n.Attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name)
		b.WriteString(`="`)
		_ = xml.EscapeText(b, []byte(a.Value))
		b.WriteByte('"')
	}
	if len(n.Children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	for _, c := range n.Children {
		writeXML(b, c)
	}
	b.WriteString("</")
	b.WriteString(n.Name)
	b.WriteByte('>')
}

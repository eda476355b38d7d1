package tableautest

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// node is one element of a response. Handlers build a small tree per
// response and the same tree is written as XML or as Tableau's JSON, so the
// two formats cannot disagree about content.
//
// JSON follows Tableau's XML-to-JSON convention: attributes become string
// keys, a child element a nested object, an element with only text a string
// (with attributes: an object whose text is under "value"), and children
// marked arr become an array under their element name even when there is
// only one (users.user, granteeCapabilities). An empty list wrapper is {}.
type node struct {
	name  string
	attrs []attr
	kids  []*node
	text  string
	arr   bool
}

type attr struct{ k, v string }

// el makes an element with attributes given as key, value pairs; pairs with
// an empty value are left out, as Tableau leaves out unknown attributes.
func el(name string, kv ...string) *node {
	n := &node{name: name}
	if len(kv) > 0 {
		n.attrs = make([]attr, 0, len(kv)/2)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			n.attrs = append(n.attrs, attr{kv[i], kv[i+1]})
		}
	}
	return n
}

// textEl makes an element whose content is text (<summary>…</summary>).
func textEl(name, text string) *node { return &node{name: name, text: text} }

func (n *node) set(k, v string) *node {
	if v != "" {
		n.attrs = append(n.attrs, attr{k, v})
	}
	return n
}

func (n *node) add(kids ...*node) *node {
	for _, k := range kids {
		if k != nil {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// item appends a child that is a member of a list (JSON array).
func (n *node) item(k *node) *node {
	k.arr = true
	n.kids = append(n.kids, k)
	return n
}

// Every XML response names the 3.29 schema, as a 3.29 server does.
const xmlHead = `<?xml version='1.0' encoding='UTF-8'?>` + "\n" +
	`<tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api https://help.tableau.com/samples/en-us/rest_api/ts-api_3_29.xsd">`

func writeXML(b *bytes.Buffer, kids []*node) {
	b.WriteString(xmlHead)
	for _, k := range kids {
		k.writeXML(b)
	}
	b.WriteString("</tsResponse>")
}

func (n *node) writeXML(b *bytes.Buffer) {
	b.WriteByte('<')
	b.WriteString(n.name)
	for _, a := range n.attrs {
		b.WriteByte(' ')
		b.WriteString(a.k)
		b.WriteString(`="`)
		escapeXML(b, a.v)
		b.WriteByte('"')
	}
	if len(n.kids) == 0 && n.text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	escapeXML(b, n.text)
	for _, k := range n.kids {
		k.writeXML(b)
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}

func escapeXML(b *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		case '\t':
			esc = "&#x9;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

func writeJSON(b *bytes.Buffer, kids []*node) {
	writeJSONObject(b, nil, "", kids)
}

func (n *node) writeJSONValue(b *bytes.Buffer) {
	if len(n.attrs) == 0 && len(n.kids) == 0 && n.text != "" {
		quoteJSON(b, n.text)
		return
	}
	writeJSONObject(b, n.attrs, n.text, n.kids)
}

// writeJSONObject writes attributes then children grouped by name in order
// of first appearance; a group is an array when its members are list items
// or when the name repeats.
func writeJSONObject(b *bytes.Buffer, attrs []attr, text string, kids []*node) {
	b.WriteByte('{')
	first := true
	comma := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	for _, a := range attrs {
		comma()
		quoteJSON(b, a.k)
		b.WriteByte(':')
		quoteJSON(b, a.v)
	}
	if text != "" {
		comma()
		b.WriteString(`"value":`)
		quoteJSON(b, text)
	}
	// Distinct child names are few (a list wrapper has one), so a linear
	// search keeps grouping O(children).
	var names []string
	var counts []int
	var arrs []bool
	for _, k := range kids {
		i := 0
		for i < len(names) && names[i] != k.name {
			i++
		}
		if i == len(names) {
			names = append(names, k.name)
			counts = append(counts, 0)
			arrs = append(arrs, false)
		}
		counts[i]++
		arrs[i] = arrs[i] || k.arr
	}
	for gi, name := range names {
		comma()
		quoteJSON(b, name)
		b.WriteByte(':')
		if counts[gi] == 1 && !arrs[gi] {
			for _, k := range kids {
				if k.name == name {
					k.writeJSONValue(b)
				}
			}
			continue
		}
		b.WriteByte('[')
		j := 0
		for _, o := range kids {
			if o.name != name {
				continue
			}
			if j > 0 {
				b.WriteByte(',')
			}
			j++
			if len(o.attrs) == 0 && len(o.kids) == 0 && o.text != "" {
				quoteJSON(b, o.text)
			} else {
				writeJSONObject(b, o.attrs, o.text, o.kids)
			}
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
}

const hexDigits = "0123456789abcdef"

func quoteJSON(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(s[last:i])
				b.WriteString(`\ufffd`)
				i += size
				last = i
				continue
			}
			i += size
			continue
		}
		b.WriteString(s[last:i])
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
		i++
		last = i
	}
	b.WriteString(s[last:])
	b.WriteByte('"')
}

func itoa(n int) string { return strconv.Itoa(n) }

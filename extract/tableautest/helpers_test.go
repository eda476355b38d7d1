package tableautest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
)

func loadSite(t testing.TB, path string) *site.Site {
	t.Helper()
	s, err := site.Load(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return s
}

func richSite(t testing.TB) *site.Site { return loadSite(t, "../../testdata/sim/rich.yaml") }

// client is a minimal REST client for tests: it speaks the wire format by
// hand so that the simulator is checked against the protocol, not against
// tabaudit's own client.
type client struct {
	t      testing.TB
	srv    *Server
	ver    string
	token  string
	siteID string
	userID string
	json   bool
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (c *client) do(method, path string, body string, hdr ...string) resp {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("X-Tableau-Auth", c.token)
	}
	if c.json {
		req.Header.Set("Accept", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp{status: r.StatusCode, body: b, header: r.Header}
}

func (c *client) get(path string) resp {
	c.t.Helper()
	return c.do("GET", "/api/"+c.ver+"/sites/"+c.siteID+"/"+path, "")
}

func newClient(t testing.TB, srv *Server) *client {
	return &client{t: t, srv: srv, ver: "3.29"}
}

func patBody(name, secret, contentURL string) string {
	return fmt.Sprintf(`<tsRequest><credentials personalAccessTokenName="%s" personalAccessTokenSecret="%s"><site contentUrl="%s"/></credentials></tsRequest>`, name, secret, contentURL)
}

// signIn signs in with the default PAT and remembers token and site.
func (c *client) signIn() {
	c.t.Helper()
	c.signInBody(patBody(DefaultPATName, DefaultPATSecret, c.srv.ContentURL))
}

func (c *client) signInBody(body string) {
	c.t.Helper()
	r := c.do("POST", "/api/"+c.ver+"/auth/signin", body)
	if r.status != 200 {
		c.t.Fatalf("sign-in: HTTP %d %s", r.status, r.body)
	}
	x := parse(c.t, r)
	cred := x.child("credentials")
	c.token = cred.attr("token")
	c.siteID = cred.child("site").attr("id")
	c.userID = cred.child("user").attr("id")
}

// tree is a decoded response in a format-neutral shape (like the client's).
type tree struct {
	name  string
	attrs map[string]string
	kids  []*tree
	text  string
}

func (t *tree) attr(k string) string {
	if t == nil {
		return ""
	}
	if v, ok := t.attrs[k]; ok {
		return v
	}
	if c := t.child(k); c != nil && len(c.kids) == 0 && len(c.attrs) == 0 {
		return c.text
	}
	return ""
}

func (t *tree) child(name string) *tree {
	if t == nil {
		return nil
	}
	for _, k := range t.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (t *tree) all(name string) []*tree {
	if t == nil {
		return nil
	}
	var out []*tree
	for _, k := range t.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// parse decodes XML (checking the namespace) or JSON into a tree rooted at
// tsResponse.
func parse(t testing.TB, r resp) *tree {
	t.Helper()
	b := bytes.TrimSpace(r.body)
	if len(b) > 0 && b[0] == '{' {
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("decoding JSON: %v\n%s", err, b)
		}
		root := &tree{name: "tsResponse", attrs: map[string]string{}}
		fromJSON(root, v)
		return root
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []*tree
	var root *tree
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("decoding XML: %v\n%s", err, b)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if tk.Name.Space != "http://tableau.com/api" {
				t.Fatalf("element %s in namespace %q", tk.Name.Local, tk.Name.Space)
			}
			n := &tree{name: tk.Name.Local, attrs: map[string]string{}}
			for _, a := range tk.Attr {
				if a.Name.Space == "" && a.Name.Local != "xmlns" {
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += strings.TrimSpace(string(tk))
			}
		}
	}
	return root
}

func fromJSON(n *tree, v map[string]any) {
	for k, val := range v {
		switch x := val.(type) {
		case string:
			if k == "value" {
				n.text = x
			} else {
				n.attrs[k] = x
			}
		case map[string]any:
			c := &tree{name: k, attrs: map[string]string{}}
			fromJSON(c, x)
			n.kids = append(n.kids, c)
		case []any:
			for _, e := range x {
				c := &tree{name: k, attrs: map[string]string{}}
				switch ev := e.(type) {
				case map[string]any:
					fromJSON(c, ev)
				case string:
					c.text = ev
				}
				n.kids = append(n.kids, c)
			}
		default:
			n.attrs[k] = fmt.Sprint(x)
		}
	}
	// JSON objects have no order; sort children by name for stable tests
	// only where order is irrelevant (callers use child/all by name).
}

// errCode returns the Tableau error code of a response.
func errCode(t testing.TB, r resp) string {
	t.Helper()
	return parse(t, r).child("error").attr("code")
}

func siteLUID(kind, id string) string { return site.LUID(kind, id) }

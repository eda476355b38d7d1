package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads a matrix file: YAML (.yaml, .yml), CSV (.csv, with optional
// sidecar files NAME.waivers.csv and NAME.hygiene.csv) or Excel (.xlsx, sheets
// Rules, Waivers and Hygiene). Every row is checked before Load returns; all
// problems come back together as Diagnostics, sorted by position.
func Load(path string) (*Matrix, error) {
	var (
		m   *Matrix
		err error
	)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		var data []byte
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("reading matrix: %w", err)
		}
		m, err = ParseYAML(path, data)
	case ".csv":
		m, err = loadCSV(path)
	case ".xlsx":
		m, err = loadXLSX(path)
	default:
		return nil, Diagnostics{{Pos: Pos{File: path}, Code: CodeSyntax, Msg: "unknown matrix format", Hint: "use .yaml, .csv or .xlsx"}}
	}
	return m, err
}

// ParseYAML parses the full (YAML) form of a matrix; name is used in
// positions.
func ParseYAML(name string, data []byte) (*Matrix, error) {
	d := &diags{}
	m := &Matrix{File: name, SHA256: digest(data), Hygiene: map[string]*HygieneSetting{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.errorf(Pos{File: name, Line: yamlErrLine(err)}, CodeSyntax, "", "invalid YAML: %v", err)
		return nil, d.list
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		d.errorf(Pos{File: name, Line: 1}, CodeSyntax, "see DESIGN.md §5", "a matrix is a mapping with version, name, rules and waivers")
		return nil, d.list
	}
	y := &yamlReader{file: name, d: d}
	root := doc.Content[0]
	var sawVersion bool
	y.fields(root, func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			sawVersion = true
			n, err := strconv.Atoi(v.Value)
			if err != nil || n != 1 {
				d.errorf(y.pos(v), CodeBadValue, "this tabaudit reads version 1", "unsupported matrix version %q", v.Value)
			}
			m.Version = n
		case "name":
			m.Name = y.scalar(v)
		case "description":
		case "rules":
			for _, rn := range y.seq(v) {
				m.Rules = append(m.Rules, y.rule(rn))
			}
		case "waivers":
			for _, wn := range y.seq(v) {
				m.Waivers = append(m.Waivers, y.waiver(wn))
			}
		case "hygiene":
			y.fields(v, func(name string, k, hv *yaml.Node) { m.Hygiene[name] = y.hygiene(k, hv) })
		default:
			d.errorf(y.pos(k), CodeUnknownField, "want version, name, description, rules, waivers or hygiene", "unknown key %q", key)
		}
	})
	if !sawVersion {
		d.errorf(Pos{File: name, Line: root.Line}, CodeMissingField, "add `version: 1`", "matrix has no version")
	}
	if m.Name == "" {
		m.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	return finish(m, d)
}

// finish compiles a parsed matrix and splits warnings from errors.
func finish(m *Matrix, d *diags) (*Matrix, error) {
	m.compile(d)
	d.list.sort()
	if errs := d.list.Errors(); len(errs) > 0 {
		return nil, d.list
	}
	m.Warnings = d.list.Warnings()
	return m, nil
}

type yamlReader struct {
	file string
	d    *diags
}

func (y *yamlReader) pos(n *yaml.Node) Pos { return Pos{File: y.file, Line: n.Line} }

func (y *yamlReader) fields(n *yaml.Node, f func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		y.d.errorf(y.pos(n), CodeSyntax, "", "want a mapping")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f(n.Content[i].Value, n.Content[i], n.Content[i+1])
	}
}

func (y *yamlReader) seq(n *yaml.Node) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		y.d.errorf(y.pos(n), CodeSyntax, "", "want a list")
		return nil
	}
	return n.Content
}

func (y *yamlReader) scalar(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		y.d.errorf(y.pos(n), CodeSyntax, "", "want a single value")
		return ""
	}
	return strings.TrimSpace(n.Value)
}

// list accepts a single value or a list of values.
func (y *yamlReader) list(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		if v := strings.TrimSpace(n.Value); v != "" {
			return []string{v}
		}
		return nil
	}
	var out []string
	for _, e := range y.seq(n) {
		if v := y.scalar(e); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (y *yamlReader) boolean(n *yaml.Node) bool {
	b, err := parseBool(y.scalar(n))
	if err != nil {
		y.d.errorf(y.pos(n), CodeBadValue, "want true or false", "%v", err)
	}
	return b
}

func (y *yamlReader) rule(n *yaml.Node) *Rule {
	r := &Rule{Pos: y.pos(n), fieldPos: map[string]Pos{}}
	y.fields(n, func(key string, k, v *yaml.Node) {
		r.fieldPos[key] = y.pos(k)
		switch key {
		case "id":
			r.ID = y.scalar(v)
		case "description":
			r.Description = y.scalar(v)
		case "scope":
			y.fields(v, func(sk string, k2, sv *yaml.Node) {
				if !setScope(&r.Scope, sk, y.list(sv)) {
					y.d.errorf(y.pos(k2), CodeUnknownField, "scope keys: "+strings.Join(scopeKeys, ", "), "unknown scope key %q", sk)
				}
			})
		case "grantees":
			y.fields(v, func(gk string, k2, gv *yaml.Node) {
				kind, ok := granteeKinds[gk]
				if !ok {
					y.d.errorf(y.pos(k2), CodeUnknownField, "want groups, users or site_roles", "unknown grantee key %q", gk)
					return
				}
				for _, name := range y.list(gv) {
					r.Grantees = append(r.Grantees, Grantee{Kind: kind, Name: name, Pos: y.pos(k2)})
				}
			})
		case "allow":
			r.Allow = y.list(v)
		case "forbid":
			r.Forbid = y.list(v)
		case "exclusive":
			r.Exclusive = y.boolean(v)
		case "include_admins":
			r.IncludeAdmins = y.boolean(v)
		case "severity":
			r.Severity = y.scalar(v)
		default:
			y.d.errorf(y.pos(k), CodeUnknownField, "rule keys: id, description, scope, grantees, allow, forbid, exclusive, include_admins, severity", "unknown rule key %q", key)
		}
	})
	return r
}

func (y *yamlReader) waiver(n *yaml.Node) *Waiver {
	w := &Waiver{Pos: y.pos(n)}
	var until string
	y.fields(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "id":
			w.ID = y.scalar(v)
		case "rule":
			w.Rule = y.scalar(v)
		case "user":
			w.User = y.scalar(v)
		case "capability":
			w.Capability = y.scalar(v)
		case "until":
			until = y.scalar(v)
		case "reason":
			w.Reason = y.scalar(v)
		case "owner":
			w.Owner = y.scalar(v)
		default:
			y.d.errorf(y.pos(k), CodeUnknownField, "waiver keys: id, rule, user, capability, until, reason, owner", "unknown waiver key %q", key)
		}
	})
	w.Until = parseUntil(y.d, w.Pos, until)
	return w
}

func (y *yamlReader) hygiene(k, n *yaml.Node) *HygieneSetting {
	h := &HygieneSetting{Pos: y.pos(k)}
	if n.Kind == yaml.ScalarNode {
		// `deny_rules: off` or `deny_rules: high`.
		setHygieneValue(y.d, h, y.scalar(n))
		return h
	}
	y.fields(n, func(key string, k2, v *yaml.Node) {
		setHygieneField(y.d, h, key, y.scalar(v), y.pos(k2))
	})
	return h
}

func setHygieneValue(d *diags, h *HygieneSetting, v string) {
	if SeverityRank(v) >= 0 {
		h.Severity = v
		return
	}
	b, err := parseBool(v)
	if err != nil {
		d.errorf(h.Pos, CodeBadValue, "want on, off or a severity", "bad hygiene value %q", v)
		return
	}
	h.Enabled = &b
}

func setHygieneField(d *diags, h *HygieneSetting, key, v string, p Pos) {
	if v == "" {
		return
	}
	switch key {
	case "enabled":
		b, err := parseBool(v)
		if err != nil {
			d.errorf(p, CodeBadValue, "want true or false", "%v", err)
		}
		h.Enabled = &b
	case "severity":
		h.Severity = v
	case "days", "max":
		n, err := strconv.Atoi(v)
		if err != nil {
			d.errorf(p, CodeBadValue, "want a whole number", "hygiene %s: %q is not a number", key, v)
		}
		if key == "days" {
			h.Days = n
		} else {
			h.Max = n
		}
	default:
		d.errorf(p, CodeUnknownField, "hygiene keys: enabled, severity, days, max", "unknown hygiene key %q", key)
	}
}

var scopeKeys = []string{"project", "projects", "type", "types", "name", "names", "tag", "tags", "owner", "owners",
	"upstream_table", "upstream_tables", "upstream_database", "upstream_databases"}

func setScope(s *Scope, key string, v []string) bool {
	switch key {
	case "project", "projects":
		s.Projects = append(s.Projects, v...)
	case "type", "types":
		s.Types = append(s.Types, v...)
	case "name", "names":
		s.Names = append(s.Names, v...)
	case "tag", "tags":
		s.Tags = append(s.Tags, v...)
	case "owner", "owners":
		s.Owners = append(s.Owners, v...)
	case "upstream_table", "upstream_tables":
		s.UpstreamTables = append(s.UpstreamTables, v...)
	case "upstream_database", "upstream_databases":
		s.UpstreamDatabases = append(s.UpstreamDatabases, v...)
	default:
		return false
	}
	return true
}

var granteeKinds = map[string]string{"groups": "group", "group": "group", "users": "user", "user": "user",
	"site_roles": "site_role", "site_role": "site_role"}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "y", "1":
		return true, nil
	case "false", "no", "off", "n", "0", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", s)
}

// parseUntil reads a waiver's expiry date (YYYY-MM-DD; a YAML timestamp is
// accepted and cut to its date).
func parseUntil(d *diags, p Pos, s string) time.Time {
	if s == "" {
		d.errorf(p, CodeMissingField, "every waiver expires: until: YYYY-MM-DD", "waiver has no until date")
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
	}
	d.errorf(p, CodeBadDate, "want YYYY-MM-DD", "bad date %q", s)
	return time.Time{}
}

func yamlErrLine(err error) int {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return 0
	}
	// yaml.v3 messages read "yaml: line N: ...".
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		if j := strings.IndexByte(rest, ':'); j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return n
			}
		}
	}
	return 0
}

func digest(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readOptional(path string) ([]byte, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", path, err)
	}
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), true, nil
}

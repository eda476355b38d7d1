package site

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// Error is one problem in a site file, with the line it is on.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in one file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Load reads a site file: a YAML document whose top-level key `site:` holds a
// Site.
func Load(path string) (*Site, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading site file: %w", err)
	}
	return Parse(path, data)
}

// Parse parses a site file's bytes; name is used in error messages.
func Parse(name string, data []byte) (*Site, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &Error{File: name, Msg: fmt.Sprintf("invalid YAML: %v", err)}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: 1, Msg: "want a mapping with a `site:` key"}
	}
	root := doc.Content[0]
	var siteNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "site":
			siteNode = root.Content[i+1]
		case "schema", "note", "title", "description":
		default:
			return nil, &Error{File: name, Line: root.Content[i].Line, Msg: fmt.Sprintf("unknown key %q (want site)", root.Content[i].Value)}
		}
	}
	if siteNode == nil {
		return nil, &Error{File: name, Line: root.Line, Msg: "missing `site:` key"}
	}
	return FromNode(name, siteNode)
}

// FromNode decodes and validates a Site from the YAML node of its `site:`
// value (the vectors runner uses it on each vector).
func FromNode(name string, n *yaml.Node) (*Site, error) {
	var errs Errors
	add := func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	checkKeys(n, reflect.TypeOf(Site{}), "site", add)
	var s Site
	if err := n.Decode(&s); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				// yaml.v3 messages already start with "line N:".
				add(0, "%s", m)
			}
			return nil, errs
		}
		add(n.Line, "%v", err)
		return nil, errs
	}
	recordLines(n, &s)
	s.normalise()
	s.validate(add)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *Error) int { return a.Line - b.Line })
		return nil, errs
	}
	return &s, nil
}

// Validate reports every problem Parse would report for a Site built in Go
// rather than read from a file (the synthetic generators, tests), as Errors
// with File "site" and no line. It checks s as Parse would see it after
// filling its defaults (site id, All Users holding every user) but does not
// modify s.
func (s *Site) Validate() error {
	c := *s
	// normalise rewrites the All Users entry; work on a copy of the slice
	// header array so the caller's groups stay untouched.
	c.Groups = slices.Clone(s.Groups)
	c.normalise()
	var errs Errors
	c.validate(func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: "site", Line: line, Msg: fmt.Sprintf(format, args...)})
	})
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// checkKeys walks the YAML tree alongside the Go type and reports mapping
// keys that no field declares, so a typo ("owenr") is an error, not a silently
// missing owner.
func checkKeys(n *yaml.Node, t reflect.Type, path string, add func(int, string, ...any)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "-" || tag == "" {
				continue
			}
			fields[tag] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				var known []string
				for f := range fields {
					known = append(known, f)
				}
				slices.Sort(known)
				add(k.Line, "%s: unknown field %q (known: %s)", path, k.Value, strings.Join(known, ", "))
				continue
			}
			checkKeys(n.Content[i+1], ft, path+"."+k.Value, add)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKeys(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value, add)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), add)
		}
	}
}

// recordLines copies each sequence element's line into its Line field.
func recordLines(n *yaml.Node, v any) {
	walkLines(n, reflect.ValueOf(v))
}

func walkLines(n *yaml.Node, v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if f := v.FieldByName("Line"); f.IsValid() && f.CanSet() && f.Kind() == reflect.Int {
			f.SetInt(int64(n.Line))
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == tag {
					walkLines(n.Content[j+1], v.Field(i))
				}
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i := 0; i < v.Len() && i < len(n.Content); i++ {
			walkLines(n.Content[i], v.Index(i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for j := 0; j+1 < len(n.Content); j += 2 {
			key := reflect.ValueOf(n.Content[j].Value)
			if key.Type() != v.Type().Key() {
				continue
			}
			elem := v.MapIndex(key)
			if !elem.IsValid() {
				continue
			}
			// Map values are not addressable; copy, fill, store back.
			cp := reflect.New(elem.Type()).Elem()
			cp.Set(elem)
			walkLines(n.Content[j+1], cp)
			v.SetMapIndex(key, cp)
		}
	}
}

// normalise fills defaults: the All Users group with every user as member.
func (s *Site) normalise() {
	if s.ID == "" {
		s.ID = s.ContentURL
		if s.ID == "" {
			s.ID = "default"
		}
	}
	var all *Group
	for i := range s.Groups {
		if s.Groups[i].ID == AllUsersID {
			all = &s.Groups[i]
		}
	}
	if all == nil {
		s.Groups = append([]Group{{ID: AllUsersID, Name: AllUsersName}}, s.Groups...)
		all = &s.Groups[0]
	}
	if all.Name == "" {
		all.Name = AllUsersName
	}
	all.Members = all.Members[:0:0]
	for _, u := range s.Users {
		all.Members = append(all.Members, u.ID)
	}
}

var (
	projectModes  = []string{"ManagedByOwner", "LockedToProject", "LockedToProjectWithoutNested"}
	databaseModes = []string{"ManagedByOwner", "LockedToDatabase"}
	licenseModes  = []string{"onLogin", "onSync"}
)

// validate reports every dangling reference and bad value. Unknown site
// roles and capability names are not errors: Tableau may send them and the
// engine must keep them (spec §2, §4.1); they are only flagged downstream.
func (s *Site) validate(add func(int, string, ...any)) {
	ids := map[string]map[string]bool{"user": {}, "group": {}, "groupset": {}, "project": {}, "item": {}, "schedule": {}}
	dup := func(kind, id string, line int) {
		if id == "" {
			add(line, "%s: missing id", kind)
			return
		}
		if ids[kind][id] {
			add(line, "%s %q: duplicate id", kind, id)
		}
		ids[kind][id] = true
	}
	for _, u := range s.Users {
		dup("user", u.ID, u.Line)
		if u.Role == "" {
			add(u.Line, "user %q: missing role", u.ID)
		}
	}
	for _, g := range s.Groups {
		dup("group", g.ID, g.Line)
	}
	for _, g := range s.GroupSets {
		dup("groupset", g.ID, g.Line)
	}
	for _, p := range s.Projects {
		dup("project", p.ID, p.Line)
	}
	itemType := map[string]string{}
	for _, it := range s.Items {
		if ids["project"][it.ID] {
			add(it.Line, "item %q: id is already used by a project", it.ID)
		}
		dup("item", it.ID, it.Line)
		itemType[it.ID] = it.Type
	}
	for _, sc := range s.Schedules {
		dup("schedule", sc.ID, sc.Line)
	}
	ref := func(line int, what, kind, id string) {
		if id != "" && !ids[kind][id] {
			add(line, "%s: unknown %s %q", what, kind, id)
		}
	}
	for _, g := range s.Groups {
		for _, m := range g.Members {
			ref(g.Line, fmt.Sprintf("group %q members", g.ID), "user", m)
		}
		if g.LicenseMode != "" && !slices.Contains(licenseModes, g.LicenseMode) {
			add(g.Line, "group %q: license_mode %q (want onLogin or onSync)", g.ID, g.LicenseMode)
		}
	}
	for _, gs := range s.GroupSets {
		for _, g := range gs.Groups {
			ref(gs.Line, fmt.Sprintf("group set %q groups", gs.ID), "group", g)
		}
	}
	checkRules := func(owner string, contentType string, rules []Rule) {
		for _, r := range rules {
			kind, id, err := ParseGrantee(r.Grantee)
			if err != nil {
				add(r.Line, "%s: %v", owner, err)
				continue
			}
			ref(r.Line, owner+" rule", kind, id)
			if _, err := r.Capabilities(contentType); err != nil {
				add(r.Line, "%s rule for %s: %v", owner, r.Grantee, err)
			}
		}
	}
	for _, p := range s.Projects {
		what := fmt.Sprintf("project %q", p.ID)
		ref(p.Line, what+" parent", "project", p.Parent)
		// An owner that is not a site user is allowed: it is how a site file
		// describes an orphaned owner (spec §9.5, ORPHAN_OWNER).
		ref(p.Line, what+" controlling_project", "project", p.ControllingProject)
		if p.ContentPermissions != "" && !slices.Contains(projectModes, p.ContentPermissions) {
			add(p.Line, "%s: content_permissions %q (want %s)", what, p.ContentPermissions, strings.Join(projectModes, ", "))
		}
		checkRules(what, caps.Project, p.Rules)
		for t, rules := range p.Defaults {
			if !slices.ContainsFunc(caps.DefaultPermissionTypes, func(d struct{ Type, PathSegment string }) bool { return d.Type == t }) {
				add(p.Line, "%s defaults: unknown content type %q", what, t)
				continue
			}
			checkRules(what+" defaults."+t, t, rules)
		}
	}
	// Parent cycles would make every chain walk loop; reject them here.
	parent := map[string]string{}
	for _, p := range s.Projects {
		parent[p.ID] = p.Parent
	}
	for _, p := range s.Projects {
		seen := map[string]bool{}
		for q := p.ID; q != ""; q = parent[q] {
			if seen[q] {
				add(p.Line, "project %q: cycle in parent chain", p.ID)
				break
			}
			seen[q] = true
		}
	}
	for _, it := range s.Items {
		what := fmt.Sprintf("item %q", it.ID)
		if !slices.Contains(caps.ContentTypes, it.Type) || it.Type == caps.Project {
			add(it.Line, "%s: unknown type %q", what, it.Type)
			continue
		}
		switch it.Type {
		case caps.View:
			if it.Workbook == "" {
				add(it.Line, "%s: a view needs workbook", what)
			} else if itemType[it.Workbook] != caps.Workbook {
				add(it.Line, "%s: workbook %q is not a workbook item", what, it.Workbook)
			}
		case caps.Table:
			if it.Database == "" {
				add(it.Line, "%s: a table needs database", what)
			} else if itemType[it.Database] != caps.Database {
				add(it.Line, "%s: database %q is not a database item", what, it.Database)
			}
		case caps.Database:
			if it.ContentPermissions != "" && !slices.Contains(databaseModes, it.ContentPermissions) {
				add(it.Line, "%s: content_permissions %q (want %s)", what, it.ContentPermissions, strings.Join(databaseModes, ", "))
			}
		default:
			if it.Project == "" {
				add(it.Line, "%s: a %s needs project", what, it.Type)
			}
			ref(it.Line, what+" project", "project", it.Project)
		}
		checkRules(what, it.Type, it.Rules)
		for t, rules := range it.Defaults {
			checkRules(what+" defaults."+t, t, rules)
		}
	}
	for _, t := range s.ExtractRefreshTasks {
		ref(t.Line, fmt.Sprintf("extract refresh task %q schedule", t.ID), "schedule", t.Schedule)
		ref(t.Line, fmt.Sprintf("extract refresh task %q item", t.ID), "item", t.Item)
	}
	if s.Lineage != nil {
		s.Lineage.validate(ids["item"], itemType, add)
	}
}

func (l *Lineage) validate(items map[string]bool, itemType map[string]string, add func(int, string, ...any)) {
	local := map[string]map[string]bool{"database": {}, "table": {}, "custom_sql": {}, "embedded": {}, "vct": {}, "sheet": {}}
	for _, d := range l.Databases {
		local["database"][d.ID] = true
	}
	for _, t := range l.Tables {
		local["table"][t.ID] = true
	}
	for _, q := range l.CustomSQL {
		local["custom_sql"][q.ID] = true
	}
	for _, e := range l.EmbeddedDatasources {
		local["embedded"][e.ID] = true
	}
	for _, v := range l.VirtualConnectionTables {
		local["vct"][v.ID] = true
	}
	for _, sh := range l.Sheets {
		local["sheet"][sh.ID] = true
	}
	ref := func(line int, what, kind string, list ...string) {
		for _, id := range list {
			if id != "" && !local[kind][id] {
				add(line, "lineage %s: unknown %s %q", what, kind, id)
			}
		}
	}
	item := func(line int, what, typ string, list ...string) {
		for _, id := range list {
			if id == "" {
				continue
			}
			if !items[id] {
				add(line, "lineage %s: unknown item %q", what, id)
			} else if itemType[id] != typ {
				add(line, "lineage %s: item %q is a %s, want %s", what, id, itemType[id], typ)
			}
		}
	}
	for _, t := range l.Tables {
		ref(t.Line, fmt.Sprintf("table %q database", t.ID), "database", t.Database)
	}
	for _, q := range l.CustomSQL {
		ref(q.Line, fmt.Sprintf("custom_sql %q database", q.ID), "database", q.Database)
		ref(q.Line, fmt.Sprintf("custom_sql %q tables", q.ID), "table", q.Tables...)
	}
	for _, p := range l.PublishedDatasources {
		w := fmt.Sprintf("published datasource %q", p.Item)
		item(p.Line, w, caps.Datasource, p.Item)
		ref(p.Line, w+" tables", "table", p.Tables...)
		ref(p.Line, w+" custom_sql", "custom_sql", p.CustomSQL...)
		item(p.Line, w+" datasources", caps.Datasource, p.Datasources...)
		ref(p.Line, w+" virtual_connection_tables", "vct", p.VirtualConnectionTables...)
	}
	for _, e := range l.EmbeddedDatasources {
		w := fmt.Sprintf("embedded datasource %q", e.ID)
		item(e.Line, w+" workbook", caps.Workbook, e.Workbook)
		ref(e.Line, w+" tables", "table", e.Tables...)
		ref(e.Line, w+" custom_sql", "custom_sql", e.CustomSQL...)
		item(e.Line, w+" published", caps.Datasource, e.Published...)
	}
	for _, v := range l.VirtualConnectionTables {
		w := fmt.Sprintf("virtual connection table %q", v.ID)
		item(v.Line, w, caps.VirtualConnection, v.VirtualConnection)
		ref(v.Line, w+" tables", "table", v.Tables...)
	}
	for _, sh := range l.Sheets {
		w := fmt.Sprintf("sheet %q", sh.ID)
		item(sh.Line, w+" workbook", caps.Workbook, sh.Workbook)
		item(sh.Line, w+" view", caps.View, sh.View)
		ref(sh.Line, w+" datasources", "embedded", sh.Datasources...)
		ref(sh.Line, w+" tables", "table", sh.Tables...)
		for _, c := range sh.Columns {
			t, _, ok := strings.Cut(c, ".")
			if !ok {
				add(sh.Line, "lineage %s columns: %q is not <table id>.<column>", w, c)
				continue
			}
			ref(sh.Line, w+" columns", "table", t)
		}
	}
	for _, d := range l.Dashboards {
		w := fmt.Sprintf("dashboard %q", d.ID)
		item(d.Line, w+" workbook", caps.Workbook, d.Workbook)
		item(d.Line, w+" view", caps.View, d.View)
		ref(d.Line, w+" sheets", "sheet", d.Sheets...)
	}
	for _, f := range l.Flows {
		w := fmt.Sprintf("flow %q", f.Item)
		item(f.Line, w, caps.Flow, f.Item)
		ref(f.Line, w+" input_tables", "table", f.InputTables...)
		ref(f.Line, w+" output_tables", "table", f.OutputTables...)
	}
}

// Capability is one capability with its mode, as REST returns it.
type Capability struct {
	Name string
	Mode string // Allow | Deny
}

// Capabilities expands the rule for a content type into the per-capability
// modes REST would return: the template first, then explicit allows and
// denies override it. A capability listed under both allow and deny yields
// both entries, as a conflicting server response would (spec §10.1).
// Unknown capability names are kept (spec §2).
func (r Rule) Capabilities(contentType string) ([]Capability, error) {
	mode := map[string]string{}
	var order []string
	set := func(c, m string) {
		if _, ok := mode[c]; !ok {
			order = append(order, c)
		}
		mode[c] = m
	}
	if r.Template != "" {
		allow, deny, err := caps.Expand(contentType, r.Template)
		if err != nil {
			return nil, err
		}
		for _, c := range allow {
			set(c, "Allow")
		}
		for _, c := range deny {
			set(c, "Deny")
		}
	}
	for _, c := range r.Allow {
		set(c, "Allow")
	}
	var out []Capability
	var conflicts []string
	for _, c := range r.Deny {
		if slices.Contains(r.Allow, c) {
			conflicts = append(conflicts, c)
			continue
		}
		set(c, "Deny")
	}
	for _, c := range order {
		out = append(out, Capability{Name: c, Mode: mode[c]})
	}
	for _, c := range conflicts {
		out = append(out, Capability{Name: c, Mode: "Deny"})
	}
	return out, nil
}

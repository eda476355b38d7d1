package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// Matrix is an expected access matrix as loaded and checked: the business's
// approved access (rules), the accepted exceptions (waivers) and the hygiene
// checks to run. Load returns it only when every row passed the syntax
// checks; Validate then checks the names against a snapshot.
type Matrix struct {
	Version int
	Name    string
	// File is the path as given; SHA256 is the hex digest of its bytes (for
	// CSV, of the rules file followed by its waivers and hygiene files).
	File    string
	SHA256  string
	Rules   []*Rule
	Waivers []*Waiver
	Hygiene map[string]*HygieneSetting
	// Warnings are the non-fatal diagnostics of loading (template expansion
	// on types with newer capabilities, spec §3).
	Warnings Diagnostics
}

// Rule is one rule of the matrix.
type Rule struct {
	ID          string
	Description string
	Scope       Scope
	Grantees    []Grantee
	// Allow and Forbid are as written: a single template name, or capability
	// names.
	Allow  []string
	Forbid []string
	// Exclusive makes anyone outside the grantees who holds an allowed
	// capability in scope a finding (excess).
	Exclusive bool
	// IncludeAdmins counts administrators (decision reason ADMIN) in excess
	// and forbidden findings; by default their all-access is set aside.
	IncludeAdmins bool
	// Severity overrides the default severity of the rule's findings.
	Severity string
	Pos      Pos
	// Comment is written above the rule by WriteYAML (Init explains its
	// choices there); it is not read back.
	Comment string
	// fieldPos is where each key was written (YAML), so a diagnostic points
	// at the offending line rather than the rule's first.
	fieldPos map[string]Pos

	// Filled by compile: effective content types and capabilities per type.
	Types      []string
	AllowCaps  map[string][]string
	ForbidCaps map[string][]string
}

// Scope selects content. Fields combine with AND; the values of one field
// with OR. An empty field does not restrict.
type Scope struct {
	Projects          []string // doublestar globs over the project path ("Finance/**")
	Types             []string // content types; default: every type but project
	Names             []string // doublestar globs over the item name ("Pipeline*")
	Tags              []string // any of these tags
	Owners            []string // owner's user name or email
	UpstreamTables    []string // [database.]schema.table or table, through lineage
	UpstreamDatabases []string // database name, through lineage
}

// Grantee is one entry of a rule's grantees: a group name, a user name or
// email, or a site role.
type Grantee struct {
	Kind string // group | user | site_role
	Name string
	Pos  Pos
}

// Waiver is an accepted exception: findings of Rule for User are waived
// until the end of the Until day (UTC).
type Waiver struct {
	ID         string
	Rule       string
	User       string
	Capability string // optional: only this capability
	Until      time.Time
	Reason     string
	Owner      string
	Pos        Pos
}

// HygieneSetting switches one built-in check and sets its severity and
// parameter. Nil/zero fields keep the default.
type HygieneSetting struct {
	Enabled  *bool
	Severity string
	Days     int // inactive_users: no sign-in for this many days
	Max      int // admins_count: more administrators than this is a finding
	Pos      Pos
}

// Severities from most to least severe.
var Severities = []string{"critical", "high", "medium", "low", "info"}

// SeverityRank is 0 for critical up to 4 for info, and -1 for an unknown name.
func SeverityRank(s string) int { return slices.Index(Severities, s) }

// defaultTypes is the scope when a rule names no type: every content type
// but projects, whose capabilities (Read, Write, ProjectLeader) mean
// something else and are asserted only when asked for.
var defaultTypes = []string{caps.Workbook, caps.View, caps.Datasource, caps.Flow, caps.VirtualConnection, caps.Database, caps.Table}

// modelTypes are the content types of the model's content relation.
var modelTypes = []string{caps.Project, caps.Workbook, caps.View, caps.Datasource, caps.Flow, caps.VirtualConnection, caps.Database, caps.Table}

// newerCaps are the capabilities no template is known to include (spec §3,
// U15); a template expanded on a type that has them is expanded with a
// warning.
var newerCaps = []string{"ExtractRefresh", "VizqlDataApiAccess", "PulseMetricDefine", "AiAccess"}

// compile checks one matrix for everything that needs no snapshot and fills
// the rules' effective types and capabilities.
func (m *Matrix) compile(d *diags) {
	ids := map[string]*Rule{}
	for _, r := range m.Rules {
		if r.ID == "" {
			d.errorf(r.Pos, CodeMissingField, "every rule needs a unique id", "rule has no id")
		} else if prev, dup := ids[r.ID]; dup {
			d.errorf(r.Pos, CodeDuplicateID, "first defined at "+prev.Pos.String(), "duplicate rule id %q", r.ID)
		} else {
			ids[r.ID] = r
		}
		r.compile(d)
	}
	seen := map[string]bool{}
	for _, w := range m.Waivers {
		if w.Rule == "" {
			d.errorf(w.Pos, CodeMissingField, "", "waiver has no rule")
		} else if ids[w.Rule] == nil {
			d.errorf(w.Pos, CodeWaiverRule, didYouMean(w.Rule, keys(ids)), "waiver for unknown rule %q", w.Rule)
		}
		for _, f := range []struct{ name, v string }{{"user", w.User}, {"reason", w.Reason}, {"owner", w.Owner}} {
			if f.v == "" {
				d.errorf(w.Pos, CodeMissingField, "a waiver names the user it covers, why, and who accepted it", "waiver has no %s", f.name)
			}
		}
		if w.Capability != "" && !caps.Known(w.Capability) {
			d.errorf(w.Pos, CodeUnknownCap, didYouMean(w.Capability, caps.AllCapabilities), "unknown capability %q", w.Capability)
		}
		if w.ID == "" {
			w.ID = w.Rule + ":" + w.User
			if w.Capability != "" {
				w.ID += ":" + w.Capability
			}
		}
		if seen[w.ID] {
			d.errorf(w.Pos, CodeDuplicateID, "", "duplicate waiver %q", w.ID)
		}
		seen[w.ID] = true
	}
	for name, h := range m.Hygiene {
		if _, ok := hygieneDefaults[name]; !ok {
			d.errorf(h.Pos, CodeUnknownCheck, didYouMean(name, HygieneChecks()), "unknown hygiene check %q", name)
		}
		if h.Severity != "" && SeverityRank(h.Severity) < 0 {
			d.errorf(h.Pos, CodeBadValue, "want one of "+strings.Join(Severities, ", "), "unknown severity %q", h.Severity)
		}
		if h.Days < 0 || h.Max < 0 {
			d.errorf(h.Pos, CodeBadValue, "", "hygiene %s: days and max must not be negative", name)
		}
	}
}

func (r *Rule) compile(d *diags) {
	s := &r.Scope
	for _, g := range append(slices.Clone(s.Projects), s.Names...) {
		if !doublestar.ValidatePattern(g) {
			d.errorf(r.at("scope"), CodeBadGlob, `globs use *, **, ?, [abc] and {a,b}; escape a literal with \`, "bad glob %q", g)
		}
	}
	r.Types = nil
	for _, t := range s.Types {
		if !slices.Contains(modelTypes, t) {
			d.errorf(r.at("scope"), CodeUnknownType, didYouMean(t, modelTypes), "unknown content type %q", t)
			continue
		}
		if !slices.Contains(r.Types, t) {
			r.Types = append(r.Types, t)
		}
	}
	if len(s.Types) == 0 {
		r.Types = slices.Clone(defaultTypes)
	}
	for _, g := range r.Grantees {
		switch g.Kind {
		case "site_role":
			if _, _, ok := caps.NormaliseRole(g.Name); !ok {
				d.errorf(g.Pos, CodeUnknownRole, didYouMean(g.Name, append(slices.Clone(caps.CurrentRoles), keys(caps.LegacyRoles)...)), "unknown site role %q", g.Name)
			}
		case "group", "user":
			if g.Name == "" {
				d.errorf(g.Pos, CodeMissingField, "", "empty %s name in grantees", g.Kind)
			}
		}
	}
	if r.Severity != "" && SeverityRank(r.Severity) < 0 {
		d.errorf(r.at("severity"), CodeBadValue, "want one of "+strings.Join(Severities, ", "), "unknown severity %q", r.Severity)
	}
	if len(r.Allow) == 0 && len(r.Forbid) == 0 {
		d.errorf(r.Pos, CodeMissingField, "a rule says what is expected (allow) or what nobody may hold (forbid)", "rule %q has neither allow nor forbid", r.ID)
	}
	if len(r.Allow) > 0 && len(r.Grantees) == 0 {
		d.errorf(r.Pos, CodeConflict, "name the groups, users or site roles expected to hold it", "rule %q allows access but has no grantees", r.ID)
	}
	if r.Exclusive && len(r.Allow) == 0 {
		d.errorf(r.Pos, CodeConflict, "exclusive applies to the allowed capabilities", "rule %q is exclusive but allows nothing", r.ID)
	}
	if len(r.Types) == 0 {
		return
	}
	r.AllowCaps = r.expand(d, "allow", r.Allow)
	r.ForbidCaps = r.expand(d, "forbid", r.Forbid)
	for t, fc := range r.ForbidCaps {
		for _, c := range fc {
			if slices.Contains(r.AllowCaps[t], c) {
				d.errorf(r.at("forbid"), CodeConflict, "", "rule %q both allows and forbids %s on %s", r.ID, c, t)
			}
		}
	}
}

// expand turns what a rule wrote into capabilities per content type.
// A single template name expands per type (spec §3); capability names apply
// to the types they exist on, and one that exists on none of them is an
// error rather than a rule that silently checks nothing.
func (r *Rule) expand(d *diags, field string, spec []string) map[string][]string {
	if len(spec) == 0 {
		return nil
	}
	out := map[string][]string{}
	if len(spec) == 1 && (slices.Contains(caps.Templates, spec[0]) || spec[0] == "None" || spec[0] == "Denied") {
		tmpl := spec[0]
		if tmpl == "None" || tmpl == "Denied" {
			d.errorf(r.at(field), CodeUnknownTemplate, "use View, Explore, Publish or Administer, or list capabilities", "template %q cannot be used in %s", tmpl, field)
			return nil
		}
		var warnTypes []string
		for _, t := range r.Types {
			allow, _, err := caps.Expand(t, tmpl)
			if err != nil {
				d.errorf(r.at(field), CodeUnknownTemplate, "", "%s on %s: %v", field, t, err)
				continue
			}
			if len(allow) > 0 {
				out[t] = allow
			}
			for _, c := range newerCaps {
				if caps.Applies(t, c) {
					warnTypes = append(warnTypes, t)
					break
				}
			}
		}
		if len(warnTypes) > 0 {
			var newer []string
			for _, c := range newerCaps {
				for _, t := range warnTypes {
					if caps.Applies(t, c) && !slices.Contains(newer, c) {
						newer = append(newer, c)
					}
				}
			}
			d.warnf(r.at(field), CodeTemplateWarning, "list them explicitly if the policy covers them",
				"template %s on %s includes none of %s: where they sit in the template ladder is not documented (spec §3, U15)",
				tmpl, strings.Join(warnTypes, ", "), strings.Join(newer, ", "))
		}
		return out
	}
	for _, c := range spec {
		if !caps.Known(c) || c == "InheritedProjectLeader" {
			cands := append(slices.Clone(caps.AllCapabilities), caps.Templates...)
			if len(spec) == 1 {
				d.errorf(r.at(field), CodeUnknownTemplate, didYouMean(c, cands), "%s: %q is neither a template nor a capability", field, c)
			} else {
				d.errorf(r.at(field), CodeUnknownCap, didYouMean(c, cands), "%s: unknown capability %q", field, c)
			}
			continue
		}
		applied := false
		for _, t := range r.Types {
			if caps.Applies(t, c) {
				out[t] = append(out[t], c)
				applied = true
			}
		}
		if !applied {
			var on []string
			for _, t := range modelTypes {
				if caps.Applies(t, c) {
					on = append(on, t)
				}
			}
			d.errorf(r.at(field), CodeUnknownCap, fmt.Sprintf("%s exists on %s", c, strings.Join(on, ", ")),
				"%s: capability %s does not exist on %s", field, c, strings.Join(r.Types, ", "))
		}
	}
	return out
}

// at is the position of a rule's field, or the rule's.
func (r *Rule) at(field string) Pos {
	if p, ok := r.fieldPos[field]; ok {
		return p
	}
	return r.Pos
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

package eval

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// Site-level finding codes: spec §13's list, then the ones this package adds
// so that no odd row in the data is dropped silently.
const (
	CodeOrphanOwner             = "ORPHAN_OWNER"
	CodeStaleItemRules          = "STALE_ITEM_RULES"
	CodeControllingMismatch     = "CONTROLLING_PROJECT_MISMATCH"
	CodeParentElementMismatch   = "PARENT_ELEMENT_MISMATCH"
	CodeConflictingRule         = "CONFLICTING_RULE"
	CodeLegacyLeaderDeny        = "LEGACY_PROJECT_LEADER_DENY"
	CodeLegacySiteRole          = "LEGACY_SITE_ROLE"
	CodeLatentAccess            = "LATENT_ACCESS"
	CodeUnknownCapability       = "UNKNOWN_CAPABILITY"
	CodeInheritedLeaderMismatch = "INHERITED_LEADER_MISMATCH"
	CodeViewWithoutWorkbookRead = "VIEW_WITHOUT_WORKBOOK_READ"
	CodeAllUsersHasAllows       = "ALL_USERS_HAS_ALLOWS"

	// CodeUnknownGrantee: a rule names a user, group or group set that is not
	// on the site. The rule is kept; it matches nobody.
	CodeUnknownGrantee = "UNKNOWN_GRANTEE"
	// CodeDanglingReference: a membership, parent, workbook, database,
	// project or controlling-project reference names a missing object.
	CodeDanglingReference = "DANGLING_REFERENCE"
	// CodeUnknownRuleMode: a rule row whose mode is neither Allow nor Deny.
	CodeUnknownRuleMode = "UNKNOWN_RULE_MODE"
	// CodeUnknownSiteRole: a site role (or group minimum role) the engine
	// does not know; the user gets an empty cap.
	CodeUnknownSiteRole = "UNKNOWN_SITE_ROLE"
	// CodeGLSIMismatch: glsi_minimum_site_role disagrees with the projected
	// role computed from group minimums (spec §9.3 "flag a mismatch").
	CodeGLSIMismatch = "GLSI_MISMATCH"
)

// Finding is one site-level finding (spec §13). Object is what it is about;
// Related, when set, is the second party (a grantee, a user or a
// capability, RelatedType "capability").
type Finding struct {
	Code        string
	ObjectType  string
	ObjectID    string
	RelatedType string
	RelatedID   string
	Detail      string
}

// Short formats the finding as the spec vectors list them,
// CODE:<name>[:<name>], with names (which default to short ids in site
// files) in place of LUIDs.
func (fd Finding) Short(f *Facts) string {
	s := fd.Code + ":" + f.Name(fd.ObjectType, fd.ObjectID)
	switch fd.RelatedType {
	case "":
	case "capability":
		s += ":" + fd.RelatedID
	default:
		s += ":" + f.Name(fd.RelatedType, fd.RelatedID)
	}
	return s
}

// Findings lists the site-level findings of spec §13 for the facts, sorted
// by code, object and related id.
func Findings(f *Facts) []Finding {
	out := slices.Clone(f.dangling)
	add := func(code, objType, objID, relType, relID, format string, args ...any) {
		out = append(out, Finding{Code: code, ObjectType: objType, ObjectID: objID, RelatedType: relType, RelatedID: relID, Detail: fmt.Sprintf(format, args...)})
	}

	// Owners missing from the user list (spec §9.5). Views take their
	// workbook's owner and are reported through the workbook.
	for _, id := range f.ProjectIDs {
		p := f.Projects[id]
		if p.OwnerID != "" && f.Users[p.OwnerID] == nil {
			add(CodeOrphanOwner, caps.Project, p.ID, "", "", "project %q is owned by %s, which is not a site user: nobody gets the project-owner position", p.Path, p.OwnerID)
		}
	}
	for _, k := range f.ItemKeys {
		it := f.Items[k]
		if it.Type != caps.View && it.OwnerID != "" && f.Users[it.OwnerID] == nil {
			add(CodeOrphanOwner, it.Type, it.ID, "", "", "%s %q is owned by %s, which is not a site user: nobody gets the owner bypass", it.Type, f.ItemPath(k), it.OwnerID)
		}
	}

	// Controlling project: REST against the tree (spec §7.2).
	for _, id := range f.ProjectIDs {
		p := f.Projects[id]
		if p.ReportedControlling != "" && p.ReportedControlling != p.ComputedControlling {
			add(CodeControllingMismatch, caps.Project, p.ID, caps.Project, p.ReportedControlling,
				"project %q reports controlling project %q, the tree gives %q; the reported one is used",
				p.Path, f.Name(caps.Project, p.ReportedControlling), f.Name(caps.Project, p.ComputedControlling))
		}
	}

	for _, s := range f.RuleSets() {
		f.ruleSetFindings(s, add)
	}
	for _, c := range f.conflicts {
		add(CodeConflictingRule, c.set.Type, c.set.ID, c.grantee.Kind, c.grantee.ID,
			"%s carries both Allow and Deny for %s on %s %s (%s); treated as Deny (§10.1)",
			f.label(c.grantee.Kind, c.grantee.ID), c.capability, c.set.Type, f.Name(c.set.Type, c.set.ID), c.set.Set)
	}

	f.userFindings(add)
	f.staleRules(add)
	f.inheritedLeaders(add)
	f.viewsWithoutWorkbookRead(add)

	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.ObjectType, b.ObjectType), cmp.Compare(a.ObjectID, b.ObjectID),
			cmp.Compare(a.RelatedType, b.RelatedType), cmp.Compare(a.RelatedID, b.RelatedID), cmp.Compare(a.Detail, b.Detail))
	})
	return out
}

type addFunc func(code, objType, objID, relType, relID, format string, args ...any)

func (f *Facts) ruleSetFindings(s *RuleSet, add addFunc) {
	governs := s.Object.Type
	if t, ok := strings.CutPrefix(s.Set, "default:"); ok {
		governs = t
	}
	// The <parent> element against the computed controlling project (§7.3, U10).
	if s.Parent != "" && s.Set == RuleSetItem {
		var p *Project
		if s.Object.Type == caps.Project {
			p = f.Projects[s.Object.ID]
		} else if it := f.Items[s.Object]; it != nil {
			p = f.Projects[it.ProjectID]
		}
		if p != nil && s.Parent != p.ComputedControlling {
			add(CodeParentElementMismatch, s.Object.Type, s.Object.ID, caps.Project, s.Parent,
				"the permissions response names parent project %q; the computed controlling project is %q",
				f.Name(caps.Project, s.Parent), f.Name(caps.Project, p.ComputedControlling))
		}
	}
	unknown := map[string]bool{}
	for _, r := range s.Rules {
		var allows []string
		for _, c := range sortedKeys(r.Caps) {
			if !caps.Applies(governs, c) && c != "InheritedProjectLeader" && !unknown[c] {
				unknown[c] = true
				add(CodeUnknownCapability, s.Object.Type, s.Object.ID, "capability", c,
					"rules on %s (%s) carry %s, which the catalogue does not list for %s; kept and evaluated generically (§2)",
					f.Name(s.Object.Type, s.Object.ID), s.Set, c, governs)
			}
			if r.Caps[c] == ModeAllow {
				allows = append(allows, c)
			}
		}
		if s.Object.Type == caps.Project && s.Set == RuleSetItem && r.Caps["ProjectLeader"] == ModeDeny {
			add(CodeLegacyLeaderDeny, caps.Project, s.Object.ID, r.Grantee.Kind, r.Grantee.ID,
				"%s is denied ProjectLeader on project %q: a pre-2020.1 row, still applied (§10.2, U8)",
				f.label(r.Grantee.Kind, r.Grantee.ID), f.Name(caps.Project, s.Object.ID))
		}
		if r.Grantee.Kind == "group" && r.Grantee.ID == f.AllUsersID && f.AllUsersID != "" && len(allows) > 0 {
			add(CodeAllUsersHasAllows, s.Object.Type, s.Object.ID, "group", r.Grantee.ID,
				"All Users is allowed %s on %s %q (%s); Tableau recommends clearing the All Users rule (§9.1)",
				strings.Join(allows, ", "), s.Object.Type, f.Name(s.Object.Type, s.Object.ID), s.Set)
		}
	}
}

func (f *Facts) userFindings(add addFunc) {
	for _, id := range f.UserIDs {
		u := f.Users[id]
		switch {
		case !u.Current.Known:
			add(CodeUnknownSiteRole, "user", u.ID, "", "", "user %q has site role %q, which the engine does not know: evaluated with an empty cap", u.Name, u.SiteRole)
		case u.Current.Row.Legacy:
			add(CodeLegacySiteRole, "user", u.ID, "", "", "user %q has legacy site role %s, evaluated as %s (§4.1)", u.Name, u.SiteRole, u.Current.Row.TreatedAs)
		}
		if u.Projected.Row.TreatedAs != u.Current.Row.TreatedAs {
			add(CodeLatentAccess, "user", u.ID, "", "", "user %q is %s today and becomes %s on signing in (from %s, §9.3)",
				u.Name, u.Current.Row.TreatedAs, u.Projected.Row.TreatedAs, u.Projected.Source)
		}
		if !u.Projected.Known && u.Current.Known {
			add(CodeUnknownSiteRole, "user", u.ID, "", "", "user %q has projected role %q, which the engine does not know", u.Name, u.Projected.Raw)
		}
		if u.GLSIMinimumSiteRole != "" && u.Projected.Row.TreatedAs != u.ComputedProjected {
			add(CodeGLSIMismatch, "user", u.ID, "", "", "user %q: glsi_minimum_site_role gives %s, group minimum roles give %s; the server's value is used (§9.3)",
				u.Name, u.Projected.Row.TreatedAs, u.ComputedProjected)
		}
	}
}

// ruleTriples renders a rule set as sorted "grantee capability mode" lines,
// keeping only capabilities keep accepts.
func ruleTriples(s *RuleSet, keep func(string) bool) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, r := range s.Rules {
		for c, m := range r.Caps {
			if keep(c) {
				out = append(out, r.Grantee.String()+" "+c+" "+m)
			}
		}
	}
	slices.Sort(out)
	return out
}

// staleRules reports stored rules that the governing ACL supersedes and that
// differ from it (spec §7.3). An object without stored rules is not
// reported: an empty list cannot be told apart from one never fetched.
func (f *Facts) staleRules(add addFunc) {
	for _, k := range f.ItemKeys {
		it := f.Items[k]
		own := f.RuleSet(k, RuleSetItem)
		if own == nil || it.Personal() {
			continue
		}
		a := f.resolveACL(k, it)
		if a.ref == own.Ref() {
			continue
		}
		keep := func(c string) bool { return caps.Applies(it.Type, c) }
		if !slices.Equal(ruleTriples(own, keep), ruleTriples(a.set, keep)) {
			add(CodeStaleItemRules, it.Type, it.ID, "", "", "%s %q stores rules that differ from the governing %s; they are ignored (§7.3)",
				it.Type, f.ItemPath(k), a.why)
		}
	}
	for _, id := range f.ProjectIDs {
		p := f.Projects[id]
		if p.Controlling == p.ID {
			continue
		}
		all := func(string) bool { return true }
		k := Key{caps.Project, id}
		for _, set := range f.projectSets(id) {
			own := f.RuleSet(k, set)
			gov := f.RuleSet(Key{caps.Project, p.Controlling}, set)
			if !slices.Equal(ruleTriples(own, all), ruleTriples(gov, all)) {
				add(CodeStaleItemRules, caps.Project, id, "", "", "project %q stores %s rules that differ from those of its controlling project %q; they are ignored (§7.1, §7.3)",
					p.Path, set, f.Name(caps.Project, p.Controlling))
			}
		}
	}
}

func (f *Facts) projectSets(id string) []string {
	var sets []string
	for _, k := range f.ruleKeys {
		if k.Type == caps.Project && k.ID == id {
			sets = append(sets, k.Set)
		}
	}
	return sets
}

// inheritedLeaders cross-checks REST's InheritedProjectLeader markers with
// leadership computed per grantee from the ancestors (spec §10.3). Missing
// markers are only reported when the data carries markers at all, since
// older servers do not send them.
func (f *Facts) inheritedLeaders(add addFunc) {
	markers := false
	marked := map[string]map[Grantee]bool{}
	for _, s := range f.RuleSets() {
		if s.Object.Type != caps.Project || s.Set != RuleSetItem {
			continue
		}
		for _, r := range s.Rules {
			if r.Caps["InheritedProjectLeader"] == ModeAllow {
				markers = true
				if marked[s.Object.ID] == nil {
					marked[s.Object.ID] = map[Grantee]bool{}
				}
				marked[s.Object.ID][r.Grantee] = true
			}
		}
	}
	if !markers {
		return
	}
	for _, id := range f.ProjectIDs {
		p := f.Projects[id]
		computed := map[Grantee]bool{}
		for _, q := range p.Chain[1:] {
			s := f.RuleSet(Key{caps.Project, f.Projects[q].Controlling}, RuleSetItem)
			if s == nil {
				continue
			}
			for _, r := range s.Rules {
				if r.Caps["ProjectLeader"] == ModeAllow {
					computed[r.Grantee] = true
				}
			}
		}
		var gs []Grantee
		for g := range computed {
			gs = append(gs, g)
		}
		for g := range marked[id] {
			if !computed[g] {
				gs = append(gs, g)
			}
		}
		slices.SortFunc(gs, func(a, b Grantee) int { return cmp.Compare(a.String(), b.String()) })
		for _, g := range gs {
			if computed[g] != marked[id][g] {
				add(CodeInheritedLeaderMismatch, caps.Project, id, g.Kind, g.ID,
					"project %q: REST %s InheritedProjectLeader for %s, computed leadership from ancestors says %v",
					p.Path, map[bool]string{true: "marks", false: "does not mark"}[marked[id][g]], f.label(g.Kind, g.ID), computed[g])
			}
		}
	}
}

// viewsWithoutWorkbookRead reports, per independently permissioned view,
// the users whose Read on the view is allowed while Read on its workbook is
// denied (spec §7.4, U6): one finding per view with the count and the first
// names; each such decision also carries the VIEW_WITHOUT_WORKBOOK_READ flag.
//
// Evaluating every user against every such view is too slow on large sites,
// and needless: both decisions share the user's role, ceiling cell (Read is
// tier V on both types) and positions (same owner, same project chain). So
// the answer differs only through steps 5–8 on the two rule lists, which for
// a user without a user rule there depend only on membership of the few
// groups and group sets those lists name for Read. Users are keyed by that
// membership and one representative per key is evaluated; users with a user
// rule are evaluated in full. Position holders are dropped last.
func (f *Facts) viewsWithoutWorkbookRead(add addFunc) {
	for _, k := range f.ItemKeys {
		if k.Type != caps.View {
			continue
		}
		n, first := f.viewReadWithoutWorkbook(k, 5)
		if n == 0 {
			continue
		}
		var names []string
		for _, uid := range first {
			names = append(names, fmt.Sprintf("%q", f.Users[uid].Name))
		}
		more := ""
		if n > len(first) {
			more = fmt.Sprintf(" and %d more", n-len(first))
		}
		add(CodeViewWithoutWorkbookRead, caps.View, k.ID, "", "",
			"%d users may Read view %q but not its workbook (§7.4, U6): %s%s", n, f.ItemPath(k), strings.Join(names, ", "), more)
	}
}

// viewReadWithoutWorkbook counts the users (current basis) who may Read the
// view but not its workbook, and returns the first limit of them in LUID
// order (all when limit < 0). It is 0 unless the view carries its own rules.
//
// Users named by no Read rule of either list, other than through All
// Users, all decide alike; they are counted from one representative, minus
// those holding a position (found among the few users the chain's
// ProjectLeader rules and owners can reach). Everyone else is evaluated
// per membership key.
func (f *Facts) viewReadWithoutWorkbook(k Key, limit int) (int, []string) {
	it := f.Items[k]
	if it == nil || it.Personal() {
		return 0, nil
	}
	a := f.resolveACL(k, it)
	wk := Key{caps.Workbook, it.WorkbookID}
	if !a.ownACLView || a.set == nil {
		return 0, nil
	}
	aw := f.resolveACL(wk, f.Items[wk])
	var relevant []Grantee
	explicit := map[string]bool{} // users reached by a rule other than through All Users
	for _, s := range []*RuleSet{a.set, aw.set} {
		if s == nil {
			continue
		}
		for _, r := range s.Rules {
			if r.Caps["Read"] == "" {
				continue
			}
			if r.Grantee.Kind == "user" {
				explicit[r.Grantee.ID] = true
			} else if !slices.Contains(relevant, r.Grantee) {
				relevant = append(relevant, r.Grantee)
			}
		}
	}
	// Others are denied on both (ceiling) or allowed on both (administrators).
	eligible := func(u *User) bool { return u.viewReader }
	cache := map[string]bool{}
	key := make([]byte, len(relevant))
	byRules := func(u *User) bool {
		if a.set.Rule(Grantee{"user", u.ID}) == nil && aw.set.Rule(Grantee{"user", u.ID}) == nil {
			for i, g := range relevant {
				key[i] = '0'
				if (g.Kind == "group" && u.inGroup[g.ID]) || (g.Kind == "groupset" && u.inSet[g.ID]) {
					key[i] = '1'
				}
			}
			if hit, seen := cache[string(key)]; seen {
				return hit
			}
			hit := f.ruleDecision(u, a.set, "Read").result == Allow && f.ruleDecision(u, aw.set, "Read").result == Deny
			cache[string(key)] = hit
			return hit
		}
		return f.ruleDecision(u, a.set, "Read").result == Allow && f.ruleDecision(u, aw.set, "Read").result == Deny
	}
	if !f.membershipCanHit(relevant, byRules) {
		// No combination of group and group-set memberships gives view Read
		// without workbook Read: only users with a user rule can.
		var hits []string
		for _, s := range []*RuleSet{a.set, aw.set} {
			if s == nil {
				continue
			}
			for _, r := range s.Rules {
				if u := f.Users[r.Grantee.ID]; r.Grantee.Kind == "user" && u != nil && eligible(u) && !slices.Contains(hits, u.ID) &&
					byRules(u) && !f.holdsPosition(u, it, a) {
					hits = append(hits, u.ID)
				}
			}
		}
		slices.Sort(hits)
		n := len(hits)
		if limit >= 0 && len(hits) > limit {
			hits = hits[:limit]
		}
		return n, hits
	}
	for _, g := range relevant {
		for _, m := range f.granteeMembers(g) {
			explicit[m] = true
		}
	}
	hitE := map[string]bool{}
	eligibleE := 0
	for uid := range explicit {
		u := f.Users[uid]
		if u == nil || !eligible(u) {
			continue
		}
		eligibleE++
		if byRules(u) && !f.holdsPosition(u, it, a) {
			hitE[uid] = true
		}
	}
	// The rest: one representative decides for all of them.
	restHit := false
	for _, uid := range f.UserIDs {
		if u := f.Users[uid]; !explicit[uid] && eligible(u) {
			restHit = byRules(u)
			break
		}
	}
	n := len(hitE)
	var positioned map[string]bool
	if restHit {
		positioned = map[string]bool{}
		for _, uid := range f.positionCandidates(it, a) {
			if u := f.Users[uid]; u != nil && !explicit[uid] && eligible(u) && f.holdsPosition(u, it, a) {
				positioned[uid] = true
			}
		}
		n += f.eligibleViewReaders - eligibleE - len(positioned)
	}
	var first []string
	if !restHit {
		for uid := range hitE {
			first = append(first, uid)
		}
		slices.Sort(first)
		if limit >= 0 && len(first) > limit {
			first = first[:limit]
		}
		return n, first
	}
	for _, uid := range f.UserIDs {
		if limit >= 0 && len(first) >= limit {
			break
		}
		if hitE[uid] || (!explicit[uid] && !positioned[uid] && eligible(f.Users[uid])) {
			first = append(first, uid)
		}
	}
	return n, first
}

// membershipCanHit tries every combination of membership in the relevant
// groups and group sets (All Users always in) with a user that has no user
// rule, and reports whether any gives a hit. Combinations no real user has
// only err towards true, which sends the caller to the per-user path.
func (f *Facts) membershipCanHit(relevant []Grantee, hit func(*User) bool) bool {
	if len(relevant) > 10 {
		return true
	}
	always := func(g Grantee) bool {
		return (g.Kind == "group" && g.ID == f.AllUsersID) ||
			(g.Kind == "groupset" && f.GroupSets[g.ID] != nil && slices.Equal(f.GroupSets[g.ID].Groups, []string{f.AllUsersID}))
	}
	for mask := 0; mask < 1<<len(relevant); mask++ {
		fake := &User{inGroup: map[string]bool{}, inSet: map[string]bool{}}
		possible := true
		for i, g := range relevant {
			in := mask&(1<<i) != 0
			if always(g) && !in {
				possible = false
				break
			}
			if in && g.Kind == "group" {
				fake.inGroup[g.ID] = true
			}
			if in && g.Kind == "groupset" {
				fake.inSet[g.ID] = true
			}
		}
		if possible && hit(fake) {
			return true
		}
	}
	return false
}

// granteeMembers lists the users a group or group-set grantee reaches.
func (f *Facts) granteeMembers(g Grantee) []string {
	switch g.Kind {
	case "group":
		if g.ID == f.AllUsersID {
			return nil // everybody: handled as "the rest"
		}
		if grp := f.Groups[g.ID]; grp != nil {
			return grp.Members
		}
	case "groupset":
		if s := f.GroupSets[g.ID]; s != nil {
			if slices.Equal(s.Groups, []string{f.AllUsersID}) {
				return nil
			}
			return s.Members
		}
	}
	return nil
}

// positionCandidates lists every user who could own or lead the item's
// project chain or own the item: owners, and the users reached by a
// ProjectLeader rule on a chain project's controlling rules (everyone when
// All Users is named).
func (f *Facts) positionCandidates(it *Item, a acl) []string {
	out := []string{it.OwnerID}
	if a.project == nil {
		return out
	}
	for _, q := range a.project.Chain {
		out = append(out, f.Projects[q].OwnerID)
		s := f.RuleSet(Key{caps.Project, f.Projects[q].Controlling}, RuleSetItem)
		if s == nil {
			continue
		}
		for _, r := range s.Rules {
			if r.Caps["ProjectLeader"] != ModeAllow {
				continue
			}
			switch {
			case r.Grantee.Kind == "user":
				out = append(out, r.Grantee.ID)
			case r.Grantee.Kind == "group" && r.Grantee.ID == f.AllUsersID,
				r.Grantee.Kind == "groupset" && f.GroupSets[r.Grantee.ID] != nil && slices.Equal(f.GroupSets[r.Grantee.ID].Groups, []string{f.AllUsersID}):
				return f.UserIDs
			default:
				out = append(out, f.granteeMembers(r.Grantee)...)
			}
		}
	}
	return out
}

// holdsPosition reports whether the user owns or leads the item's project
// chain or owns the item (spec §8.2 step 4), which allows both a view and
// its workbook.
func (f *Facts) holdsPosition(u *User, it *Item, a acl) bool {
	if it.OwnerID == u.ID {
		return true
	}
	if a.project == nil {
		return false
	}
	for _, q := range a.project.Chain {
		if f.Projects[q].OwnerID == u.ID {
			return true
		}
		if f.ruleDecision(u, f.RuleSet(Key{caps.Project, f.Projects[q].Controlling}, RuleSetItem), "ProjectLeader").result == Allow {
			return true
		}
	}
	return false
}

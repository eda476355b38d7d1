package eval

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tabaudit/tabaudit/internal/caps"
)

// acl is the outcome of ACL resolution (spec §7) for one item.
type acl struct {
	set        *RuleSet // the governing stored rules; nil when none are stored
	ref        string   // the governing list's name even when nothing is stored
	why        string
	conf       Confidence
	project    *Project // P of §8.2 step 3; nil for databases, tables, Personal Space
	lockedFor  bool     // §8.5 lockedFor(x): the owner exception applies
	projLocked bool     // §8.5 projectLocked(x): the step-9 lock guard applies
	lockedDB   bool     // a table of a LockedToDatabase database
	ownACLView bool     // a view that carries its own rules (§7.4)
	personal   bool
}

func (f *Facts) label(kind, id string) string {
	n := f.Name(kind, id)
	if kind == caps.Project {
		if p := f.Projects[id]; p != nil {
			n = p.Path
		}
	}
	return fmt.Sprintf("%s %q", kind, n)
}

func (f *Facts) governing(object Key, set, why string, conf Confidence) acl {
	ref := object.String()
	if set != RuleSetItem {
		ref += "/" + set
	}
	return acl{set: f.RuleSet(object, set), ref: ref, why: why, conf: conf}
}

// resolveACL implements spec §7.3.
func (f *Facts) resolveACL(k Key, it *Item) acl {
	if k.Type == caps.Project {
		p := f.Projects[k.ID]
		var a acl
		if p.Controlling == p.ID {
			a = f.governing(k, RuleSetItem, fmt.Sprintf("the project's own rules (%s is its own controlling project)", f.label(caps.Project, p.ID)), D)
		} else {
			// U9: a nested project under a lock takes the lock root's rules [I].
			a = f.governing(Key{caps.Project, p.Controlling}, RuleSetItem,
				fmt.Sprintf("the project rules of the controlling %s (§7.3; nested under a lock)", f.label(caps.Project, p.Controlling)), I)
		}
		a.project = p
		return a
	}
	if it.Personal() {
		return acl{ref: "", why: "Personal Space: no permission rules; only the owner and administrators (§7.7)", conf: U, personal: true}
	}
	var a acl
	p := f.Projects[it.ProjectID]
	switch it.Type {
	case caps.View:
		switch {
		case p != nil && p.Locked:
			a = f.governing(Key{caps.Project, p.Controlling}, DefaultRuleSet(caps.Workbook),
				fmt.Sprintf("default workbook rules of the controlling %s, restricted to view capabilities (workbook's project is locked, §7.3)", f.label(caps.Project, p.Controlling)), D)
		case it.ShowTabs:
			a = f.governing(Key{caps.Workbook, it.WorkbookID}, RuleSetItem,
				fmt.Sprintf("the rules of %s, restricted to view capabilities (tabs shown, §7.4)", f.label(caps.Workbook, it.WorkbookID)), D)
		default:
			a = f.governing(Key{caps.View, it.ID}, RuleSetItem, "the view's own rules (tabs hidden in an unlocked project, §7.4)", D)
			a.ownACLView = f.Items[Key{caps.Workbook, it.WorkbookID}] != nil
		}
	case caps.Table:
		db := f.Items[Key{caps.Database, it.DatabaseID}]
		if db != nil && db.ContentPermissions == "LockedToDatabase" {
			a = f.governing(Key{caps.Database, db.ID}, DefaultRuleSet(caps.Table),
				fmt.Sprintf("default table rules of %s (LockedToDatabase, §7.3)", f.label(caps.Database, db.ID)), T)
			a.lockedDB = true
		} else {
			a = f.governing(k, RuleSetItem, "the table's own rules (its database is not LockedToDatabase, §7.3)", T)
		}
	case caps.Database:
		a = f.governing(k, RuleSetItem, "the database's own rules (§7.3)", T)
	default:
		if p != nil && p.Locked {
			a = f.governing(Key{caps.Project, p.Controlling}, DefaultRuleSet(it.Type),
				fmt.Sprintf("default %s rules of the controlling %s (project locked, §7.3)", it.Type, f.label(caps.Project, p.Controlling)), D)
		} else {
			a = f.governing(k, RuleSetItem, fmt.Sprintf("the %s's own rules (project not locked, §7.1)", it.Type), D)
		}
	}
	a.project = p
	a.projLocked = p != nil && p.Locked
	a.lockedFor = a.projLocked || a.lockedDB
	return a
}

// ruleOutcome is the result of steps 5–8 on one rule list.
type ruleOutcome struct {
	result   Result
	reason   string
	rule     *Rule // the deciding rule
	shadowed *Rule // a matching group-set Deny the group tier overrode (U16)
	userRule *Rule
	groups   []*Rule // matching group rules that mention the capability
	sets     []*Rule // matching group-set rules that mention the capability
}

// explicitDeny reports a Deny decided by a rule (not by silence).
func (o ruleOutcome) explicitDeny() bool { return o.result == Deny && o.rule != nil }

// ruleDecision is spec §8.5 ruleDecision: user tier, group tier (All Users
// included), group-set tier, then unspecified. Where several rules of the
// deciding tier agree, the first in RuleSet order (lowest LUID) is recorded.
func (f *Facts) ruleDecision(u *User, s *RuleSet, c string) ruleOutcome {
	o := ruleOutcome{result: Deny, reason: ReasonUnspecified}
	if s == nil {
		return o
	}
	var gDeny, gAllow, sDeny, sAllow *Rule
	for _, r := range s.Rules {
		m := r.Caps[c]
		switch r.Grantee.Kind {
		case "user":
			if r.Grantee.ID == u.ID && m != "" {
				o.userRule = r
			}
		case "group":
			if m != "" && u.inGroup[r.Grantee.ID] {
				o.groups = append(o.groups, r)
				if m == ModeDeny && gDeny == nil {
					gDeny = r
				}
				if m == ModeAllow && gAllow == nil {
					gAllow = r
				}
			}
		case "groupset":
			if m != "" && u.inSet[r.Grantee.ID] {
				o.sets = append(o.sets, r)
				if m == ModeDeny && sDeny == nil {
					sDeny = r
				}
				if m == ModeAllow && sAllow == nil {
					sAllow = r
				}
			}
		}
	}
	switch {
	case o.userRule != nil && o.userRule.Caps[c] == ModeDeny:
		o.result, o.reason, o.rule = Deny, ReasonUserDeny, o.userRule
	case o.userRule != nil:
		o.result, o.reason, o.rule = Allow, ReasonUserAllow, o.userRule
	case gDeny != nil:
		o.result, o.reason, o.rule = Deny, ReasonGroupDeny, gDeny
	case gAllow != nil:
		o.result, o.reason, o.rule, o.shadowed = Allow, ReasonGroupAllow, gAllow, sDeny
	case sDeny != nil:
		o.result, o.reason, o.rule = Deny, ReasonGroupSetDeny, sDeny
	case sAllow != nil:
		o.result, o.reason, o.rule = Allow, ReasonGroupSetAllow, sAllow
	}
	return o
}

func ruleString(s *RuleSet, r *Rule, c string) string {
	return s.Ref() + " " + r.Grantee.String() + " " + r.Caps[c]
}

// Decide evaluates one triple straight from spec §8.5 and explains it.
// contentType is a caps content type ("project" for projects). An unknown
// user or item, like a capability the type does not have, yields
// not_applicable (with UNKNOWN_USER or UNKNOWN_ITEM).
func Decide(f *Facts, userID, contentType, contentID, capability string, basis Basis) Decision {
	d := decide(f, userID, contentType, contentID, capability, basis)
	slices.Sort(d.Flags)
	return d
}

func decide(f *Facts, userID, contentType, contentID, capability string, basis Basis) Decision {
	if basis == "" {
		basis = Current
	}
	d := Decision{UserID: userID, ContentType: contentType, ContentID: contentID, Capability: capability, Basis: basis, Confidence: D}
	u := f.Users[userID]
	if u == nil {
		d.notApplicable(FlagUnknownUser, "no user %s on the site", userID)
		return d
	}
	k := Key{contentType, contentID}
	var it *Item
	if contentType == caps.Project {
		if f.Projects[contentID] == nil {
			d.notApplicable(FlagUnknownItem, "no project %s on the site", contentID)
			return d
		}
	} else if it = f.Items[k]; it == nil {
		d.notApplicable(FlagUnknownItem, "no %s %s on the site", contentType, contentID)
		return d
	}

	// Step 0: applicability, with spec §2's unknown capabilities.
	unknownCap := false
	if !caps.Applies(contentType, capability) {
		if capability == "InheritedProjectLeader" || !f.Observed(contentType, capability) {
			d.Role = u.Role(basis).Row.TreatedAs
			if contentType == caps.View && (capability == "RunExplainData" || capability == "VizqlDataApiAccess") {
				d.flag(FlagWorkbookOnly)
				d.conf(U)
				d.notApplicable("", "%s is treated as a workbook-only capability, never evaluated on views (§2.3, U18)", capability)
				return d
			}
			d.notApplicable("", "%s is not a capability of %s (§2, §8.2 step 0)", capability, contentType)
			return d
		}
		unknownCap = true
		d.flag(FlagUnknownCapability)
		d.conf(U)
		d.step("check", "", U, "%s is not in the catalogue for %s but stored rules carry it: kept and evaluated generically (§2)", capability, contentType)
	}
	if slices.Contains(caps.Retired, capability) || contentType == caps.Lens || contentType == caps.Metric {
		d.flag(FlagRetired)
		d.step("check", "", 0, "retired capability or content type, still evaluated (§10.4)")
	}

	ri := u.Role(basis)
	d.Role = ri.Row.TreatedAs
	roleText := fmt.Sprintf("user %q has site role %s", u.Name, ri.Raw)
	if ri.Row.TreatedAs != ri.Raw {
		roleText += fmt.Sprintf(", treated as %s (§4.1)", ri.Row.TreatedAs)
	}
	if basis == Projected {
		roleText = fmt.Sprintf("projected basis: user %q site role %s, projected %s from %s (§9.3)", u.Name, u.SiteRole, ri.Row.TreatedAs, f.SourceLabel(ri.Source))
		if ri.Ambiguous {
			d.flag(FlagProjectedRoleOrder)
			d.conf(U)
			roleText += "; Creator vs SiteAdministratorExplorer order is undocumented (U11)"
		}
	}
	if ri.Row.Flag != "" {
		d.flag(ri.Row.Flag)
	}
	d.conf(ri.Row.Confidence)
	d.step("role", "", ri.Row.Confidence, "%s", roleText)

	a := f.resolveACL(k, it)
	if a.project != nil {
		d.step("project", "", 0, "%s", f.describeChain(a.project))
	}
	// The ACL resolution's tag counts only for decisions that reach steps
	// 4–9: a ceiling denial or an administrator's allow does not rest on it.
	d.step("acl", "", a.conf, "governing rules: %s", a.why)

	// Step 1: the site-role ceiling.
	allowed, cellConf, tier, known := ceilingCell(ri.Row, contentType, capability)
	switch {
	case !known:
		// An unknown capability has no cell: licensed roles may hold it,
		// Unlicensed and Guest may not. Deliberately generous: an audit must
		// rather show a possible grant than hide one; the decision is [U].
		allowed = ri.Row.Ceiling != "-" && ri.Row.Ceiling != "Guest"
		d.step("ceiling", passDeny(allowed), U, "no ceiling cell for %s/%s: %s (§2, generic)", contentType, capability, map[bool]string{true: "licensed roles may hold it", false: "this role may not"}[allowed])
	default:
		if cellConf == U && !unknownCap {
			d.flag(FlagUnresolvedCeiling)
		}
		d.conf(cellConf)
		d.step("ceiling", passDeny(allowed), cellConf, "ceiling %s/%s (tier %s) for %s: %s", contentType, capability, tier, ri.Row.TreatedAs,
			map[bool]string{true: "inside the cap", false: "outside the cap"}[allowed])
	}
	if !allowed {
		d.Result, d.Reason, d.DecidingRule = Deny, ReasonCeiling, "ceiling:"+ri.Row.TreatedAs
		if capability == "ChangeHierarchy" && ri.Row.TreatedAs == "Explorer" {
			// §6.1 †: would positions or rules have granted Move?
			scratch := Decision{Confidence: D}
			f.afterCeiling(&scratch, u, k, it, capability, a)
			if scratch.Result == Allow {
				d.flag(FlagNoPublishTarget)
				d.step("check", "", 0, "steps 2–9 would have allowed Move (%s): Tableau's grid shows it held, but an Explorer has no project to move into (§6.1 †, U1)", scratch.Reason)
			}
		}
		return d
	}

	// Step 2: administrators.
	if ri.Row.Admin {
		d.Result, d.Reason, d.DecidingRule = Allow, ReasonAdmin, "position:admin"
		d.step("admin", "allow", D, "%s is an administrator: every capability inside the cap (§8.2 step 2)", ri.Row.TreatedAs)
	} else {
		d.step("admin", "pass", 0, "not an administrator")
		d.conf(a.conf)
		f.afterCeiling(&d, u, k, it, capability, a)
	}
	if d.Result == Allow && capability == "VizqlDataApiAccess" {
		d.flag(FlagDirectDataAPI)
	}
	if d.Result == Allow && capability == "Read" && a.ownACLView {
		wb := Decide(f, userID, caps.Workbook, it.WorkbookID, "Read", basis)
		if wb.Result == Deny {
			d.flag(FlagViewWithoutWorkbook)
			d.conf(U)
			d.step("check", "", U, "workbook Read is denied (%s); whether Tableau also demands it to open the view is undocumented (§7.4, U6)", wb.Reason)
		}
	}
	return d
}

// SourceLabel renders a RoleInfo.Source with names: site_role,
// glsi_minimum_site_role, or the minimum site role of group "name".
func (f *Facts) SourceLabel(source string) string {
	if id, ok := strings.CutPrefix(source, "group:"); ok {
		return "the minimum site role of " + f.label("group", id)
	}
	return source
}

func passDeny(ok bool) string {
	if ok {
		return "pass"
	}
	return "deny"
}

func (d *Decision) notApplicable(flag, format string, args ...any) {
	d.Result, d.Reason = NotApplicable, ReasonNotApplicable
	if flag != "" {
		d.flag(flag)
	}
	d.step("check", "n/a", 0, format, args...)
}

func (f *Facts) describeChain(p *Project) string {
	var parts []string
	for i := len(p.Chain) - 1; i >= 0; i-- {
		q := f.Projects[p.Chain[i]]
		s := fmt.Sprintf("%q [%s", q.Name, q.Mode)
		if q.Controlling != q.ID {
			s += ", controlled by " + fmt.Sprintf("%q", f.Name(caps.Project, q.Controlling))
		}
		if q.Locked {
			s += ", locked"
		}
		s += ", owner " + f.userLabel(q.OwnerID) + "]"
		parts = append(parts, s)
	}
	return "project chain " + strings.Join(parts, " > ")
}

func (f *Facts) userLabel(id string) string {
	if id == "" {
		return "none"
	}
	if u := f.Users[id]; u != nil {
		return fmt.Sprintf("%q", u.Name)
	}
	return id + " (not a site user)"
}

// afterCeiling is spec §8.5 afterCeiling: positions, then rules, then the
// lock guard on Set Permissions (steps 4–9).
func (f *Facts) afterCeiling(d *Decision, u *User, k Key, it *Item, c string, a acl) {
	if a.personal {
		d.flag(FlagPersonalSpace)
		if it.OwnerID == u.ID {
			d.Result, d.Reason, d.DecidingRule = Allow, ReasonContentOwner, "position:content_owner:"+it.ID
			d.step("owner", "allow", U, "owner of the Personal Space item (§7.7)")
			return
		}
		d.Result, d.Reason, d.DecidingRule = Deny, ReasonPersonalSpace, "position:personal_space"
		d.step("owner", "deny", U, "not the owner (%s) of a Personal Space item (§7.7)", f.userLabel(it.OwnerID))
		return
	}
	legacyBlocked := false
	if p := a.project; p != nil {
		for _, q := range p.Chain {
			if f.Projects[q].OwnerID == u.ID {
				d.Result, d.Reason, d.DecidingRule = Allow, ReasonProjectOwner, "position:project_owner:"+q
				d.conf(D)
				d.step("owner", "allow", D, "owner of %s, which contains the item or is it (§8.2 step 4)", f.label(caps.Project, q))
				return
			}
		}
		d.step("owner", "pass", 0, "not the owner of any project in the chain")
		for _, q := range p.Chain {
			ctl := f.Projects[q].Controlling
			lo := f.ruleDecision(u, f.RuleSet(Key{caps.Project, ctl}, RuleSetItem), "ProjectLeader")
			if lo.result == Allow {
				d.Result, d.Reason, d.DecidingRule = Allow, ReasonProjectLeader, "position:project_leader:"+q
				where := ""
				if ctl != q {
					where = fmt.Sprintf(" (project rules of its controlling %s)", f.label(caps.Project, ctl))
				}
				d.step("leader", "allow", D, "project leader of %s%s through %s (%s) (§8.2 step 4)", f.label(caps.Project, q), where,
					f.label(lo.rule.Grantee.Kind, lo.rule.Grantee.ID), lo.reason)
				if lo.shadowed != nil {
					d.flag(FlagGroupSetDenyShadowed)
					d.conf(U)
					d.step("leader", "", U, "a matching %s denies ProjectLeader but the group tier decides first (U16)", f.label("groupset", lo.shadowed.Grantee.ID))
				}
				return
			}
			if lo.explicitDeny() {
				legacyBlocked = true
				d.step("leader", "deny", U, "legacy ProjectLeader Deny for %s on %s blocks direct leadership there (§10.2, U8)",
					f.label(lo.rule.Grantee.Kind, lo.rule.Grantee.ID), f.label(caps.Project, ctl))
			}
		}
		d.step("leader", "pass", 0, "not a project leader of any project in the chain")
	}
	if k.Type != caps.Project {
		switch {
		case it.OwnerID != u.ID:
			d.step("owner", "pass", 0, "not the content owner (owner: %s)", f.userLabel(it.OwnerID))
		case c == "ChangePermissions" && a.lockedFor:
			conf := D
			if a.lockedDB {
				conf = U
			}
			d.conf(conf)
			d.step("owner", "pass", conf, "content owner, but in a locked %s ownership does not confer Set Permissions (§8.2 step 4)",
				map[bool]string{true: "database", false: "project"}[a.lockedDB])
		default:
			d.Result, d.Reason, d.DecidingRule = Allow, ReasonContentOwner, "position:content_owner:"+k.ID
			what := "content owner"
			if it.Type == caps.View {
				what = "owner of the view's workbook"
			}
			d.step("owner", "allow", D, "%s (§8.2 step 4)", what)
			return
		}
	}
	if c == "ChangePermissions" && a.lockedDB {
		d.flag(FlagLockedDatabase)
		d.conf(U)
	}
	if k.Type == caps.Project && c == "ProjectLeader" {
		d.Result, d.Reason = Deny, ReasonUnspecified
		d.conf(I)
		d.step("default", "deny", I, "not an owner or leader: ProjectLeader queried on a project answers deny (§8.4 convention)")
		if legacyBlocked {
			d.flag(FlagLegacyLeaderDeny)
			d.conf(U)
		}
		return
	}
	o := f.ruleDecision(u, a.set, c)
	f.ruleSteps(d, u, a, c, o)
	d.Result, d.Reason = o.result, o.reason
	if o.rule != nil {
		d.DecidingRule = ruleString(a.set, o.rule, c)
	}
	if o.shadowed != nil {
		d.flag(FlagGroupSetDenyShadowed)
		d.conf(U)
	}
	if o.result == Allow && c == "ChangePermissions" && a.projLocked {
		d.Result, d.Reason = Deny, ReasonLockedProject
		d.flag(FlagInertInLocked)
		d.step("lock", "deny", D, "the project is locked: only administrators, project owners and leaders may set permissions; the Allow is inert (§8.2 step 9)")
	}
	if d.Result == Deny && legacyBlocked {
		d.flag(FlagLegacyLeaderDeny)
		d.conf(U)
	}
}

func (f *Facts) ruleSteps(d *Decision, u *User, a acl, c string, o ruleOutcome) {
	if a.set == nil {
		d.step("default", "deny", D, "no rules are stored on %s: unspecified means denied (§8.2 step 8)", a.ref)
		return
	}
	if o.userRule != nil {
		d.step("user rule", strings.ToLower(o.userRule.Caps[c]), D, "user rule for %q: %s %s (§8.2 step 5)", u.Name, o.userRule.Caps[c], c)
	} else {
		d.step("user rule", "none", 0, "no user rule for %q mentions %s", u.Name, c)
	}
	if len(o.groups) == 0 {
		d.step("group rule", "none", 0, "no rule for a group of %q mentions %s", u.Name, c)
	}
	for _, r := range o.groups {
		d.step("group rule", strings.ToLower(r.Caps[c]), D, "%s: %s %s", f.label("group", r.Grantee.ID), r.Caps[c], c)
	}
	for _, r := range o.sets {
		outcome := strings.ToLower(r.Caps[c])
		note := ""
		if o.reason != ReasonGroupSetAllow && o.reason != ReasonGroupSetDeny {
			outcome, note = "n/a", " (not consulted: an earlier tier decided, §8.2 step 7)"
		}
		d.step("group-set rule", outcome, D, "%s (all its groups include %q): %s %s%s", f.label("groupset", r.Grantee.ID), u.Name, r.Caps[c], c, note)
	}
	switch o.reason {
	case ReasonUnspecified:
		d.step("default", "deny", D, "no rule decides %s: unspecified means denied (§8.2 step 8)", c)
	case ReasonGroupAllow:
		if o.shadowed != nil {
			d.step("check", "", U, "a group Allow decided before the matching group-set Deny (§9.2, U16)")
		}
	}
}

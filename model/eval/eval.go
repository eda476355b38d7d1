// Package eval is tabaudit's reference permission evaluator: a plain Go
// transcription of spec permission-semantics.md §8.5 that decides one
// (user, item, capability) triple at a time and records why.
//
// It exists for two jobs. `tabaudit explain` uses it to print the chain of
// facts behind one decision, and the DuckDB engine in package model uses it
// as a test oracle: both must agree on every spec vector and on random
// sites. It therefore favours being obviously faithful to the spec over
// speed; the only precomputation is what makes a single decision cheap
// (indexes by LUID, group and group-set membership, project chains).
//
// Facts is one site, normalised (roles, All Users, group sets, controlling
// projects, conflicting rules resolved to Deny). Decide evaluates a triple.
// Findings lists the spec §13 site-level findings. The site-role ceiling
// lives in ceilings.csv and roles.csv, embedded and shared with the SQL
// engine through CeilingRows and RoleRows.
//
// Readings of the spec that the SQL engine must share (spec §2, §8.3, §13):
//
//   - Unknown capabilities. Spec §0 makes a capability outside the type's
//     list not_applicable; §2 says one that REST returns on a type must be
//     kept, evaluated generically and flagged. Both hold here: a capability
//     is evaluated (flag UNKNOWN_CAPABILITY, confidence U) when some stored
//     rule of the site carries it for that content type (item rules of
//     that type, or default rules for it), and is not_applicable otherwise.
//     It has no ceiling cell, so step 1 lets every licensed role hold it
//     and denies Unlicensed and Guest; the audit then shows a possible
//     grant rather than hiding it. InheritedProjectLeader is a marker,
//     never evaluated. Virtual-connection Write and Overwrite are one
//     capability (§2.6): a rule carrying either carries both, Deny winning.
//   - Deciding rule. Where several rules of the deciding tier agree, the
//     one with the lowest grantee LUID is recorded; for positions, the
//     nearest project of the chain (the item's own first). A project leader
//     is recorded at the project Q of the chain where the user is a direct
//     leader (through the rules of controlling(Q)).
//   - Confidence is the weakest of the role's tag (roles.csv), the ceiling
//     cell's, and, for decisions past the administrator step, the ACL
//     resolution's and the position or rule tier's; every [U] fact adds a
//     flag (the Flag* constants name those the spec leaves unnamed).
package eval

import (
	"fmt"
	"slices"
)

// SpecVersion is the version of permission-semantics.md this package follows.
const SpecVersion = "2"

// EngineVersion identifies this evaluator's behaviour; bump it when a
// decision for the same facts can change.
const EngineVersion = "eval-1"

// Confidence is a spec §0.1 tag. Lower is weaker: U < I < T < D.
type Confidence uint8

// Confidence tags, weakest first.
const (
	U Confidence = iota + 1
	I
	T
	D
)

func (c Confidence) String() string {
	switch c {
	case D:
		return "D"
	case T:
		return "T"
	case I:
		return "I"
	case U:
		return "U"
	}
	return "?"
}

// ParseConfidence parses "D", "T", "I" or "U".
func ParseConfidence(s string) (Confidence, error) {
	switch s {
	case "D":
		return D, nil
	case "T":
		return T, nil
	case "I":
		return I, nil
	case "U":
		return U, nil
	}
	return 0, fmt.Errorf("confidence %q (want D, T, I or U)", s)
}

func minConf(a, b Confidence) Confidence {
	if a == 0 {
		return b
	}
	if b == 0 || a < b {
		return a
	}
	return b
}

// Basis selects the site role a decision uses (spec §9.3).
type Basis string

// The two role bases.
const (
	Current   Basis = "current"
	Projected Basis = "projected"
)

// Result is a decision's outcome.
type Result string

// Results (spec §0).
const (
	Allow         Result = "allow"
	Deny          Result = "deny"
	NotApplicable Result = "not_applicable"
)

// Reason codes (spec §8.3).
const (
	ReasonAdmin         = "ADMIN"
	ReasonCeiling       = "SITE_ROLE_CEILING"
	ReasonProjectOwner  = "PROJECT_OWNER"
	ReasonProjectLeader = "PROJECT_LEADER"
	ReasonContentOwner  = "CONTENT_OWNER"
	ReasonUserDeny      = "USER_DENY"
	ReasonUserAllow     = "USER_ALLOW"
	ReasonGroupDeny     = "GROUP_DENY"
	ReasonGroupAllow    = "GROUP_ALLOW"
	ReasonGroupSetDeny  = "GROUPSET_DENY"
	ReasonGroupSetAllow = "GROUPSET_ALLOW"
	ReasonLockedProject = "LOCKED_PROJECT"
	ReasonUnspecified   = "UNSPECIFIED"
	ReasonPersonalSpace = "PERSONAL_SPACE"
	ReasonNotApplicable = "NOT_APPLICABLE"
)

// Decision flags. The first ten are spec §13's; the rest are the flags spec
// §0.1 requires for decisions that rest on an [U] item, named here because
// the spec leaves their names open.
const (
	FlagDirectDataAPI        = "DIRECT_DATA_API"            // §6.1 API Access (U17)
	FlagNoPublishTarget      = "NO_PUBLISH_TARGET"          // §6.1 † Explorer and Move (U1)
	FlagInertInLocked        = "INERT_IN_LOCKED_PROJECT"    // §8.2 step 9
	FlagGroupSetDenyShadowed = "GROUPSET_DENY_SHADOWED"     // §9.2 (U16)
	FlagViewWithoutWorkbook  = "VIEW_WITHOUT_WORKBOOK_READ" // §7.4 (U6)
	FlagLegacySiteRole       = "LEGACY_SITE_ROLE"           // §4.1 (U7)
	FlagGuestRole            = "GUEST_ROLE"                 // §6.2 (U13)
	FlagSupportUser          = "SUPPORT_USER"               // §6.2 (U13)
	FlagUnknownCapability    = "UNKNOWN_CAPABILITY"         // §2
	FlagRetired              = "RETIRED"                    // §10.4

	// FlagUnresolvedCeiling: the ceiling cell consulted is tagged [U]
	// (U2, U12, U17: version-drift cells).
	FlagUnresolvedCeiling = "UNRESOLVED_CEILING"
	// FlagPersonalSpace: the item is in Personal Space (§7.7, U14).
	FlagPersonalSpace = "PERSONAL_SPACE"
	// FlagLegacyLeaderDeny: a legacy ProjectLeader Deny (§10.2, U8) blocked
	// direct leadership in the item's project chain and the decision is deny.
	FlagLegacyLeaderDeny = "LEGACY_PROJECT_LEADER_DENY"
	// FlagWorkbookOnly: not_applicable because RunExplainData or
	// VizqlDataApiAccess is treated as workbook-only (§2.3, U18).
	FlagWorkbookOnly = "WORKBOOK_ONLY_CAPABILITY"
	// FlagLockedDatabase: Set Permissions on a table of a LockedToDatabase
	// database, where only the owner exception applies (§8.2 step 9, U4b).
	FlagLockedDatabase = "LOCKED_DATABASE_SET_PERMISSIONS"
	// FlagProjectedRoleOrder: the projected role was chosen between Creator
	// and SiteAdministratorExplorer, whose order is undocumented (§4.2, U11).
	FlagProjectedRoleOrder = "PROJECTED_ROLE_ORDER"
	// FlagUnknownSiteRole: the site role is not one the engine knows; it is
	// given an empty cap (§4.1 keeps unknown values, flagged).
	FlagUnknownSiteRole = "UNKNOWN_SITE_ROLE"
	// FlagUnknownUser and FlagUnknownItem mark a not_applicable answer to a
	// question about an id the facts do not hold.
	FlagUnknownUser = "UNKNOWN_USER"
	FlagUnknownItem = "UNKNOWN_ITEM"
)

// Decision is the answer for one triple, with everything needed to explain
// it (spec §8.3, §13).
type Decision struct {
	UserID      string
	ContentType string
	ContentID   string
	Capability  string
	Basis       Basis
	// Role is the normalised site role used (after the basis and §4.1).
	Role string

	Result Result
	Reason string
	// DecidingRule names what decided, in the form effective_permissions
	// uses: "<object type>:<luid>[/default:<type>] <grantee kind>:<luid>
	// <Allow|Deny>" for a rule (the inert Allow for LOCKED_PROJECT),
	// "position:project_owner:<project luid>", "position:project_leader:<project
	// luid>" (the project where leadership is set), "position:content_owner:<item
	// luid>", "position:admin", "position:personal_space", "ceiling:<role>";
	// "" for UNSPECIFIED and NOT_APPLICABLE.
	DecidingRule string
	Flags        []string // sorted, no duplicates
	Confidence   Confidence
	Chain        []Step
}

// Step is one fact in a decision's chain, in evaluation order.
type Step struct {
	Stage      string     // role, ceiling, admin, project, acl, owner, leader, user rule, group rule, group-set rule, lock, default, check
	Text       string     // the fact, with names
	Outcome    string     // what it did: allow, deny, pass, none, n/a or ""
	Confidence Confidence // the tag of the fact, 0 when it adds none
}

func (d *Decision) flag(f string) {
	if !slices.Contains(d.Flags, f) {
		d.Flags = append(d.Flags, f)
	}
}

func (d *Decision) step(stage, outcome string, conf Confidence, format string, args ...any) {
	d.Chain = append(d.Chain, Step{Stage: stage, Text: fmt.Sprintf(format, args...), Outcome: outcome, Confidence: conf})
}

func (d *Decision) conf(c Confidence) { d.Confidence = minConf(d.Confidence, c) }

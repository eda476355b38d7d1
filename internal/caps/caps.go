// Package caps holds the Tableau capability catalogue as data: which
// capabilities exist on which content type (spec §2), the permission
// templates (spec §3) and the site roles (spec §4). It has no dependencies so
// that the simulator, the model and the rules can share one source of truth.
package caps

import (
	"fmt"
	"slices"
)

// Content types, spelled as in site files and in snapshot object_type columns.
const (
	Project           = "project"
	Workbook          = "workbook"
	View              = "view"
	Datasource        = "datasource"
	Flow              = "flow"
	VirtualConnection = "virtualconnection"
	DataRole          = "datarole"
	Lens              = "lens"
	Metric            = "metric"
	Database          = "database"
	Table             = "table"
)

// ContentTypes lists every content type the engine knows, in a stable order.
var ContentTypes = []string{Project, Workbook, View, Datasource, Flow, VirtualConnection, DataRole, Lens, Metric, Database, Table}

// DefaultPermissionTypes are the content types a project carries default
// permissions for, with the REST path segment of
// GET projects/{id}/default-permissions/{segment}.
var DefaultPermissionTypes = []struct{ Type, PathSegment string }{
	{Workbook, "workbooks"},
	{Datasource, "datasources"},
	{Flow, "flows"},
	{DataRole, "dataroles"},
	{Lens, "lenses"},
	{Metric, "metrics"},
	{VirtualConnection, "virtualconnections"},
	{Database, "databases"},
	{Table, "tables"},
}

var byType = map[string][]string{
	Project: {"Read", "Write", "ProjectLeader"},
	Workbook: {"Read", "Filter", "ViewComments", "AddComment", "ExportImage", "ExportData", "ShareView",
		"ViewUnderlyingData", "WebAuthoring", "RunExplainData", "VizqlDataApiAccess", "ExportXml", "Write",
		"CreateRefreshMetrics", "ChangeHierarchy", "Delete", "ChangePermissions", "ExtractRefresh"},
	View: {"Read", "Filter", "ViewComments", "AddComment", "ExportImage", "ExportData", "ShareView",
		"ViewUnderlyingData", "WebAuthoring", "Delete", "ChangePermissions"},
	Datasource: {"Read", "Connect", "ExportXml", "Write", "SaveAs", "VizqlDataApiAccess", "PulseMetricDefine",
		"ExtractRefresh", "ChangeHierarchy", "Delete", "ChangePermissions", "AiAccess"},
	Flow:              {"Read", "ExportXml", "Execute", "Write", "WebAuthoringForFlows", "ChangeHierarchy", "Delete", "ChangePermissions"},
	VirtualConnection: {"Read", "Connect", "Write", "Overwrite", "ChangeHierarchy", "Delete", "ChangePermissions"},
	DataRole:          {"Read", "Write", "ChangeHierarchy", "Delete", "ChangePermissions"},
	Lens:              {"Read", "Write", "ChangeHierarchy", "Delete", "ChangePermissions"},
	Metric:            {"Read", "Write", "ChangeHierarchy", "Delete", "ChangePermissions"},
	Database:          {"Read", "Write", "ChangeHierarchy", "ChangePermissions"},
	Table:             {"Read", "Write", "ChangeHierarchy", "ChangePermissions"},
}

// AllCapabilities is every capability name valid in REST schema 3.29 plus the
// two legacy names older servers still return (spec §2).
var AllCapabilities = []string{"AddComment", "AiAccess", "ChangeHierarchy", "ChangePermissions", "Connect",
	"Delete", "Execute", "ExportData", "ExportImage", "ExportXml", "ExtractRefresh", "Filter", "Overwrite",
	"ProjectLeader", "PulseMetricDefine", "Read", "RunExplainData", "SaveAs", "ShareView", "ViewComments",
	"ViewUnderlyingData", "VizqlDataApiAccess", "WebAuthoring", "WebAuthoringForFlows", "Write",
	"CreateRefreshMetrics", "InheritedProjectLeader"}

// Retired capabilities are still evaluated but flagged RETIRED (spec §10.4).
var Retired = []string{"CreateRefreshMetrics"}

// For returns the capabilities of a content type in catalogue order, or nil
// for an unknown type.
func For(contentType string) []string { return byType[contentType] }

// Applies reports whether capability c exists on the content type (spec §8.2 step 0).
func Applies(contentType, c string) bool { return slices.Contains(byType[contentType], c) }

// Known reports whether c is a capability name Tableau is known to use.
func Known(c string) bool { return slices.Contains(AllCapabilities, c) }

// templates holds the cumulative template ladder of spec §3: each entry lists
// what the template adds to the previous one.
var templates = map[string][][]string{
	Project:           {{"Read"}, nil, {"Write"}, nil},
	Workbook:          {{"Read", "Filter", "ViewComments", "AddComment", "ExportImage", "ExportData"}, {"ShareView", "ViewUnderlyingData", "WebAuthoring", "RunExplainData"}, {"ExportXml", "Write", "CreateRefreshMetrics"}, {"ChangeHierarchy", "Delete", "ChangePermissions"}},
	View:              {{"Read", "Filter", "ViewComments", "AddComment", "ExportImage", "ExportData"}, {"ShareView", "ViewUnderlyingData", "WebAuthoring"}, nil, {"Delete", "ChangePermissions"}},
	Datasource:        {{"Read", "Connect"}, {"ExportXml"}, {"Write", "SaveAs"}, {"ChangeHierarchy", "Delete", "ChangePermissions"}},
	Flow:              {{"Read"}, {"ExportXml"}, {"Execute", "Write", "WebAuthoringForFlows"}, {"ChangeHierarchy", "Delete", "ChangePermissions"}},
	VirtualConnection: {{"Read", "Connect"}, nil, {"Write"}, {"ChangeHierarchy", "Delete", "ChangePermissions"}},
	DataRole:          {{"Read"}, nil, {"Write"}, {"ChangeHierarchy", "Delete", "ChangePermissions"}},
	Lens:              {{"Read"}, nil, {"Write"}, {"ChangeHierarchy", "Delete", "ChangePermissions"}},
	Metric:            {{"Read"}, nil, {"Write"}, {"ChangeHierarchy", "Delete", "ChangePermissions"}},
	Database:          {{"Read"}, nil, {"Write"}, {"ChangeHierarchy", "ChangePermissions"}},
	Table:             {{"Read"}, nil, {"Write"}, {"ChangeHierarchy", "ChangePermissions"}},
}

// Templates lists the template names in ladder order.
var Templates = []string{"View", "Explore", "Publish", "Administer"}

// Expand returns the capabilities a template sets to Allow on a content
// type, and for "Denied" the ones it sets to Deny; "None" returns neither.
// Explore and Administer on a project are input errors (spec §3), and no
// template ever touches ProjectLeader.
func Expand(contentType, template string) (allow, deny []string, err error) {
	ladder, ok := templates[contentType]
	if !ok {
		return nil, nil, fmt.Errorf("unknown content type %q", contentType)
	}
	switch template {
	case "None":
		return nil, nil, nil
	case "Denied":
		for _, c := range byType[contentType] {
			if c != "ProjectLeader" {
				deny = append(deny, c)
			}
		}
		return nil, deny, nil
	}
	level := slices.Index(Templates, template)
	if level < 0 {
		return nil, nil, fmt.Errorf("unknown template %q (want View, Explore, Publish, Administer, None or Denied)", template)
	}
	if contentType == Project && (template == "Explore" || template == "Administer") {
		return nil, nil, fmt.Errorf("template %q does not exist on projects (only View, Publish, None, Denied)", template)
	}
	for i := 0; i <= level; i++ {
		allow = append(allow, ladder[i]...)
	}
	return allow, nil, nil
}

// Site roles (spec §4.1).
var (
	CurrentRoles = []string{"Creator", "ExplorerCanPublish", "Explorer", "Viewer", "Unlicensed",
		"SiteAdministratorCreator", "SiteAdministratorExplorer", "ServerAdministrator", "SupportUser", "Guest"}
	// LegacyRoles maps legacy site-role names to the role they are treated as.
	LegacyRoles = map[string]string{
		"Interactor":            "Explorer",
		"Publisher":             "ExplorerCanPublish",
		"SiteAdministrator":     "SiteAdministratorExplorer",
		"ViewerWithPublish":     "ExplorerCanPublish",
		"UnlicensedWithPublish": "Unlicensed",
		"ReadOnly":              "Viewer",
	}
)

// NormaliseRole maps a REST siteRole to a current role. legacy is true for a
// legacy name; ok is false for a name the engine does not know at all.
func NormaliseRole(role string) (normal string, legacy, ok bool) {
	if slices.Contains(CurrentRoles, role) {
		return role, false, true
	}
	if n, found := LegacyRoles[role]; found {
		return n, true, true
	}
	return role, false, false
}

// RoleRank orders roles for "higher of" decisions (spec §4.2, §9.3);
// ServerAdministrator ranks above all. Unknown roles rank -1.
func RoleRank(role string) int {
	n, _, _ := NormaliseRole(role)
	return slices.Index([]string{"Unlicensed", "Guest", "SupportUser", "Viewer", "Explorer", "ExplorerCanPublish", "Creator",
		"SiteAdministratorExplorer", "SiteAdministratorCreator", "ServerAdministrator"}, n)
}

// IsAdmin reports whether the (normalised) role is an administrator role.
func IsAdmin(role string) bool {
	n, _, _ := NormaliseRole(role)
	return n == "ServerAdministrator" || n == "SiteAdministratorCreator" || n == "SiteAdministratorExplorer"
}

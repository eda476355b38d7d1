package tableau

import (
	"context"
	"fmt"
)

// PermissionSet is the explicit rules of one object: GET …/{id}/permissions
// or …/default-permissions/{kind}. Only explicit rules exist here; implicit
// access (admins, owners, project leaders) is derived by the model.
type PermissionSet struct {
	TargetType    string // element name of the target: project, workbook, view, …
	TargetID      string
	TargetOwnerID string
	ParentID      string // the optional <parent id=… type=…/>
	ParentType    string
	Grantees      []GranteeCapabilities
}

// GranteeCapabilities is one grantee's capabilities on the object.
type GranteeCapabilities struct {
	// GranteeType is user, group or groupset; any other element name is
	// kept as sent (lower-cased) so that the caller can flag it.
	GranteeType  string
	GranteeID    string
	Capabilities []Capability
}

// Capability is one capability and its mode (Allow or Deny), names verbatim.
type Capability struct{ Name, Mode string }

var granteeKinds = map[string]string{"user": "user", "group": "group", "groupSet": "groupset", "groupset": "groupset"}

// PathSegment is the REST path segment of a content type (caps names).
func PathSegment(contentType string) (string, bool) {
	s, ok := map[string]string{
		"project": "projects", "workbook": "workbooks", "view": "views", "datasource": "datasources",
		"flow": "flows", "virtualconnection": "virtualConnections", "database": "databases", "table": "tables",
		"datarole": "dataroles", "lens": "lenses", "metric": "metrics", "collection": "collections",
	}[contentType]
	return s, ok
}

func decodePermissions(n *node) (*PermissionSet, error) {
	p := n.child("permissions")
	if p == nil {
		return nil, fmt.Errorf("%w: no <permissions> element", ErrMalformed)
	}
	ps := &PermissionSet{}
	for _, c := range p.Children {
		switch c.Name {
		case "granteeCapabilities":
			g := GranteeCapabilities{}
			for _, gc := range c.Children {
				if gc.Name == "capabilities" {
					for _, cp := range gc.children("capability") {
						g.Capabilities = append(g.Capabilities, Capability{Name: cp.attr("name"), Mode: cp.attr("mode")})
					}
					continue
				}
				if k, ok := granteeKinds[gc.Name]; ok {
					g.GranteeType, g.GranteeID = k, gc.attr("id")
				} else if g.GranteeType == "" {
					g.GranteeType, g.GranteeID = gc.Name, gc.attr("id")
				}
			}
			if g.GranteeID == "" {
				return nil, fmt.Errorf("%w: granteeCapabilities without a grantee id", ErrMalformed)
			}
			ps.Grantees = append(ps.Grantees, g)
		case "parent":
			ps.ParentID, ps.ParentType = c.attr("id"), c.attr("type")
		default:
			ps.TargetType, ps.TargetID, ps.TargetOwnerID = c.Name, c.attr("id"), c.child("owner").attr("id")
		}
	}
	return ps, nil
}

// PermissionsService reads explicit and default permissions.
type PermissionsService service

func (s *PermissionsService) get(ctx context.Context, path string) (*PermissionSet, error) {
	n, err := s.client.get(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	return decodePermissions(n)
}

// Get returns the explicit rules of an item of a content type ("project",
// "workbook", "view", "datasource", "flow", "virtualconnection", "database",
// "table", …): GET /sites/{site}/{type}s/{id}/permissions (not paginated).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_permissions.htm#query_workbook_permissions
func (s *PermissionsService) Get(ctx context.Context, contentType, id string) (*PermissionSet, error) {
	seg, ok := PathSegment(contentType)
	if !ok {
		return nil, fmt.Errorf("permissions: unknown content type %q", contentType)
	}
	path, err := s.client.sitePath("%s/%s/permissions", seg, id)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, path)
}

// GetProjectDefaults returns a project's default rules for a content type:
// GET /sites/{site}/projects/{id}/default-permissions/{kind}. The segment is
// the one TSC sends (virtualConnections in camelCase).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_permissions.htm#query_default_permissions
func (s *PermissionsService) GetProjectDefaults(ctx context.Context, projectID, contentType string) (*PermissionSet, error) {
	seg, ok := PathSegment(contentType)
	if !ok || contentType == "project" || contentType == "view" {
		return nil, fmt.Errorf("default permissions: unknown content type %q", contentType)
	}
	path, err := s.client.sitePath("projects/%s/default-permissions/%s", projectID, seg)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, path)
}

// GetDatabaseTableDefaults returns a database's default rules for its tables:
// GET /sites/{site}/databases/{id}/default-permissions/tables.
func (s *PermissionsService) GetDatabaseTableDefaults(ctx context.Context, databaseID string) (*PermissionSet, error) {
	path, err := s.client.sitePath("databases/%s/default-permissions/tables", databaseID)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, path)
}

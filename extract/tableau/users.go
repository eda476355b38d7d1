package tableau

import (
	"context"
	"iter"
	"time"
)

// User is a site user (GET users, fields=_all_).
type User struct {
	ID                  string
	Name                string
	FullName            string
	Email               string
	SiteRole            string // exactly as returned; legacy names kept
	AuthSetting         string
	LastLogin           *time.Time // nil: never signed in
	DomainName          string
	GLSIMinimumSiteRole string
	ExternalAuthUserID  string
	Locale              string
	Extra               map[string]any // attributes tabaudit does not model
}

// GetID returns the LUID.
func (u *User) GetID() string { return u.ID }

func decodeUser(n *node) (*User, error) {
	d := newDec(n)
	u := &User{
		ID: d.s("id"), Name: d.s("name"), FullName: d.s("fullName"), Email: d.s("email"),
		SiteRole: d.s("siteRole"), AuthSetting: d.s("authSetting"), LastLogin: d.t("lastLogin"),
		DomainName: d.child("domain").attr("name"), GLSIMinimumSiteRole: d.s("glsiMinimumSiteRole"),
		ExternalAuthUserID: d.s("externalAuthUserId"), Locale: d.s("locale"),
	}
	u.Extra = d.extras()
	return u, nil
}

// UsersService lists site users.
type UsersService service

func (s *UsersService) lister() lister[*User] {
	path, _ := s.client.sitePath("users")
	return lister[*User]{c: s.client, path: path, wrapper: "users", elem: "user", fields: "_all_", decode: decodeUser, id: idOf[*User]}
}

// List returns one page of users (GET /sites/{site}/users?fields=_all_).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_users_and_groups.htm#get_users_on_site
func (s *UsersService) List(ctx context.Context, opts *ListOptions) ([]*User, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of users.
func (s *UsersService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*User, error] {
	return s.lister().all(ctx, opts)
}

// Group is a local or imported group (GET groups, fields=_all_).
type Group struct {
	ID               string
	Name             string
	DomainName       string
	MinimumSiteRole  string // import/@siteRole or minimumSiteRole
	GrantLicenseMode string // import/@grantLicenseMode: onLogin | onSync
	UserCount        *int64
	Extra            map[string]any
}

// GetID returns the LUID.
func (g *Group) GetID() string { return g.ID }

// IsAllUsers reports the built-in All Users group.
func (g *Group) IsAllUsers() bool {
	return g.Name == "All Users" && (g.DomainName == "" || g.DomainName == "local")
}

func decodeGroup(n *node) (*Group, error) {
	d := newDec(n)
	g := &Group{ID: d.s("id"), Name: d.s("name"), UserCount: d.i("userCount")}
	g.DomainName = d.child("domain").attr("name")
	imp := d.child("import")
	g.MinimumSiteRole = d.s("minimumSiteRole")
	if v := imp.attr("siteRole"); v != "" {
		g.MinimumSiteRole = v
	}
	g.GrantLicenseMode = imp.attr("grantLicenseMode")
	if g.GrantLicenseMode == "" {
		g.GrantLicenseMode = d.s("grantLicenseMode")
	}
	g.Extra = d.extras()
	if imp != nil {
		// Keep what the import element says beyond the two modelled fields.
		if rest := imp.extras("siteRole", "grantLicenseMode"); len(rest) > 0 {
			if g.Extra == nil {
				g.Extra = map[string]any{}
			}
			g.Extra["import"] = rest
		}
	}
	return g, nil
}

// GroupsService lists groups and their members.
type GroupsService service

func (s *GroupsService) lister() lister[*Group] {
	path, _ := s.client.sitePath("groups")
	return lister[*Group]{c: s.client, path: path, wrapper: "groups", elem: "group", fields: "_all_", decode: decodeGroup, id: idOf[*Group]}
}

// List returns one page of groups (GET /sites/{site}/groups?fields=_all_).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_users_and_groups.htm#query_groups
func (s *GroupsService) List(ctx context.Context, opts *ListOptions) ([]*Group, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of groups.
func (s *GroupsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Group, error] {
	return s.lister().all(ctx, opts)
}

func (s *GroupsService) usersLister(groupID string) lister[*User] {
	path, _ := s.client.sitePath("groups/%s/users", groupID)
	return lister[*User]{c: s.client, path: path, wrapper: "users", elem: "user", decode: decodeUser, id: idOf[*User]}
}

// ListUsers returns one page of a group's members (GET /sites/{site}/groups/{id}/users).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_users_and_groups.htm#get_users_in_group
func (s *GroupsService) ListUsers(ctx context.Context, groupID string, opts *ListOptions) ([]*User, *Response, error) {
	return s.usersLister(groupID).list(ctx, opts)
}

// AllUsers walks every page of a group's members.
func (s *GroupsService) AllUsers(ctx context.Context, groupID string, opts *ListOptions) iter.Seq2[*User, error] {
	return s.usersLister(groupID).all(ctx, opts)
}

// GroupSet is a group set (3.22+) with its member groups.
type GroupSet struct {
	ID         string
	Name       string
	GroupCount *int64
	GroupIDs   []string
	Extra      map[string]any
}

// GetID returns the LUID.
func (g *GroupSet) GetID() string { return g.ID }

func decodeGroupSet(n *node) (*GroupSet, error) {
	d := newDec(n)
	g := &GroupSet{ID: d.s("id"), Name: d.s("name"), GroupCount: d.i("groupCount")}
	d.known = append(d.known, "group")
	for _, m := range n.children("group") {
		g.GroupIDs = append(g.GroupIDs, m.attr("id"))
	}
	// JSON may nest members as groups.group.
	if gs := d.child("groups"); gs != nil {
		for _, m := range gs.children("group") {
			g.GroupIDs = append(g.GroupIDs, m.attr("id"))
		}
	}
	g.Extra = d.extras()
	return g, nil
}

// GroupSetsService lists group sets.
type GroupSetsService service

func (s *GroupSetsService) lister() lister[*GroupSet] {
	path, _ := s.client.sitePath("groupsets")
	return lister[*GroupSet]{c: s.client, path: path, wrapper: "groupSets", elem: "groupSet", decode: decodeGroupSet, id: idOf[*GroupSet]}
}

// List returns one page of group sets (GET /sites/{site}/groupsets, 3.22+).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_users_and_groups.htm#get_groupsets
func (s *GroupSetsService) List(ctx context.Context, opts *ListOptions) ([]*GroupSet, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of group sets.
func (s *GroupSetsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*GroupSet, error] {
	return s.lister().all(ctx, opts)
}

// Get returns one group set with all its groups (GET /sites/{site}/groupsets/{id}).
func (s *GroupSetsService) Get(ctx context.Context, id string) (*GroupSet, error) {
	path, err := s.client.sitePath("groupsets/%s", id)
	if err != nil {
		return nil, err
	}
	n, err := s.client.get(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	gs := n.child("groupSet")
	if gs == nil {
		return nil, ErrMalformed
	}
	return decodeGroupSet(gs)
}

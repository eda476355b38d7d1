package tableautest

import (
	"slices"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// Permission responses serve the rules stored in the site file exactly as
// stored: one granteeCapabilities per rule, templates expanded, conflicting
// Allow+Deny as two capability entries, and rules that no longer govern
// (a view of a workbook with tabs, content in a locked project) still
// served — deciding what governs is the engine's job, not the server's.

// rulesPermissions builds <permissions> with an optional parent, the target
// and one granteeCapabilities per rule. A rule that expands to no
// capability (template None) is not served: Tableau stores no such grantee.
func rulesPermissions(parent, target *node, rules []site.Rule, contentType string) (*node, *apiErr) {
	n := el("permissions").add(parent, target)
	for _, r := range rules {
		kind, id, err := site.ParseGrantee(r.Grantee)
		if err != nil {
			return nil, errf(500, "500000", "Internal Server Error", "stored rule: %v", err)
		}
		cs, err := r.Capabilities(contentType)
		if err != nil {
			return nil, errf(500, "500000", "Internal Server Error", "stored rule for %s: %v", r.Grantee, err)
		}
		if len(cs) == 0 {
			continue
		}
		var g *node
		switch kind {
		case "user":
			g = el("user", "id", site.LUID("user", id))
		case "group":
			g = el("group", "id", site.LUID("group", id))
		default:
			g = el("groupSet", "id", site.LUID("groupset", id))
		}
		capsNode := el("capabilities")
		capsNode.kids = make([]*node, 0, len(cs))
		for _, c := range cs {
			capsNode.item(el("capability", "name", c.Name, "mode", c.Mode))
		}
		n.item(el("granteeCapabilities").add(g, capsNode))
	}
	return n, nil
}

// parentOf is the <parent> element: sent for content in a locked project
// and for a project governed by a locked ancestor, naming the controlling
// project. The meaning of the element is undocumented (spec §7.3 [U]);
// this is the simulator's reading.
func parentOf(p *projectRec) *node {
	if p == nil || !p.locked {
		return nil
	}
	return el("parent", "id", p.controlling.luid, "type", "Project")
}

func (s *Server) permTarget(it *itemRec) *node {
	elem := it.typ
	if elem == caps.VirtualConnection {
		elem = "virtualConnection"
	}
	n := el(elem, "id", it.luid, "name", it.name)
	switch it.typ {
	case caps.Database:
		return n.add(el("contact", "id", it.ownerLUID), el("certifier"), el("location"), el("tags"))
	case caps.Table:
		return n.add(el("contact", "id", it.ownerLUID), el("certifier"), el("tags"), el("location"))
	}
	if it.ownerLUID != "" {
		n.add(el("owner", "id", it.ownerLUID))
	}
	return n
}

// mayReadPermissions: administrators read every rule list; others only on
// content they own (Tableau answers 403 otherwise).
func mayReadPermissions(sess *session, ownerLUID string) *apiErr {
	if isAdmin(sess) || ownerLUID == sess.user.luid {
		return nil
	}
	return errf(403, "403000", "Forbidden", "The caller does not have permission to query permissions of this item.")
}

func (s *Server) projectPermissions(q *request, id string) *apiErr {
	p := s.ix.projectByLUID[id]
	if p == nil {
		return errNotFound("project", id)
	}
	if e := mayReadPermissions(q.sess, p.ownerLUID); e != nil {
		return e
	}
	var parent *node
	if p.controlling != p {
		parent = el("parent", "id", p.controlling.luid, "type", "Project")
	}
	target := el("project", "id", p.luid, "name", p.name).add(s.ownerNode("owner", p.ownerLUID, listParams{}))
	n, e := rulesPermissions(parent, target, p.p.Rules, caps.Project)
	if e != nil {
		return e
	}
	q.write(200, n)
	return nil
}

func (s *Server) itemPermissions(q *request, typ, id string) *apiErr {
	it, e := s.findItem(q, typ, id)
	if e != nil {
		return e
	}
	if e := mayReadPermissions(q.sess, it.ownerLUID); e != nil {
		return e
	}
	var parent *node
	switch {
	case it.typ == caps.View:
		parent = parentOf(it.workbook.project)
	case it.project != nil:
		parent = parentOf(it.project)
	}
	n, e := rulesPermissions(parent, s.permTarget(it), it.it.Rules, typ)
	if e != nil {
		return e
	}
	q.write(200, n)
	return nil
}

func (s *Server) projectDefaults(q *request, id, typ string) *apiErr {
	p := s.ix.projectByLUID[id]
	if p == nil {
		return errNotFound("project", id)
	}
	if e := mayReadPermissions(q.sess, p.ownerLUID); e != nil {
		return e
	}
	target := el("project", "id", p.luid, "name", p.name).add(s.ownerNode("owner", p.ownerLUID, listParams{}))
	n, e := rulesPermissions(nil, target, p.p.Defaults[typ], typ)
	if e != nil {
		return e
	}
	q.write(200, n)
	return nil
}

func (s *Server) databaseDefaults(q *request, id string) *apiErr {
	d, e := s.findItem(q, caps.Database, id)
	if e != nil {
		return e
	}
	if e := mayReadPermissions(q.sess, d.ownerLUID); e != nil {
		return e
	}
	n, e := rulesPermissions(nil, s.permTarget(d), d.it.Defaults[caps.Table], caps.Table)
	if e != nil {
		return e
	}
	q.write(200, n)
	return nil
}

// canRead approximates what a signed-in user may list: administrators see
// everything; others see content they own or on which a rule naming them,
// one of their groups or a group set they are fully in allows Read. Views
// follow their workbook, and hidden views are never shown to non-admins.
// Locked projects, project leaders and Deny rules are not considered: the
// point is to hide content from a non-admin extraction, not to evaluate.
func (s *Server) canRead(sess *session, it *itemRec) bool {
	if isAdmin(sess) {
		return true
	}
	if it.typ == caps.View {
		if it.it.Hidden {
			return false
		}
		it = it.workbook
	}
	u := sess.user
	if it.ownerLUID == u.luid {
		return true
	}
	for _, r := range it.it.Rules {
		kind, id, err := site.ParseGrantee(r.Grantee)
		if err != nil {
			continue
		}
		match := false
		switch kind {
		case "user":
			match = id == u.u.ID
		case "group":
			match = slices.ContainsFunc(u.groups, func(g *groupRec) bool { return g.g.ID == id })
		case "groupset":
			if gs := s.ix.groupSetByID[id]; gs != nil {
				match = u.inGroupSet(gs)
			}
		}
		if !match {
			continue
		}
		cs, _ := r.Capabilities(it.typ)
		for _, c := range cs {
			if c.Name == "Read" && c.Mode == "Allow" {
				return true
			}
		}
	}
	return false
}

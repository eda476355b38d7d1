package extract

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"sync"

	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/internal/caps"
)

// defaultKinds are the project default-permission kinds with the REST
// version that introduced them (TSC's gates, spec/tableau-rest.md §6.1).
// Retired kinds (lenses, metrics) are still asked for: old rules survive
// upgrades, and a server that no longer knows the path says so with 404003,
// after which the kind is skipped for the rest of the run and named in the
// manifest.
var defaultKinds = []struct{ Type, Since string }{
	{caps.Workbook, "2.1"}, {caps.Datasource, "2.1"}, {caps.Flow, "3.4"}, {caps.DataRole, "3.4"},
	{caps.Lens, "3.4"}, {caps.Metric, "3.2"}, {caps.VirtualConnection, "3.23"}, {caps.Database, "3.23"}, {caps.Table, "3.23"},
}

type task func(ctx context.Context)

// pool runs per-item tasks on a fixed number of workers. The client's
// in-flight limit bounds the requests; the workers only keep it busy.
type pool struct {
	tasks chan task
	wg    sync.WaitGroup
}

func newPool(ctx context.Context, n int) *pool {
	p := &pool{tasks: make(chan task, 4*n)}
	for range n {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for t := range p.tasks {
				if ctx.Err() == nil {
					t(ctx)
				}
			}
		}()
	}
	return p
}

func (p *pool) close() { close(p.tasks); p.wg.Wait() }

// extractREST lists everything and reads every item's permissions. Lists
// run concurrently and feed per-item tasks to the pool as items arrive, so
// the pool is busy from the first page on.
func (r *run) extractREST(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p := newPool(ctx, r.cfg.Concurrency)
	var fatalOnce sync.Once
	var fatal error
	die := func(err error) {
		fatalOnce.Do(func() { fatal = err; cancel(err) })
	}
	submit := func(st *stage, t task) {
		st.total.Add(1)
		wrapped := func(ctx context.Context) {
			defer st.done.Add(1)
			t(ctx)
		}
		select {
		case p.tasks <- wrapped:
		case <-ctx.Done():
		}
	}
	perms := r.stage("permissions")
	permTask := func(contentType, id string) {
		submit(perms, func(ctx context.Context) {
			if err := r.readPermissions(ctx, contentType, id); err != nil {
				die(err)
			}
		})
	}
	c := r.c
	var lg sync.WaitGroup
	goList := func(f func() error) {
		lg.Add(1)
		go func() {
			defer lg.Done()
			if err := f(); err != nil {
				die(err)
			}
		}()
	}

	goList(func() error {
		return listTable(ctx, r, "users", "users", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.User, error] { return c.Users.All(ctx, o) },
			func(u *tableau.User) error {
				if !knownRole(u.SiteRole) {
					r.flag("site role", u.SiteRole)
				}
				return r.append("users", u.ID, u.Name, u.FullName, u.Email, u.SiteRole, u.AuthSetting, u.LastLogin,
					u.DomainName, u.GLSIMinimumSiteRole, u.ExternalAuthUserID, u.Locale, extraJSON(u.Extra))
			})
	})
	members := r.stage("group members")
	goList(func() error {
		return listTable(ctx, r, "groups", "groups", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.Group, error] { return c.Groups.All(ctx, o) },
			func(g *tableau.Group) error {
				if g.MinimumSiteRole != "" && !knownRole(g.MinimumSiteRole) {
					r.flag("site role", g.MinimumSiteRole)
				}
				if err := r.append("groups", g.ID, g.Name, g.DomainName, ref(g.MinimumSiteRole), ref(g.GrantLicenseMode), g.UserCount, g.IsAllUsers(), extraJSON(g.Extra)); err != nil {
					return err
				}
				id := g.ID
				submit(members, func(ctx context.Context) {
					if err := r.readMembers(ctx, id); err != nil {
						die(err)
					}
				})
				return nil
			})
	})
	if c.AtLeast("3.22") {
		goList(func() error {
			return listTable(ctx, r, "group_sets", "group sets", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.GroupSet, error] { return c.GroupSets.All(ctx, o) },
				func(gs *tableau.GroupSet) error {
					if err := r.append("group_sets", gs.ID, gs.Name, gs.GroupCount); err != nil {
						return err
					}
					ids := gs.GroupIDs
					if gs.GroupCount != nil && int(*gs.GroupCount) != len(ids) {
						// The list shortened the member list: read the set itself.
						r.countRequest("group_set_members")
						full, err := c.GroupSets.Get(ctx, gs.ID)
						if err != nil {
							r.fail("group_set_members", "groups of group set "+gs.ID, http.MethodGet, "", err)
							return nil
						}
						ids = full.GroupIDs
					}
					for _, g := range ids {
						if err := r.append("group_set_members", gs.ID, g); err != nil {
							return err
						}
					}
					return nil
				})
		})
	} else {
		r.warn("group sets not read: REST API %s predates them (3.22)", c.Version())
	}
	goList(func() error {
		return listTable(ctx, r, "projects", "projects", r.luids, func(o *tableau.ListOptions) iter.Seq2[*tableau.Project, error] { return c.Projects.All(ctx, o) },
			func(pr *tableau.Project) error {
				if err := r.append("projects", pr.ID, pr.Name, pr.Description, ref(pr.ParentProjectID), ref(pr.OwnerID),
					pr.ContentPermissions, ref(pr.ControllingPermissionsProjectID), pr.CreatedAt, pr.UpdatedAt, extraJSON(pr.Extra)); err != nil {
					return err
				}
				r.setLUID(pr.ID, caps.Project)
				permTask(caps.Project, pr.ID)
				for _, k := range defaultKinds {
					if !c.AtLeast(k.Since) {
						continue
					}
					id, typ := pr.ID, k.Type
					submit(perms, func(ctx context.Context) {
						if err := r.readDefaults(ctx, id, typ); err != nil {
							die(err)
						}
					})
				}
				return nil
			})
	})
	goList(func() error {
		return listTable(ctx, r, "workbooks", "workbooks", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.Workbook, error] { return c.Workbooks.All(ctx, o) },
			func(w *tableau.Workbook) error {
				if err := r.append("workbooks", w.ID, w.Name, w.ContentURL, w.WebpageURL, ref(w.ProjectID), ref(w.OwnerID), w.ShowTabs, w.Size,
					w.LocationType, w.HasExtracts, w.Description, nonNil(w.Tags), w.CreatedAt, w.UpdatedAt, extraJSON(w.Extra)); err != nil {
					return err
				}
				r.setLUID(w.ID, caps.Workbook)
				permTask(caps.Workbook, w.ID)
				return nil
			})
	})
	goList(func() error {
		return listTable(ctx, r, "views", "views", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.View, error] { return c.Views.All(ctx, o) },
			func(v *tableau.View) error {
				if err := r.append("views", v.ID, v.Name, v.ContentURL, ref(v.WorkbookID), ref(v.ProjectID), ref(v.OwnerID), v.SheetType,
					v.ViewURLName, v.Hidden, nonNil(v.Tags), v.CreatedAt, v.UpdatedAt, extraJSON(v.Extra)); err != nil {
					return err
				}
				r.setLUID(v.ID, caps.View)
				if c.AtLeast("3.2") {
					permTask(caps.View, v.ID)
				}
				return nil
			})
	})
	goList(func() error {
		return listTable(ctx, r, "datasources", "datasources", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.Datasource, error] { return c.Datasources.All(ctx, o) },
			func(d *tableau.Datasource) error {
				if err := r.append("datasources", d.ID, d.Name, d.ContentURL, ref(d.ProjectID), ref(d.OwnerID), d.Type, d.IsCertified, d.HasExtracts,
					d.LocationType, d.Description, nonNil(d.Tags), d.CreatedAt, d.UpdatedAt, extraJSON(d.Extra)); err != nil {
					return err
				}
				r.setLUID(d.ID, caps.Datasource)
				permTask(caps.Datasource, d.ID)
				return nil
			})
	})
	if c.AtLeast("3.3") {
		goList(func() error {
			return listTable(ctx, r, "flows", "flows", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.Flow, error] { return c.Flows.All(ctx, o) },
				func(f *tableau.Flow) error {
					if err := r.append("flows", f.ID, f.Name, ref(f.ProjectID), ref(f.OwnerID), f.Description, nonNil(f.Tags), f.CreatedAt, f.UpdatedAt, extraJSON(f.Extra)); err != nil {
						return err
					}
					r.setLUID(f.ID, caps.Flow)
					permTask(caps.Flow, f.ID)
					return nil
				})
		})
	}
	if c.AtLeast("3.18") {
		goList(func() error {
			return listTable(ctx, r, "virtual_connections", "virtual connections", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.VirtualConnection, error] {
				return c.VirtualConnections.All(ctx, o)
			}, func(v *tableau.VirtualConnection) error {
				if err := r.append("virtual_connections", v.ID, v.Name, ref(v.ProjectID), ref(v.OwnerID), v.HasExtracts, v.IsCertified, v.CreatedAt, v.UpdatedAt, extraJSON(v.Extra)); err != nil {
					return err
				}
				r.setLUID(v.ID, caps.VirtualConnection)
				permTask(caps.VirtualConnection, v.ID)
				return nil
			})
		})
	}
	if c.AtLeast("3.5") {
		goList(func() error {
			return listTable(ctx, r, "databases", "databases", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.Database, error] { return c.Databases.All(ctx, o) },
				func(d *tableau.Database) error {
					if err := r.append("databases", d.ID, d.Name, d.ConnectionType, d.ContentPermissions, ref(d.ContactID), d.HostName, extraJSON(d.Extra)); err != nil {
						return err
					}
					r.setLUID(d.ID, caps.Database)
					permTask(caps.Database, d.ID)
					id := d.ID
					submit(perms, func(ctx context.Context) {
						if err := r.readDatabaseDefaults(ctx, id); err != nil {
							die(err)
						}
					})
					return nil
				})
		})
		goList(func() error {
			return listTable(ctx, r, "tables", "tables", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.Table, error] { return c.Tables.All(ctx, o) },
				func(t *tableau.Table) error {
					if err := r.append("tables", t.ID, t.Name, t.Schema, ref(t.DatabaseID), ref(t.ContactID), extraJSON(t.Extra)); err != nil {
						return err
					}
					r.setLUID(t.ID, caps.Table)
					permTask(caps.Table, t.ID)
					return nil
				})
		})
	}
	goList(func() error {
		return listTable(ctx, r, "jobs", "jobs", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.Job, error] { return c.Jobs.All(ctx, o) },
			func(j *tableau.Job) error {
				return r.append("jobs", j.ID, j.Type, j.Status, ref(j.ItemID), j.CreatedAt, j.StartedAt, j.CompletedAt, extraJSON(j.Extra))
			})
	})
	goList(func() error {
		return listTable(ctx, r, "schedules", "schedules", nil, func(o *tableau.ListOptions) iter.Seq2[*tableau.Schedule, error] { return c.Schedules.All(ctx, o) },
			func(s *tableau.Schedule) error {
				return r.append("schedules", s.ID, s.Name, s.Type, s.Frequency, s.State, extraJSON(s.Extra))
			})
	})
	goList(func() error {
		r.countRequest("extract_refresh_tasks")
		ts, resp, err := c.Tasks.ListExtractRefreshes(ctx)
		if err != nil {
			r.listFailed("extract_refresh_tasks", err)
			return nil
		}
		if resp != nil {
			r.table("extract_refresh_tasks").TotalAvailable = int64(resp.TotalAvailable)
		}
		for _, t := range ts {
			if err := r.append("extract_refresh_tasks", t.ID, ref(t.ScheduleID), ref(t.ItemType), ref(t.ItemID), t.Type, extraJSON(t.Extra)); err != nil {
				return err
			}
		}
		return nil
	})

	lg.Wait()
	p.close()
	if fatal != nil {
		return fatal
	}
	return ctx.Err()
}

// listTable walks one list into one table, recording the announced total,
// the requests made and any failure.
func listTable[T any](ctx context.Context, r *run, table, stageName string, _ map[string]string,
	seq func(*tableau.ListOptions) iter.Seq2[T, error], row func(T) error) error {
	st := r.stage(stageName)
	ts := r.table(table)
	opts := &tableau.ListOptions{OnPage: func(resp *tableau.Response) {
		r.countRequest(table)
		r.mu.Lock()
		ts.TotalAvailable = int64(resp.TotalAvailable)
		r.mu.Unlock()
		st.total.Store(int64(resp.TotalAvailable))
	}}
	for v, err := range seq(opts) {
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.listFailed(table, err)
			return nil
		}
		if err := row(v); err != nil {
			return err
		}
		st.done.Add(1)
	}
	return nil
}

// listFailed records a list that could not be read to the end. Lists that
// a server may legitimately refuse (schedules on Tableau Cloud, jobs for a
// non-administrator) are named as warnings as well as failures.
func (r *run) listFailed(table string, err error) {
	var ae *tableau.APIError
	if errors.As(err, &ae) && table == "schedules" && (ae.StatusCode == http.StatusNotFound || ae.StatusCode == http.StatusForbidden) {
		r.warn("schedules not available (%d %s): Tableau Cloud has no server schedules; the table is empty", ae.StatusCode, ae.Code)
		return
	}
	entity := "list of " + table
	var lc *tableau.ListCountError
	if errors.As(err, &lc) {
		entity = fmt.Sprintf("list of %s (read %d of totalAvailable %d)", table, lc.Seen, lc.TotalAvailable)
	}
	r.fail(table, entity, http.MethodGet, "", err)
	// A list cut short is never "gone": the table is incomplete, and so is
	// every table read per item of it (rules, members).
	r.mu.Lock()
	r.tables[table].Complete = false
	for _, dep := range dependents[table] {
		r.tables[dep].Complete = false
	}
	r.mu.Unlock()
}

// dependents are the tables filled per item of a list.
var dependents = map[string][]string{
	"groups": {"group_members"}, "group_sets": {"group_set_members"},
	"projects": {"permission_rules"}, "workbooks": {"permission_rules"}, "views": {"permission_rules"},
	"datasources": {"permission_rules"}, "flows": {"permission_rules"}, "virtual_connections": {"permission_rules"},
	"databases": {"permission_rules"}, "tables": {"permission_rules"},
}

func (r *run) setLUID(id, typ string) {
	r.mu.Lock()
	r.luids[id] = typ
	r.mu.Unlock()
}

func (r *run) readMembers(ctx context.Context, groupID string) error {
	opts := &tableau.ListOptions{OnPage: func(*tableau.Response) { r.countRequest("group_members") }}
	for u, err := range r.c.Groups.AllUsers(ctx, groupID, opts) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			entity := "members of group " + groupID
			var lc *tableau.ListCountError
			if errors.As(err, &lc) {
				entity = fmt.Sprintf("members of group %s (read %d of totalAvailable %d)", groupID, lc.Seen, lc.TotalAvailable)
				r.fail("group_members", entity, http.MethodGet, "", err)
				r.mu.Lock()
				r.tables["group_members"].Complete = false
				r.mu.Unlock()
				return nil
			}
			r.fail("group_members", entity, http.MethodGet, "", err)
			return nil
		}
		if err := r.append("group_members", groupID, u.ID); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) readPermissions(ctx context.Context, contentType, id string) error {
	r.countRequest("permission_rules")
	ps, err := r.c.Permissions.Get(ctx, contentType, id)
	if err != nil {
		if ctx.Err() == nil {
			r.fail("permission_rules", fmt.Sprintf("permissions of %s %s", contentType, id), http.MethodGet, "", err)
		}
		return nil
	}
	return r.writeRules(contentType, id, "item", ps)
}

func (r *run) readDefaults(ctx context.Context, projectID, contentType string) error {
	r.mu.Lock()
	_, skip := r.skipKinds[contentType]
	r.mu.Unlock()
	if skip {
		return nil
	}
	r.countRequest("permission_rules")
	ps, err := r.c.Permissions.GetProjectDefaults(ctx, projectID, contentType)
	if err != nil {
		var ae *tableau.APIError
		if errors.As(err, &ae) && ae.UnknownResource() {
			// The server does not know this kind (retired or too new): not a
			// gap in an existing project's rules.
			r.mu.Lock()
			r.skipKinds[contentType] = fmt.Sprintf("the server answered %d %s (%s)", ae.StatusCode, ae.Code, ae.Summary)
			r.mu.Unlock()
			return nil
		}
		if ctx.Err() == nil {
			r.fail("permission_rules", fmt.Sprintf("default %s permissions of project %s", contentType, projectID), http.MethodGet, "", err)
		}
		return nil
	}
	return r.writeRules(caps.Project, projectID, "default:"+contentType, ps)
}

func (r *run) readDatabaseDefaults(ctx context.Context, dbID string) error {
	r.countRequest("permission_rules")
	ps, err := r.c.Permissions.GetDatabaseTableDefaults(ctx, dbID)
	if err != nil {
		var ae *tableau.APIError
		if errors.As(err, &ae) && ae.UnknownResource() {
			r.mu.Lock()
			r.skipKinds["table (database defaults)"] = fmt.Sprintf("the server answered %d %s", ae.StatusCode, ae.Code)
			r.mu.Unlock()
			return nil
		}
		if ctx.Err() == nil {
			r.fail("permission_rules", "default table permissions of database "+dbID, http.MethodGet, "", err)
		}
		return nil
	}
	return r.writeRules(caps.Database, dbID, "default:"+caps.Table, ps)
}

// writeRules writes one row per (grantee, capability), names verbatim.
func (r *run) writeRules(objectType, objectID, ruleSet string, ps *tableau.PermissionSet) error {
	for _, g := range ps.Grantees {
		if g.GranteeType != "user" && g.GranteeType != "group" && g.GranteeType != "groupset" {
			r.flag("grantee kind", g.GranteeType)
		}
		for _, cp := range g.Capabilities {
			if !caps.Known(cp.Name) {
				r.flag("capability name", cp.Name)
			}
			if cp.Mode != "Allow" && cp.Mode != "Deny" {
				r.flag("capability mode", cp.Mode)
			}
			if err := r.append("permission_rules", objectType, objectID, g.GranteeType, g.GranteeID, cp.Name, cp.Mode, ruleSet, ref(ps.ParentID)); err != nil {
				return err
			}
		}
	}
	return nil
}

func knownRole(role string) bool {
	if slices.Contains(caps.CurrentRoles, role) {
		return true
	}
	_, ok := caps.LegacyRoles[role]
	return ok
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

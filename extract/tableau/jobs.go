package tableau

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Job is a background job (GET jobs).
type Job struct {
	ID, Type, Status, ItemID string
	CreatedAt, StartedAt     *time.Time
	CompletedAt              *time.Time
	Extra                    map[string]any
}

// GetID returns the LUID.
func (j *Job) GetID() string { return j.ID }

func decodeJob(n *node) (*Job, error) {
	d := newDec(n)
	j := &Job{ID: d.s("id"), Type: d.s("jobType"), Status: d.s("status"),
		CreatedAt: d.t("createdAt"), StartedAt: d.t("startedAt"), CompletedAt: d.t("endedAt")}
	if j.Type == "" {
		j.Type = d.s("type")
	}
	if j.CompletedAt == nil {
		j.CompletedAt = d.t("completedAt")
	}
	for _, k := range []string{"workbook", "datasource", "flow"} {
		if id := d.childID(k); id != "" {
			j.ItemID = id
		}
	}
	if j.ItemID == "" {
		j.ItemID = d.s("itemId")
	}
	j.Extra = d.extras()
	return j, nil
}

// JobsService lists background jobs.
type JobsService service

func (s *JobsService) lister() lister[*Job] {
	path, _ := s.client.sitePath("jobs")
	return lister[*Job]{c: s.client, path: path, wrapper: "backgroundJobs", elem: "backgroundJob", decode: decodeJob, id: idOf[*Job]}
}

// List returns one page of jobs (GET /sites/{site}/jobs, 3.1+).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_jobs_tasks_and_schedules.htm#query_jobs
func (s *JobsService) List(ctx context.Context, opts *ListOptions) ([]*Job, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of jobs.
func (s *JobsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Job, error] {
	return s.lister().all(ctx, opts)
}

// Schedule is a server schedule (GET schedules; Tableau Server only).
type Schedule struct {
	ID, Name, Type, Frequency, State string
	Extra                            map[string]any
}

// GetID returns the LUID.
func (v *Schedule) GetID() string { return v.ID }

func decodeSchedule(n *node) (*Schedule, error) {
	d := newDec(n)
	v := &Schedule{ID: d.s("id"), Name: d.s("name"), Type: d.s("type"), Frequency: d.s("frequency"), State: d.s("state")}
	v.Extra = d.extras()
	return v, nil
}

// SchedulesService lists server schedules.
type SchedulesService service

func (s *SchedulesService) lister() lister[*Schedule] {
	return lister[*Schedule]{c: s.client, path: "schedules", wrapper: "schedules", elem: "schedule", decode: decodeSchedule, id: idOf[*Schedule]}
}

// List returns one page of schedules (GET /api/{ver}/schedules, server-level;
// Tableau Cloud answers 404 or 403).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_jobs_tasks_and_schedules.htm#query_schedules
func (s *SchedulesService) List(ctx context.Context, opts *ListOptions) ([]*Schedule, *Response, error) {
	return s.lister().list(ctx, opts)
}

// All walks every page of schedules.
func (s *SchedulesService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Schedule, error] {
	return s.lister().all(ctx, opts)
}

// ExtractRefreshTask is a scheduled extract refresh (GET tasks/extractRefreshes).
type ExtractRefreshTask struct {
	ID, ScheduleID, ItemType, ItemID, Type string
	Extra                                  map[string]any
}

// GetID returns the LUID.
func (v *ExtractRefreshTask) GetID() string { return v.ID }

func decodeExtractRefreshTask(task *node) (*ExtractRefreshTask, error) {
	n := task.child("extractRefresh")
	if n == nil {
		return nil, fmt.Errorf("%w: <task> without <extractRefresh>", ErrMalformed)
	}
	d := newDec(n)
	v := &ExtractRefreshTask{ID: d.s("id"), Type: d.s("type"), ScheduleID: d.childID("schedule")}
	for _, k := range []string{"workbook", "datasource", "view"} {
		if id := d.childID(k); id != "" {
			v.ItemType, v.ItemID = k, id
		}
	}
	v.Extra = d.extras()
	return v, nil
}

// TasksService lists tasks.
type TasksService service

// ListExtractRefreshes returns every extract refresh task
// (GET /sites/{site}/tasks/extractRefreshes; not paginated).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_jobs_tasks_and_schedules.htm#list_extract_refresh_tasks1
func (s *TasksService) ListExtractRefreshes(ctx context.Context) ([]*ExtractRefreshTask, *Response, error) {
	path, err := s.client.sitePath("tasks/extractRefreshes")
	if err != nil {
		return nil, nil, err
	}
	l := lister[*ExtractRefreshTask]{c: s.client, path: path, wrapper: "tasks", elem: "task", decode: decodeExtractRefreshTask, id: idOf[*ExtractRefreshTask]}
	var out []*ExtractRefreshTask
	var last *Response
	opts := &ListOptions{OnPage: func(r *Response) { last = r }}
	for t, err := range l.all(ctx, opts) {
		if err != nil {
			return nil, nil, err
		}
		out = append(out, t)
	}
	return out, last, nil
}

// Site is a site (GET sites; server administrators).
type Site struct {
	ID, Name, ContentURL, State string
	Extra                       map[string]any
}

// GetID returns the LUID.
func (v *Site) GetID() string { return v.ID }

func decodeSite(n *node) (*Site, error) {
	d := newDec(n)
	v := &Site{ID: d.s("id"), Name: d.s("name"), ContentURL: d.s("contentUrl"), State: d.s("state")}
	v.Extra = d.extras()
	return v, nil
}

// SitesService reads sites.
type SitesService service

func (s *SitesService) lister() lister[*Site] {
	return lister[*Site]{c: s.client, path: "sites", wrapper: "sites", elem: "site", decode: decodeSite, id: idOf[*Site]}
}

// All walks every site the signed-in user can see (GET /api/{ver}/sites).
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_site.htm#query_sites
func (s *SitesService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Site, error] {
	return s.lister().all(ctx, opts)
}

// Get returns the signed-in site (GET /api/{ver}/sites/{id}).
func (s *SitesService) Get(ctx context.Context) (*Site, error) {
	path, err := s.client.sitePath("")
	if err != nil {
		return nil, err
	}
	n, err := s.client.get(ctx, trimSlash(path), nil)
	if err != nil {
		return nil, fmt.Errorf("reading the signed-in site: %w", err)
	}
	st := n.child("site")
	if st == nil {
		return nil, fmt.Errorf("reading the signed-in site: %w: no <site> element", ErrMalformed)
	}
	return decodeSite(st)
}

// GetUser returns one user (GET /sites/{site}/users/{id}); used for the
// signed-in user's own role.
func (s *UsersService) Get(ctx context.Context, id string) (*User, error) {
	path, err := s.client.sitePath("users/%s", id)
	if err != nil {
		return nil, err
	}
	n, err := s.client.get(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("reading user %s: %w", id, err)
	}
	u := n.child("user")
	if u == nil {
		return nil, fmt.Errorf("reading user %s: %w: no <user> element", id, ErrMalformed)
	}
	return decodeUser(u)
}

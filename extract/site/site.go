// Package site describes a Tableau site as plain data: the site-file format
// (the `site:` form of spec/permission-vectors.yaml, spec §16.1, extended with
// names, tags, timestamps, lineage and jobs). The simulator serves a Site over
// the real wire formats; tests and the vectors runner build Sites from YAML;
// the synthetic generator builds them from a seed and a size preset.
//
// Short ids in a site file map to stable LUIDs through LUID, so that a test can
// find the extracted row of any object it declared.
package site

import (
	"crypto/sha1"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// AllUsersID is the short id of the implicit "All Users" group; every user is a
// member whether or not the file lists it (spec §9.1, §16.1).
const AllUsersID = "all-users"

// AllUsersName is the name Tableau gives the built-in group.
const AllUsersName = "All Users"

// Site is one Tableau site.
type Site struct {
	Name       string `yaml:"name,omitempty"`
	ContentURL string `yaml:"content_url,omitempty"` // "" is the Default site
	// ID is the site's short id; its LUID is LUID("site", ID). Defaults to the
	// content URL or "default".
	ID string `yaml:"id,omitempty"`

	Users     []User     `yaml:"users,omitempty"`
	Groups    []Group    `yaml:"groups,omitempty"`
	GroupSets []GroupSet `yaml:"group_sets,omitempty"`
	Projects  []Project  `yaml:"projects,omitempty"`
	Items     []Item     `yaml:"items,omitempty"`

	Lineage *Lineage `yaml:"lineage,omitempty"`

	Jobs                []Job                `yaml:"jobs,omitempty"`
	Schedules           []Schedule           `yaml:"schedules,omitempty"`
	ExtractRefreshTasks []ExtractRefreshTask `yaml:"extract_refresh_tasks,omitempty"`
}

// User is a site user. Role is the REST siteRole value, legacy names included.
type User struct {
	ID                  string     `yaml:"id"`
	Role                string     `yaml:"role"`
	Name                string     `yaml:"name,omitempty"` // sign-in name; defaults to ID
	FullName            string     `yaml:"full_name,omitempty"`
	Email               string     `yaml:"email,omitempty"`
	AuthSetting         string     `yaml:"auth_setting,omitempty"`
	Domain              string     `yaml:"domain,omitempty"`
	LastLogin           *time.Time `yaml:"last_login,omitempty"` // nil: never signed in
	GLSIMinimumSiteRole string     `yaml:"glsi_minimum_site_role,omitempty"`
	Line                int        `yaml:"-"`
}

// Group is a local or imported group.
type Group struct {
	ID              string   `yaml:"id"`
	Name            string   `yaml:"name,omitempty"`
	Domain          string   `yaml:"domain,omitempty"` // "local" when empty
	Members         []string `yaml:"members,omitempty"`
	MinimumSiteRole string   `yaml:"minimum_site_role,omitempty"`
	LicenseMode     string   `yaml:"license_mode,omitempty"` // onLogin | onSync
	Line            int      `yaml:"-"`
}

// GroupSet is a group set (AND of its groups, spec §9.2).
type GroupSet struct {
	ID     string   `yaml:"id"`
	Name   string   `yaml:"name,omitempty"`
	Groups []string `yaml:"groups,omitempty"`
	Line   int      `yaml:"-"`
}

// Project is a project; Parent is "" for a top-level project.
type Project struct {
	ID                 string            `yaml:"id"`
	Name               string            `yaml:"name,omitempty"`
	Description        string            `yaml:"description,omitempty"`
	Parent             string            `yaml:"parent,omitempty"`
	Owner              string            `yaml:"owner,omitempty"`
	ContentPermissions string            `yaml:"content_permissions,omitempty"` // ManagedByOwner when empty
	Rules              []Rule            `yaml:"rules,omitempty"`
	Defaults           map[string][]Rule `yaml:"defaults,omitempty"` // key: content type (caps.*)
	// ControllingProject overrides the controllingPermissionsProjectId the
	// simulator reports; empty means computed from the tree (spec §7.2). Used
	// to test CONTROLLING_PROJECT_MISMATCH.
	ControllingProject string     `yaml:"controlling_project,omitempty"`
	CreatedAt          *time.Time `yaml:"created_at,omitempty"`
	UpdatedAt          *time.Time `yaml:"updated_at,omitempty"`
	Line               int        `yaml:"-"`
}

// Item is a content item: workbook, view, datasource, flow,
// virtualconnection, datarole, lens, metric, database or table.
type Item struct {
	ID       string `yaml:"id"`
	Type     string `yaml:"type"`
	Name     string `yaml:"name,omitempty"`
	Project  string `yaml:"project,omitempty"`  // all but views, databases, tables
	Workbook string `yaml:"workbook,omitempty"` // views
	Database string `yaml:"database,omitempty"` // tables
	Owner    string `yaml:"owner,omitempty"`    // views: ignored, the workbook's owner
	ShowTabs *bool  `yaml:"show_tabs,omitempty"`
	// ContentPermissions is for databases: LockedToDatabase | ManagedByOwner.
	ContentPermissions string            `yaml:"content_permissions,omitempty"`
	Defaults           map[string][]Rule `yaml:"defaults,omitempty"` // databases: {table: rules}
	Rules              []Rule            `yaml:"rules,omitempty"`

	Tags         []string   `yaml:"tags,omitempty"`
	Hidden       bool       `yaml:"hidden,omitempty"`        // views: hidden sheet (not listed as a tab)
	LocationType string     `yaml:"location_type,omitempty"` // PersonalSpace etc.
	Description  string     `yaml:"description,omitempty"`
	SizeBytes    int64      `yaml:"size,omitempty"`
	CreatedAt    *time.Time `yaml:"created_at,omitempty"`
	UpdatedAt    *time.Time `yaml:"updated_at,omitempty"`
	Certified    bool       `yaml:"certified,omitempty"`    // datasources
	HasExtracts  bool       `yaml:"has_extracts,omitempty"` // workbooks, datasources
	Line         int        `yaml:"-"`
}

// Rule is one grantee's capability modes. Grantee is "user:<id>",
// "group:<id>" or "groupset:<id>". Template (View, Explore, Publish,
// Administer, None, Denied) expands first; Allow and Deny apply on top.
type Rule struct {
	Grantee  string   `yaml:"grantee"`
	Allow    []string `yaml:"allow,omitempty"`
	Deny     []string `yaml:"deny,omitempty"`
	Template string   `yaml:"template,omitempty"`
	Line     int      `yaml:"-"`
}

// Lineage is what the Metadata API knows about the site. Ids are short ids;
// a lineage database or table whose id equals an item of type database or
// table is that item (same LUID). Published datasources, workbooks, views,
// flows and virtual connections are referred to by their item ids.
type Lineage struct {
	Databases               []LDatabase             `yaml:"databases,omitempty"`
	Tables                  []LTable                `yaml:"tables,omitempty"`
	CustomSQL               []LCustomSQL            `yaml:"custom_sql,omitempty"`
	PublishedDatasources    []LPublishedDatasource  `yaml:"published_datasources,omitempty"`
	EmbeddedDatasources     []LEmbeddedDatasource   `yaml:"embedded_datasources,omitempty"`
	VirtualConnectionTables []LVirtualConnectionTbl `yaml:"virtual_connection_tables,omitempty"`
	Sheets                  []LSheet                `yaml:"sheets,omitempty"`
	Dashboards              []LDashboard            `yaml:"dashboards,omitempty"`
	Flows                   []LFlow                 `yaml:"flows,omitempty"`
}

// LDatabase is a database server, file or cloud file.
type LDatabase struct {
	ID             string `yaml:"id"`
	Name           string `yaml:"name,omitempty"`
	ConnectionType string `yaml:"connection_type,omitempty"` // postgres, snowflake, excel-direct, ...
	Host           string `yaml:"host,omitempty"`
	Port           int    `yaml:"port,omitempty"`
	FilePath       string `yaml:"file_path,omitempty"` // for File databases
	Line           int    `yaml:"-"`
}

// LTable is a database table with its columns. Hidden marks a table the
// signed-in user may not see: the Metadata API returns it with null name and
// schema (obfuscated).
type LTable struct {
	ID       string   `yaml:"id"`
	Database string   `yaml:"database"`
	Schema   string   `yaml:"schema,omitempty"`
	Name     string   `yaml:"name,omitempty"`
	Columns  []string `yaml:"columns,omitempty"`
	Hidden   bool     `yaml:"hidden,omitempty"`
	Line     int      `yaml:"-"`
}

// LCustomSQL is a custom SQL query over tables of one database.
type LCustomSQL struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name,omitempty"`
	Query    string   `yaml:"query,omitempty"`
	Database string   `yaml:"database"`
	Tables   []string `yaml:"tables,omitempty"`
	Line     int      `yaml:"-"`
}

// LPublishedDatasource adds lineage to a datasource item.
type LPublishedDatasource struct {
	Item                    string   `yaml:"item"`
	Tables                  []string `yaml:"tables,omitempty"`
	CustomSQL               []string `yaml:"custom_sql,omitempty"`
	Datasources             []string `yaml:"datasources,omitempty"` // upstream published datasources
	VirtualConnectionTables []string `yaml:"virtual_connection_tables,omitempty"`
	Line                    int      `yaml:"-"`
}

// LEmbeddedDatasource is a datasource embedded in a workbook; Published lists
// the published datasources it connects to.
type LEmbeddedDatasource struct {
	ID        string   `yaml:"id"`
	Workbook  string   `yaml:"workbook"`
	Name      string   `yaml:"name,omitempty"`
	Tables    []string `yaml:"tables,omitempty"`
	CustomSQL []string `yaml:"custom_sql,omitempty"`
	Published []string `yaml:"published,omitempty"`
	Line      int      `yaml:"-"`
}

// LVirtualConnectionTbl is a table of a virtual connection item.
type LVirtualConnectionTbl struct {
	ID                string   `yaml:"id"`
	VirtualConnection string   `yaml:"virtual_connection"`
	Name              string   `yaml:"name,omitempty"`
	Tables            []string `yaml:"tables,omitempty"`
	Line              int      `yaml:"-"`
}

// LSheet is a worksheet. View is the view item it is published as; empty
// means a hidden sheet (no luid), reachable only through its dashboards.
// Tables and Columns are field-level lineage (what the sheet's fields use);
// Datasources are the embedded datasources it draws from.
type LSheet struct {
	ID          string   `yaml:"id"`
	Workbook    string   `yaml:"workbook"`
	Name        string   `yaml:"name,omitempty"`
	View        string   `yaml:"view,omitempty"`
	Datasources []string `yaml:"datasources,omitempty"`
	Tables      []string `yaml:"tables,omitempty"`
	Columns     []string `yaml:"columns,omitempty"` // "<table id>.<column>"
	Line        int      `yaml:"-"`
}

// LDashboard is a dashboard made of sheets; View is its view item.
type LDashboard struct {
	ID       string   `yaml:"id"`
	Workbook string   `yaml:"workbook"`
	Name     string   `yaml:"name,omitempty"`
	View     string   `yaml:"view,omitempty"`
	Sheets   []string `yaml:"sheets,omitempty"`
	Line     int      `yaml:"-"`
}

// LFlow adds lineage to a flow item.
type LFlow struct {
	Item         string   `yaml:"item"`
	InputTables  []string `yaml:"input_tables,omitempty"`
	OutputTables []string `yaml:"output_tables,omitempty"`
	Line         int      `yaml:"-"`
}

// Job is a background job.
type Job struct {
	ID          string     `yaml:"id"`
	Type        string     `yaml:"type"`             // RefreshExtract, RunFlow, ...
	Status      string     `yaml:"status,omitempty"` // Success, Failed, InProgress, ...
	Item        string     `yaml:"item,omitempty"`
	CreatedAt   *time.Time `yaml:"created_at,omitempty"`
	StartedAt   *time.Time `yaml:"started_at,omitempty"`
	CompletedAt *time.Time `yaml:"completed_at,omitempty"`
	Line        int        `yaml:"-"`
}

// Schedule is a server schedule.
type Schedule struct {
	ID        string `yaml:"id"`
	Name      string `yaml:"name,omitempty"`
	Type      string `yaml:"type,omitempty"`      // Extract, Flow, Subscription
	Frequency string `yaml:"frequency,omitempty"` // Daily, Weekly, ...
	State     string `yaml:"state,omitempty"`     // Active, Suspended
	Line      int    `yaml:"-"`
}

// ExtractRefreshTask ties an item (workbook or datasource) to a schedule.
type ExtractRefreshTask struct {
	ID       string `yaml:"id"`
	Schedule string `yaml:"schedule,omitempty"`
	Item     string `yaml:"item"`
	Type     string `yaml:"type,omitempty"` // FullRefresh | IncrementalRefresh
	Line     int    `yaml:"-"`
}

// namespace seeds every LUID; changing it changes every fixture.
var namespace = uuid.MustParse("5f1c3a9e-2d4b-4c7e-9a61-7b2e0d8f4c11")

// LUID returns the stable LUID for an object of a kind ("user", "group",
// "groupset", "project", "site", "schedule", "job", "task" or a content type)
// with a short id. Lineage-only objects use kinds prefixed "lineage-".
func LUID(kind, id string) string {
	return uuid.NewHash(sha1.New(), namespace, []byte(kind+":"+id), 5).String()
}

// ItemByID returns the item with the id, or nil.
func (s *Site) ItemByID(id string) *Item {
	for i := range s.Items {
		if s.Items[i].ID == id {
			return &s.Items[i]
		}
	}
	return nil
}

// ProjectByID returns the project with the id, or nil.
func (s *Site) ProjectByID(id string) *Project {
	for i := range s.Projects {
		if s.Projects[i].ID == id {
			return &s.Projects[i]
		}
	}
	return nil
}

// DisplayName returns the object's name, defaulting to its id.
func DisplayName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// ParseGrantee splits "group:sales" into ("group", "sales").
func ParseGrantee(g string) (kind, id string, err error) {
	for i := 0; i < len(g); i++ {
		if g[i] == ':' {
			kind, id = g[:i], g[i+1:]
			switch kind {
			case "user", "group", "groupset":
				if id == "" {
					return "", "", fmt.Errorf("grantee %q has an empty id", g)
				}
				return kind, id, nil
			}
			return "", "", fmt.Errorf("grantee %q: kind must be user, group or groupset", g)
		}
	}
	return "", "", fmt.Errorf("grantee %q: want user:<id>, group:<id> or groupset:<id>", g)
}

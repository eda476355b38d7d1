// Package tableautest is a Tableau site in a box: it serves a site.Site over
// the Tableau REST API (XML with the http://tableau.com/api namespace, or
// Tableau's JSON on Accept: application/json) and mounts the Metadata API
// simulator (package metadatasim) at /api/metadata/graphql, so that every
// test of the extractor goes through real HTTP, real wire formats and real
// error codes. NewServer is the httptest-style constructor for tests; Start
// runs it for `tabaudit sim serve`.
//
// # What is served
//
// Server-level: GET serverinfo (also serverInfo, no auth), POST
// auth/signin, auth/signout, auth/switchSite, GET schedules, GET sites.
// Site-level under /api/{version}/sites/{site-luid}/: users, users/{id},
// users/{id}/groups, groups, groups/{id}/users, groupsets, groupsets/{id},
// projects, projects/{id}, workbooks, workbooks/{id} (with its views),
// workbooks/{id}/views (not paginated), views, views/{id}, datasources,
// flows, virtualConnections, databases, tables, metrics (and /{id} for each),
// jobs, jobs/{id}, tasks/extractRefreshes (not paginated); permissions of
// projects, workbooks, views, datasources, flows, virtualConnections,
// databases, tables, metrics and lenses; project default permissions for
// workbooks, datasources, flows, dataroles, lenses, metrics,
// virtualConnections (also virtualconnections), databases and tables; and
// databases/{id}/default-permissions/tables. Every endpoint has the
// minimum REST version Tableau introduced it in; older versions in the URL
// get 404003, as do versions above the server's (WithRESTVersion, default
// 3.29) and below 2.4.
//
// Data roles have no REST list, so datarole items are not listed (their
// project defaults are served); lens items are served only through
// lenses/{id}/permissions. Tables carry no reference to their database in
// REST (spec/tableau-rest.md §5.10): that link comes from the Metadata API.
//
// # Decisions where Tableau's behaviour is not documented
//
//   - Default list order is site-file order; sort= reorders.
//   - Hidden views (site.Item.Hidden) are listed only to administrators,
//     with hidden="true", in both views lists; non-administrators never see
//     them (also not by id).
//   - Items in Personal Space have no project element and a location of
//     type PersonalSpace.
//   - The <parent id=… type="Project"/> element of a permissions response
//     is sent for content of a locked project and for a project governed by
//     a locked ancestor; it names the controlling project.
//   - A nested project under a LockedToProject root reports
//     contentPermissions="LockedToProject" and the root as
//     controllingPermissionsProjectId; site.Project.ControllingProject
//     overrides the reported id.
//   - Rules are served as stored: one granteeCapabilities per stored rule,
//     conflicting Allow+Deny as two capability entries, rules on views of
//     workbooks with tabs and on content in locked projects included. A rule
//     that expands to no capability (template None) is not served.
//   - A non-administrator sees only itself in GET users (403133 for other
//     users), only content it owns or that a rule naming it (or its groups,
//     or a group set it is fully in) allows Read, and gets 403 on
//     permissions of content it does not own; jobs and tasks are 403.
//   - Missing createdAt/updatedAt are served as 2024-01-01T00:00:00Z.
//   - Not-found codes other than 404000/404002/404003 are plausible guesses
//     (see notFoundCodes).
//
// # Sign-in
//
// A personal access token (default DefaultPATName / DefaultPATSecret, more
// with WithPAT) signs in as the site's first SiteAdministratorCreator or
// ServerAdministrator, or WithUser's user, or — when the site has neither —
// a synthetic ServerAdministrator SyntheticAdminName that is not listed in
// GET users. Username and password sign in any site user by name with
// DefaultPassword (WithPassword). WithJWT accepts HS256 connected-app tokens
// (sub = user name; exp, aud "tableau" and iss checked). Signing in again
// with the same PAT ends its earlier session (401002 afterwards).
//
// # Faults
//
// See Faults: latency with deterministic jitter, 429 bursts with the wait
// in the detail (and optionally Retry-After), 5xx bursts (500 as a Tableau
// error, 502/503/504 as proxy HTML), session expiry after N requests or a
// duration, moving totals and short pages. Faults are functions of request
// counters, so a configuration and a request order reproduce the same run.
// Stats counts requests per endpoint pattern.
package tableautest

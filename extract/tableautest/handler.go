package tableautest

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// apiErr is a Tableau error response.
type apiErr struct {
	status  int
	code    string
	summary string
	detail  string
}

func (e *apiErr) Error() string { return e.code + " " + e.summary + ": " + e.detail }

func errf(status int, code, summary, format string, args ...any) *apiErr {
	return &apiErr{status: status, code: code, summary: summary, detail: fmt.Sprintf(format, args...)}
}

// Error codes. Codes marked (?) are plausible but not confirmed by the
// spec (spec/tableau-rest.md §3.4 lists the confirmed ones).
var (
	errNoCredentials = func() *apiErr {
		return errf(401, "401000", "Unauthorized Access", "No authentication credentials were provided.")
	}
	errBadToken = func() *apiErr {
		return errf(401, "401002", "Unauthorized Access", "Invalid authentication credentials were provided.")
	}
	errSignIn = func() *apiErr {
		return errf(401, "401001", "Signin Error", "Error signing in to Tableau Server")
	}
)

// notFoundCodes are the 4040xx codes per kind (?) except user (404002).
var notFoundCodes = map[string]string{
	"user":              "404002",
	"project":           "404005",
	"workbook":          "404006",
	"datasource":        "404004",
	"view":              "404011",
	"group":             "404012",
	"job":               "404015",
	"schedule":          "404016",
	"flow":              "404030",
	"database":          "404036",
	"table":             "404037",
	"groupset":          "404052",
	"virtualconnection": "404053",
	"metric":            "404041",
	"lens":              "404044",
}

func errNotFound(kind, id string) *apiErr {
	code := notFoundCodes[kind]
	if code == "" {
		code = "404000"
	}
	return errf(404, code, "Resource Not Found", "%s '%s' could not be found.", strings.ToUpper(kind[:1])+kind[1:], id)
}

type version struct{ major, minor int }

func parseVersion(s string) (version, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return version{}, false
	}
	maj, err1 := strconv.Atoi(a)
	min, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || maj < 0 || min < 0 {
		return version{}, false
	}
	return version{maj, min}, true
}

func (v version) less(o version) bool {
	return v.major < o.major || v.major == o.major && v.minor < o.minor
}

func (v version) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func mustVersion(s string) version {
	v, _ := parseVersion(s)
	return v
}

// request is one request in flight.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	n    int64
	json bool
	ver  version
	sess *session
	// path segments after /api/{ver}/
	segs []string
	ep   string
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (q *request) write(status int, kids ...*node) {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	defer bufPool.Put(b)
	if q.json {
		q.w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		writeJSON(b, kids)
	} else {
		q.w.Header().Set("Content-Type", "application/xml;charset=UTF-8")
		writeXML(b, kids)
	}
	q.w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	q.w.WriteHeader(status)
	_, _ = q.w.Write(b.Bytes())
}

func (q *request) fail(e *apiErr) {
	n := el("error", "code", e.code)
	n.add(textEl("summary", e.summary), textEl("detail", e.detail))
	q.write(e.status, n)
}

// ServeHTTP serves the REST API and the Metadata API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.reqNo.Add(1)
	q := &request{w: w, r: r, n: n, json: strings.Contains(r.Header.Get("Accept"), "application/json")}
	f := s.faults.Load()
	if f.Latency > 0 || f.LatencyJitter > 0 {
		sleep(r.Context(), s.latency(f, n))
	}
	if s.injectFault(q, f) {
		return
	}
	path := r.URL.Path
	if path == "/api/metadata/graphql" {
		s.serveMetadata(q)
		return
	}
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		q.ep = "unknown"
		s.stats.count(q.ep)
		q.fail(errf(404, "404003", "Resource Not Found", "Unknown resource '%s' specified in URI.", path))
		return
	}
	verStr, rest, _ := strings.Cut(rest, "/")
	v, ok := parseVersion(verStr)
	if !ok || s.maxVer.less(v) || v.less(mustVersion(minRESTVersion)) {
		q.ep = "unknown"
		s.stats.count(q.ep)
		q.fail(errf(404, "404003", "Resource Not Found", "Unknown resource '/%s/%s' specified in URI.", verStr, rest))
		return
	}
	q.ver = v
	q.segs = strings.Split(strings.TrimSuffix(rest, "/"), "/")
	s.route(q)
}

func (s *Server) latency(f *Faults, n int64) time.Duration {
	d := f.Latency
	if f.LatencyJitter > 0 {
		h := fnv.New64a()
		var b [16]byte
		for i := 0; i < 8; i++ {
			b[i] = byte(s.cfg.seed >> (8 * i))
			b[8+i] = byte(n >> (8 * i))
		}
		_, _ = h.Write(b[:])
		span := 2*int64(f.LatencyJitter) + 1
		d += time.Duration(int64(h.Sum64()%uint64(span)) - int64(f.LatencyJitter))
	}
	return d
}

// injectFault answers the request with a 429 or 5xx when a burst is due.
func (s *Server) injectFault(q *request, f *Faults) bool {
	if f.RateLimitEvery <= 0 && f.Error5xxEvery <= 0 {
		return false
	}
	s.faultMu.Lock()
	rate, kind := false, -1
	if f.RateLimitEvery > 0 && q.n%int64(f.RateLimitEvery) == 0 {
		s.rateLeft = max(f.RateLimitBurst, 1)
	}
	if s.rateLeft > 0 {
		s.rateLeft--
		rate = true
	} else {
		if f.Error5xxEvery > 0 && q.n%int64(f.Error5xxEvery) == 0 {
			s.err5xxLeft = max(f.Error5xxBurst, 1)
			s.err5xxBursts++
		}
		if s.err5xxLeft > 0 {
			s.err5xxLeft--
			kind = (s.err5xxBursts - 1) % 4
		}
	}
	s.faultMu.Unlock()
	switch {
	case rate:
		s.stats.rateLimited.Add(1)
		s.stats.count("fault 429")
		secs := int(math.Ceil(f.RateLimitWait.Seconds()))
		if f.RetryAfterHeader {
			q.w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		q.fail(errf(429, "429000", "Too Many Requests",
			"Too many requests for 'api.rest.%s'. Please retry after %d seconds.", operationName(q.r), secs))
		return true
	case kind >= 0:
		s.stats.serverErrors.Add(1)
		s.stats.count("fault 5xx")
		if kind == 0 {
			q.fail(errf(500, "500000", "Internal Server Error", "An unexpected error occurred on the server."))
			return true
		}
		status := []int{0, 502, 503, 504}[kind]
		text := http.StatusText(status)
		q.w.Header().Set("Content-Type", "text/html")
		q.w.WriteHeader(status)
		fmt.Fprintf(q.w, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", status, text, status, text)
		return true
	}
	return false
}

// operationName names the throttled operation like Tableau's detail text.
func operationName(r *http.Request) string {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 0 {
		last := segs[len(segs)-1]
		if !looksLikeID(last) {
			return strings.ToLower(r.Method) + "_" + last
		}
	}
	return strings.ToLower(r.Method)
}

func looksLikeID(s string) bool { return len(s) == 36 && strings.Count(s, "-") == 4 }

func (s *Server) serveMetadata(q *request) {
	q.ep = "POST /api/metadata/graphql"
	s.stats.count(q.ep)
	q.json = true
	if q.r.Method != http.MethodPost {
		q.fail(errf(405, "405000", "Invalid request method", "Request type '%s' is not supported for the Metadata API.", q.r.Method))
		return
	}
	if _, e := s.authenticate(q); e != nil {
		s.stats.unauthorized.Add(1)
		q.fail(e)
		return
	}
	select {
	case <-s.metaReady:
	case <-q.r.Context().Done():
		return
	}
	s.metadata.ServeHTTP(q.w, q.r)
}

// route dispatches on the path after /api/{ver}/.
func (s *Server) route(q *request) {
	segs := q.segs
	switch {
	case len(segs) == 1 && (segs[0] == "serverinfo" || segs[0] == "serverInfo"):
		s.handle(q, "GET", "GET /serverinfo", "2.4", false, s.serverInfo)
		return
	case len(segs) == 2 && segs[0] == "auth":
		switch segs[1] {
		case "signin":
			s.handle(q, "POST", "POST /auth/signin", "2.0", false, s.signIn)
		case "signout":
			s.handle(q, "POST", "POST /auth/signout", "2.0", true, s.signOut)
		case "switchSite":
			s.handle(q, "POST", "POST /auth/switchSite", "2.6", true, s.switchSite)
		default:
			s.unknown(q)
		}
		return
	case len(segs) == 1 && segs[0] == "schedules":
		s.handle(q, "GET", "GET /schedules", "2.3", true, s.listSchedules)
		return
	case len(segs) == 1 && segs[0] == "sites":
		s.handle(q, "GET", "GET /sites", "2.0", true, s.listSites)
		return
	case len(segs) >= 2 && segs[0] == "sites":
		// Site-scoped: authenticate first so that an unknown site id in
		// the URI of a valid session is 404000, not a sign-in problem.
		if len(segs) == 2 {
			s.handle(q, "GET", "GET /sites/{site}", "2.0", true, s.getSite)
			return
		}
		s.routeSite(q, segs[2:])
		return
	}
	s.unknown(q)
}

func (s *Server) unknown(q *request) {
	q.ep = "unknown"
	s.stats.count(q.ep)
	q.fail(errf(404, "404003", "Resource Not Found", "Unknown resource '/%s/%s' specified in URI.", q.ver, strings.Join(q.segs, "/")))
}

// handle checks method, version and authentication, then serves.
func (s *Server) handle(q *request, method, ep, minVer string, auth bool, fn func(*request) *apiErr) {
	q.ep = ep
	if q.ver.less(mustVersion(minVer)) {
		s.unknown(q)
		return
	}
	s.stats.count(ep)
	if q.r.Method != method {
		q.fail(errf(405, "405000", "Invalid request method", "Request type '%s' is not supported for this resource.", q.r.Method))
		return
	}
	if auth {
		sess, e := s.authenticate(q)
		if e != nil {
			s.stats.unauthorized.Add(1)
			q.fail(e)
			return
		}
		q.sess = sess
		if len(q.segs) >= 2 && q.segs[0] == "sites" && !strings.EqualFold(q.segs[1], s.ix.siteLUID) {
			q.fail(errf(404, "404000", "Site not found", "Site '%s' could not be found.", q.segs[1]))
			return
		}
	}
	if e := fn(q); e != nil {
		if e.status == 401 {
			s.stats.unauthorized.Add(1)
		}
		q.fail(e)
	}
}

// routeSite dispatches /sites/{site}/… requests.
func (s *Server) routeSite(q *request, p []string) {
	h := func(ep, minVer string, fn func(*request) *apiErr) {
		s.handle(q, "GET", "GET /sites/{site}/"+ep, minVer, true, fn)
	}
	id := func(i int) string {
		if i < len(p) {
			return p[i]
		}
		return ""
	}
	switch len(p) {
	case 1:
		switch p[0] {
		case "users":
			h("users", "2.0", s.listUsers)
		case "groups":
			h("groups", "2.0", s.listGroups)
		case "groupsets":
			h("groupsets", "3.22", s.listGroupSets)
		case "projects":
			h("projects", "2.0", s.listProjects)
		case "workbooks":
			h("workbooks", "2.0", func(q *request) *apiErr { return s.listItems(q, "workbook") })
		case "views":
			h("views", "2.2", func(q *request) *apiErr { return s.listItems(q, "view") })
		case "datasources":
			h("datasources", "2.0", func(q *request) *apiErr { return s.listItems(q, "datasource") })
		case "flows":
			h("flows", "3.3", func(q *request) *apiErr { return s.listItems(q, "flow") })
		case "virtualConnections":
			h("virtualConnections", "3.18", func(q *request) *apiErr { return s.listItems(q, "virtualconnection") })
		case "databases":
			h("databases", "3.5", func(q *request) *apiErr { return s.listItems(q, "database") })
		case "tables":
			h("tables", "3.5", func(q *request) *apiErr { return s.listItems(q, "table") })
		case "metrics":
			h("metrics", "3.9", func(q *request) *apiErr { return s.listItems(q, "metric") })
		case "jobs":
			h("jobs", "3.1", s.listJobs)
		default:
			s.unknown(q)
		}
	case 2:
		switch p[0] {
		case "users":
			h("users/{id}", "2.0", func(q *request) *apiErr { return s.getUser(q, id(1)) })
		case "groupsets":
			h("groupsets/{id}", "3.22", func(q *request) *apiErr { return s.getGroupSet(q, id(1)) })
		case "projects":
			h("projects/{id}", "2.0", func(q *request) *apiErr { return s.getProject(q, id(1)) })
		case "jobs":
			h("jobs/{id}", "2.0", func(q *request) *apiErr { return s.getJob(q, id(1)) })
		case "tasks":
			if p[1] == "extractRefreshes" {
				h("tasks/extractRefreshes", "2.6", s.listTasks)
				return
			}
			s.unknown(q)
		default:
			if typ, seg, minVer := itemPath(p[0]); typ != "" {
				h(seg+"/{id}", minVer, func(q *request) *apiErr { return s.getItem(q, typ, id(1)) })
				return
			}
			s.unknown(q)
		}
	case 3:
		switch {
		case p[0] == "users" && p[2] == "groups":
			h("users/{id}/groups", "3.7", func(q *request) *apiErr { return s.listUserGroups(q, id(1)) })
		case p[0] == "groups" && p[2] == "users":
			h("groups/{id}/users", "2.0", func(q *request) *apiErr { return s.listGroupUsers(q, id(1)) })
		case p[0] == "workbooks" && p[2] == "views":
			h("workbooks/{id}/views", "2.0", func(q *request) *apiErr { return s.listWorkbookViews(q, id(1)) })
		case p[0] == "projects" && p[2] == "permissions":
			h("projects/{id}/permissions", "2.0", func(q *request) *apiErr { return s.projectPermissions(q, id(1)) })
		case p[2] == "permissions":
			typ, seg, minVer := itemPath(p[0])
			if typ == "" {
				s.unknown(q)
				return
			}
			minVer = permMinVersion(typ, minVer)
			h(seg+"/{id}/permissions", minVer, func(q *request) *apiErr { return s.itemPermissions(q, typ, id(1)) })
		default:
			s.unknown(q)
		}
	case 4:
		switch {
		case p[0] == "projects" && p[2] == "default-permissions":
			typ, minVer := defaultKind(p[3])
			if typ == "" {
				s.unknown(q)
				return
			}
			h("projects/{id}/default-permissions/"+p[3], minVer, func(q *request) *apiErr { return s.projectDefaults(q, id(1), typ) })
		case p[0] == "databases" && p[2] == "default-permissions" && p[3] == "tables":
			h("databases/{id}/default-permissions/tables", "3.5", func(q *request) *apiErr { return s.databaseDefaults(q, id(1)) })
		default:
			s.unknown(q)
		}
	default:
		s.unknown(q)
	}
}

// itemPath maps a path segment to a content type, its canonical segment and
// the version its single GET appeared in.
func itemPath(seg string) (typ, canon, minVer string) {
	switch seg {
	case "workbooks":
		return "workbook", seg, "2.0"
	case "views":
		return "view", seg, "3.1"
	case "datasources":
		return "datasource", seg, "2.0"
	case "flows":
		return "flow", seg, "3.3"
	case "virtualConnections":
		return "virtualconnection", seg, "3.18"
	case "databases":
		return "database", seg, "3.5"
	case "tables":
		return "table", seg, "3.5"
	case "metrics":
		return "metric", seg, "3.9"
	case "lenses":
		return "lens", seg, "3.4"
	}
	return "", "", ""
}

func permMinVersion(typ, minVer string) string {
	switch typ {
	case "view":
		return "3.2"
	}
	return minVer
}

// defaultKind maps a default-permissions path segment to a content type and
// the version it appeared in (spec/tableau-rest.md §6.1). Both spellings of
// virtualConnections are accepted.
func defaultKind(seg string) (typ, minVer string) {
	switch seg {
	case "workbooks":
		return "workbook", "2.1"
	case "datasources":
		return "datasource", "2.1"
	case "flows":
		return "flow", "3.4"
	case "dataroles":
		return "datarole", "3.4"
	case "lenses":
		return "lens", "3.4"
	case "metrics":
		return "metric", "3.2"
	case "virtualConnections", "virtualconnections":
		return "virtualconnection", "3.23"
	case "databases":
		return "database", "3.23"
	case "tables":
		return "table", "3.23"
	}
	return "", ""
}

package tableautest

import (
	"fmt"
	"testing"
	"time"
)

func TestSignIn(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := NewServer(t, richSite(t), WithJWT("jwt-secret", "client-1"), WithClock(func() time.Time { return now }),
		WithPAT("ana-pat", "ana-secret", "ana"))
	adm := srv.ix.userByID["adm"].luid
	ana := srv.ix.userByID["ana"].luid
	tests := []struct {
		name     string
		body     string
		jsonBody bool
		status   int
		code     string
		user     string
	}{
		{"PAT XML", patBody(DefaultPATName, DefaultPATSecret, "finance"), false, 200, "", adm},
		{"PAT JSON", `{"credentials":{"personalAccessTokenName":"tabaudit-sim","personalAccessTokenSecret":"sim-secret-do-not-use-in-prod","site":{"contentUrl":"finance"}}}`, true, 200, "", adm},
		{"PAT with namespace", `<tsRequest xmlns="http://tableau.com/api"><credentials personalAccessTokenName="tabaudit-sim" personalAccessTokenSecret="sim-secret-do-not-use-in-prod"><site contentUrl="finance"/></credentials></tsRequest>`, false, 200, "", adm},
		{"PAT of another user", patBody("ana-pat", "ana-secret", "finance"), false, 200, "", ana},
		{"wrong secret", patBody(DefaultPATName, "nope", "finance"), false, 401, "401001", ""},
		{"wrong site", patBody(DefaultPATName, DefaultPATSecret, "other"), false, 401, "401001", ""},
		{"missing site", `<tsRequest><credentials personalAccessTokenName="tabaudit-sim" personalAccessTokenSecret="sim-secret-do-not-use-in-prod"/></tsRequest>`, false, 401, "401001", ""},
		{"password", `<tsRequest><credentials name="ana@example.com" password="sim-password"><site contentUrl="finance"/></credentials></tsRequest>`, false, 200, "", ana},
		{"password JSON", `{"credentials":{"name":"ana@example.com","password":"sim-password","site":{"contentUrl":"finance"}}}`, true, 200, "", ana},
		{"wrong password", `<tsRequest><credentials name="ana@example.com" password="x"><site contentUrl="finance"/></credentials></tsRequest>`, false, 401, "401001", ""},
		{"unknown user", `<tsRequest><credentials name="zed" password="sim-password"><site contentUrl="finance"/></credentials></tsRequest>`, false, 401, "401001", ""},
		{"JWT", jwtBody(SignJWT("jwt-secret", "client-1", "admin@example.com", now.Add(5*time.Minute))), false, 200, "", adm},
		{"JWT expired", jwtBody(SignJWT("jwt-secret", "client-1", "admin@example.com", now.Add(-5*time.Minute))), false, 401, "401001", ""},
		{"JWT bad signature", jwtBody(SignJWT("other", "client-1", "admin@example.com", now.Add(5*time.Minute))), false, 401, "401001", ""},
		{"JWT wrong issuer", jwtBody(SignJWT("jwt-secret", "client-2", "admin@example.com", now.Add(5*time.Minute))), false, 401, "401001", ""},
		{"malformed", `<tsRequest><credentials`, false, 400, "400000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, srv)
			c.json = tt.jsonBody
			ct := "text/xml"
			if tt.jsonBody {
				ct = "application/json"
			}
			r := c.do("POST", "/api/3.29/auth/signin", tt.body, "Content-Type", ct)
			if r.status != tt.status {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tt.status, r.body)
			}
			x := parse(t, r)
			if tt.code != "" {
				if got := x.child("error").attr("code"); got != tt.code {
					t.Fatalf("code %s, want %s", got, tt.code)
				}
				return
			}
			cred := x.child("credentials")
			if cred.attr("token") == "" || cred.attr("estimatedTimeToExpiration") != "4:00:00" {
				t.Errorf("credentials %v", cred.attrs)
			}
			if got := cred.child("site").attr("id"); got != srv.SiteLUID {
				t.Errorf("site id %s, want %s", got, srv.SiteLUID)
			}
			if got := cred.child("site").attr("contentUrl"); got != "finance" {
				t.Errorf("contentUrl %q", got)
			}
			if got := cred.child("user").attr("id"); got != tt.user {
				t.Errorf("user %s, want %s", got, tt.user)
			}
		})
	}
}

func jwtBody(jwt string) string {
	return fmt.Sprintf(`<tsRequest><credentials jwt="%s"><site contentUrl="finance"/></credentials></tsRequest>`, jwt)
}

func TestSessions(t *testing.T) {
	srv := NewServer(t, richSite(t))
	c := newClient(t, srv)

	// No token, bad token.
	if r := c.get("users"); r.status != 401 || errCode(t, r) != "401000" {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	c.signIn()
	first := c.token
	if r := c.get("users"); r.status != 200 {
		t.Fatalf("users: %d %s", r.status, r.body)
	}
	c.token = "bogus"
	if r := c.get("users"); r.status != 401 || errCode(t, r) != "401002" {
		t.Errorf("bad token: %d %s", r.status, r.body)
	}

	// A second sign-in with the same PAT ends the first session.
	c.signIn()
	second := c.token
	c.token = first
	if r := c.get("users"); r.status != 401 || errCode(t, r) != "401002" {
		t.Errorf("superseded token: %d %s", r.status, r.body)
	}
	c.token = second
	if r := c.get("users"); r.status != 200 {
		t.Errorf("new token: %d", r.status)
	}

	// Password sessions are not tied to the PAT.
	p := newClient(t, srv)
	p.signInBody(`<tsRequest><credentials name="bo@example.com" password="sim-password"><site contentUrl="finance"/></credentials></tsRequest>`)
	if r := c.get("groups"); r.status != 200 {
		t.Errorf("PAT session after password sign-in: %d", r.status)
	}

	// Wrong site id in the URI of a good session.
	c.siteID = "00000000-0000-0000-0000-000000000000"
	if r := c.get("users"); r.status != 404 || errCode(t, r) != "404000" {
		t.Errorf("wrong site: %d %s", r.status, r.body)
	}
	c.siteID = srv.SiteLUID

	// Switch site.
	if r := c.do("POST", "/api/3.29/auth/switchSite", `<tsRequest><site contentUrl="finance"/></tsRequest>`); r.status != 403 || errCode(t, r) != "403070" {
		t.Errorf("switch to same site: %d %s", r.status, r.body)
	}
	if r := c.do("POST", "/api/3.29/auth/switchSite", `<tsRequest><site contentUrl="other"/></tsRequest>`); r.status != 401 || errCode(t, r) != "401003" {
		t.Errorf("switch to unknown site: %d %s", r.status, r.body)
	}

	// Sign out.
	if r := c.do("POST", "/api/3.29/auth/signout", ""); r.status != 204 {
		t.Errorf("signout: %d %s", r.status, r.body)
	}
	if r := c.get("users"); r.status != 401 || errCode(t, r) != "401002" {
		t.Errorf("after signout: %d %s", r.status, r.body)
	}
	st := srv.Stats()
	if st.SignIns != 3 || st.Unauthorized != 5 {
		t.Errorf("stats: sign-ins %d, 401s %d; want 3, 5", st.SignIns, st.Unauthorized)
	}
}

func TestVersionsAndRouting(t *testing.T) {
	srv := NewServer(t, richSite(t), WithRESTVersion("3.25"))
	c := newClient(t, srv)
	for _, p := range []string{"/api/2.4/serverinfo", "/api/3.25/serverInfo"} {
		r := c.do("GET", p, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
		si := parse(t, r).child("serverInfo")
		if got := si.attr("restApiVersion"); got != "3.25" {
			t.Errorf("restApiVersion %q", got)
		}
		if pv := si.child("productVersion"); pv.text != DefaultProductVersion || pv.attr("build") != DefaultBuild {
			t.Errorf("productVersion %q build %q", pv.text, pv.attr("build"))
		}
	}
	c.json = true
	r := c.do("GET", "/api/3.25/serverinfo", "")
	if got := string(r.body); got != `{"serverInfo":{"productVersion":{"build":"`+DefaultBuild+`","value":"`+DefaultProductVersion+`"},"prepConductorVersion":"`+DefaultBuild+`","restApiVersion":"3.25","platform":"linux","serverSettings":{"oAuthEnabled":"true","sheetImageMaxAgeFloor":"1","sheetImageMaxAgeCeiling":"60","offlineInteractionSupportedPhase":"0"}}}` {
		t.Errorf("JSON serverinfo: %s", got)
	}
	c.json = false
	for _, tt := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/3.26/serverinfo", 404, "404003"},
		{"GET", "/api/1.0/serverinfo", 404, "404003"},
		{"GET", "/api/x/serverinfo", 404, "404003"},
		{"GET", "/api/3.25/nothing", 404, "404003"},
		{"GET", "/elsewhere", 404, "404003"},
		{"POST", "/api/3.25/serverinfo", 405, "405000"},
		{"GET", "/api/3.25/auth/signin", 405, "405000"},
	} {
		r := c.do(tt.method, tt.path, "")
		if r.status != tt.status || errCode(t, r) != tt.code {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
		}
	}
	c.ver = "3.25"
	c.signIn()
	// Endpoints newer than the URL version do not exist there.
	c.ver = "3.21"
	if r := c.get("groupsets"); r.status != 404 || errCode(t, r) != "404003" {
		t.Errorf("groupsets at 3.21: %d %s", r.status, r.body)
	}
	c.ver = "3.22"
	if r := c.get("groupsets"); r.status != 200 {
		t.Errorf("groupsets at 3.22: %d %s", r.status, r.body)
	}
	if r := c.get("projects/" + srv.ix.projectByID["finance"].luid + "/default-permissions/databases"); r.status != 404 || errCode(t, r) != "404003" {
		t.Errorf("database defaults at 3.22: %d %s", r.status, r.body)
	}
}

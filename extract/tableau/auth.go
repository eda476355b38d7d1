package tableau

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// AuthService signs in and out and reads serverinfo.
type AuthService service

// ServerInfo calls GET /api/{MinVersion}/serverinfo (no sign-in needed) and,
// unless a version was fixed with WithVersion, sets the client's version to
// the highest both sides support.
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_server.htm#server_info
func (s *AuthService) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	c := s.client
	u := c.base.String() + "api/" + MinVersion + "/serverinfo"
	raw, err := c.roundTrip(ctx, request{method: http.MethodGet, url: u})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == "404003" {
			return nil, fmt.Errorf("reading serverinfo: the server does not support REST API %s (Tableau Server 2018.1 or later is required): %w", MinVersion, err)
		}
		return nil, fmt.Errorf("reading serverinfo at %s: %w", c.ServerURL(), err)
	}
	if raw.status >= 300 {
		return nil, fmt.Errorf("reading serverinfo: %w", c.unexpectedRedirect(http.MethodGet, u, raw))
	}
	n, err := c.decode(raw, "serverinfo")
	if err != nil {
		return nil, fmt.Errorf("reading serverinfo at %s (is this a Tableau server?): %w", c.ServerURL(), err)
	}
	si := n.child("serverInfo")
	if si == nil {
		return nil, fmt.Errorf("reading serverinfo: %w: no serverInfo element", ErrMalformed)
	}
	pv := si.child("productVersion")
	info := &ServerInfo{RESTVersion: si.attr("restApiVersion"), Platform: si.attr("platform")}
	if pv != nil {
		info.ProductVersion = pv.Text
		info.Build = pv.attr("build")
	}
	if info.RESTVersion == "" {
		return nil, fmt.Errorf("reading serverinfo: %w: no restApiVersion", ErrMalformed)
	}
	if versionLess(info.RESTVersion, MinVersion) {
		return nil, fmt.Errorf("server REST API version %s is older than %s, the oldest tabaudit supports", info.RESTVersion, MinVersion)
	}
	c.serverInfo = info
	if c.version == "" {
		c.version = c.maxVersion
		if versionLess(info.RESTVersion, c.maxVersion) {
			c.version = info.RESTVersion
		}
	}
	return info, nil
}

// SignIn signs in to the site of the client's credentials
// (POST /api/{ver}/auth/signin). It negotiates the version first if needed.
// A Tableau Cloud pod redirect (301/302/307/308) is followed by re-posting
// the same body to the new host, which then becomes the client's base URL.
//
// https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_authentication.htm#sign_in
func (s *AuthService) SignIn(ctx context.Context) (*Session, error) {
	c := s.client
	if c.version == "" {
		if _, err := s.ServerInfo(ctx); err != nil {
			return nil, err
		}
	}
	c.authMu.Lock()
	defer c.authMu.Unlock()
	var gen int64
	if old := c.sess.Load(); old != nil {
		gen = old.gen
	}
	sess, err := c.signIn(ctx, c.creds.ContentURL)
	if err != nil {
		return nil, err
	}
	sess.gen = gen + 1
	c.sess.Store(sess)
	return sess, nil
}

// reSignIn is called by a request that saw its session (generation gen)
// expire. Only the first caller signs in; the others wait on authMu and
// then find a newer session.
func (c *Client) reSignIn(ctx context.Context, gen int64) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	cur := c.sess.Load()
	if cur != nil && cur.gen != gen {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	site := c.creds.ContentURL
	if cur != nil {
		site = cur.SiteContentURL
	}
	sess, err := c.signIn(ctx, site)
	if err != nil {
		return err
	}
	sess.gen = gen + 1
	c.sess.Store(sess)
	c.stats.reSignIns.Add(1)
	return nil
}

func (c *Client) signIn(ctx context.Context, contentURL string) (*Session, error) {
	cr := &node{Name: "credentials"}
	switch c.creds.Method() {
	case "pat":
		cr.Attrs = []attr{{"personalAccessTokenName", c.creds.PATName}, {"personalAccessTokenSecret", c.creds.PATSecret}}
	case "jwt":
		cr.Attrs = []attr{{"jwt", c.creds.JWT}}
	default:
		cr.Attrs = []attr{{"name", c.creds.Username}, {"password", c.creds.Password}}
	}
	cr.Children = []*node{{Name: "site", Attrs: []attr{{"contentUrl", contentURL}}}}
	body, err := encodeRequest(c.json, &node{Children: []*node{cr}})
	if err != nil {
		return nil, fmt.Errorf("encoding sign-in request: %w", err)
	}
	u := c.url("auth/signin", nil)
	var raw *rawResponse
	for redirects := 0; ; redirects++ {
		raw, err = c.roundTrip(ctx, request{method: http.MethodPost, url: u, body: body})
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized {
				return nil, &SignInError{Err: ae, Site: contentURL}
			}
			return nil, fmt.Errorf("signing in to site %q: %w", contentURL, err)
		}
		if raw.status < 300 {
			break
		}
		loc, lerr := url.Parse(raw.header.Get("Location"))
		if redirects >= 3 || lerr != nil || loc.String() == "" {
			return nil, fmt.Errorf("signing in to site %q: %w", contentURL, c.unexpectedRedirect(http.MethodPost, u, raw))
		}
		next := c.base.ResolveReference(loc)
		if next.Scheme != "https" && c.base.Scheme == "https" {
			return nil, fmt.Errorf("signing in: refusing a redirect from https to %s", sanitizeURL(next))
		}
		// Tableau Cloud pods: the new host serves the whole API from now on.
		nb := *c.base
		nb.Scheme, nb.Host = next.Scheme, next.Host
		c.base = &nb
		u = next.String()
	}
	n, err := c.decode(raw, "sign-in response")
	if err != nil {
		return nil, fmt.Errorf("signing in to site %q: %w", contentURL, err)
	}
	cn := n.child("credentials")
	token := cn.attr("token")
	site := cn.child("site")
	user := cn.child("user")
	if token == "" || site.attr("id") == "" {
		return nil, fmt.Errorf("signing in to site %q: %w: no token or site id in the response", contentURL, ErrMalformed)
	}
	c.addSecrets(token)
	return &Session{token: token, SiteID: site.attr("id"), SiteContentURL: site.attr("contentUrl"), UserID: user.attr("id")}, nil
}

// SignOut ends the session (POST /api/{ver}/auth/signout). Errors are
// returned but are rarely worth more than a log line.
func (s *AuthService) SignOut(ctx context.Context) error {
	c := s.client
	if c.sess.Load() == nil {
		return nil
	}
	_, err := c.roundTrip(ctx, request{method: http.MethodPost, url: c.url("auth/signout", nil), authed: true})
	c.sess.Store(nil)
	if err != nil {
		return fmt.Errorf("signing out: %w", err)
	}
	return nil
}

// SwitchTo signs in to another site with the same credentials (a fresh
// sign-in works on both Server and Cloud, unlike switchSite, and ends the
// previous session of the same PAT).
func (s *AuthService) SwitchTo(ctx context.Context, contentURL string) (*Session, error) {
	s.client.creds.ContentURL = contentURL
	return s.SignIn(ctx)
}

// ServerInfoCached returns what ServerInfo read, or nil.
func (c *Client) ServerInfoCached() *ServerInfo { return c.serverInfo }

// Method of the credentials: pat, jwt or password.
func (c *Client) AuthMethod() string { return c.creds.Method() }

// trimSlash keeps path joins readable.
func trimSlash(s string) string { return strings.Trim(s, "/") }

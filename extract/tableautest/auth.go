package tableautest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// session is one signed-in token.
type session struct {
	token    string
	user     *userRec
	patName  string // "" unless signed in with a PAT
	created  time.Time
	requests int
	dead     bool
}

type sessions struct {
	mu      sync.Mutex
	byToken map[string]*session
	byPAT   map[string]*session
}

func (ss *sessions) init() {
	ss.byToken = map[string]*session{}
	ss.byPAT = map[string]*session{}
}

func (ss *sessions) expireAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range ss.byToken {
		s.dead = true
	}
	ss.byToken = map[string]*session{}
	ss.byPAT = map[string]*session{}
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:16]) + "|" + hex.EncodeToString(b[16:])
}

// newSession registers a session; a PAT's earlier session ends, as on
// Tableau (spec/tableau-rest.md §2.5).
func (s *Server) newSession(u *userRec, patName string) *session {
	sess := &session{token: newToken(), user: u, patName: patName, created: s.cfg.now()}
	ss := &s.sessions
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if patName != "" {
		if old := ss.byPAT[patName]; old != nil {
			old.dead = true
			delete(ss.byToken, old.token)
		}
		ss.byPAT[patName] = sess
	}
	ss.byToken[sess.token] = sess
	return sess
}

func (s *Server) endSession(sess *session) {
	ss := &s.sessions
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sess.dead = true
	delete(ss.byToken, sess.token)
	if sess.patName != "" && ss.byPAT[sess.patName] == sess {
		delete(ss.byPAT, sess.patName)
	}
}

// authenticate checks X-Tableau-Auth and the session-expiry faults.
func (s *Server) authenticate(q *request) (*session, *apiErr) {
	tok := q.r.Header.Get("X-Tableau-Auth")
	if tok == "" {
		return nil, errNoCredentials()
	}
	f := s.faults.Load()
	ss := &s.sessions
	ss.mu.Lock()
	sess := ss.byToken[tok]
	if sess == nil || sess.dead {
		ss.mu.Unlock()
		return nil, errBadToken()
	}
	expired := f.SessionExpiryRequests > 0 && sess.requests >= f.SessionExpiryRequests ||
		f.SessionExpiry > 0 && !s.cfg.now().Before(sess.created.Add(f.SessionExpiry))
	if !expired {
		sess.requests++
	}
	ss.mu.Unlock()
	if expired {
		s.endSession(sess)
		s.stats.expired.Add(1)
		return nil, errBadToken()
	}
	return sess, nil
}

// credentialsBody is the sign-in request in either format. XML matches
// elements by local name, so requests with or without the namespace work.
type credentialsBody struct {
	XMLName     xml.Name `xml:"tsRequest" json:"-"`
	Credentials struct {
		Name      string `xml:"name,attr" json:"name"`
		Password  string `xml:"password,attr" json:"password"`
		PATName   string `xml:"personalAccessTokenName,attr" json:"personalAccessTokenName"`
		PATSecret string `xml:"personalAccessTokenSecret,attr" json:"personalAccessTokenSecret"`
		JWT       string `xml:"jwt,attr" json:"jwt"`
		Site      struct {
			ContentURL *string `xml:"contentUrl,attr" json:"contentUrl"`
		} `xml:"site" json:"site"`
		User struct {
			ID string `xml:"id,attr" json:"id"`
		} `xml:"user" json:"user"`
	} `xml:"credentials" json:"credentials"`
}

type siteBody struct {
	XMLName xml.Name `xml:"tsRequest" json:"-"`
	Site    struct {
		ContentURL *string `xml:"contentUrl,attr" json:"contentUrl"`
	} `xml:"site" json:"site"`
}

func decodeBody(q *request, v any) *apiErr {
	data, err := io.ReadAll(io.LimitReader(q.r.Body, 1<<20))
	if err != nil {
		return errf(400, "400000", "Bad Request", "The request body could not be read.")
	}
	ct := q.r.Header.Get("Content-Type")
	trimmed := strings.TrimSpace(string(data))
	if strings.Contains(ct, "json") || strings.HasPrefix(trimmed, "{") {
		if err := json.Unmarshal(data, v); err != nil {
			return errf(400, "400000", "Bad Request", "Payload is either malformed or incomplete (JSON).")
		}
		return nil
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return errf(400, "400000", "Bad Request", "Payload is either malformed or incomplete.")
	}
	return nil
}

func (s *Server) signIn(q *request) *apiErr {
	var body credentialsBody
	if e := decodeBody(q, &body); e != nil {
		return e
	}
	c := body.Credentials
	if c.Site.ContentURL == nil || *c.Site.ContentURL != s.ix.site.ContentURL {
		return errSignIn()
	}
	var u *userRec
	patName := ""
	switch {
	case c.PATName != "":
		for _, p := range s.cfg.pats {
			if p.name == c.PATName && hmac.Equal([]byte(p.secret), []byte(c.PATSecret)) {
				u = s.admin
				if p.userID != "" {
					u = s.ix.userByID[p.userID]
				}
				patName = p.name
			}
		}
	case c.JWT != "":
		u = s.checkJWT(c.JWT)
	case c.Name != "":
		if hmac.Equal([]byte(c.Password), []byte(s.cfg.password)) {
			u = s.userByName(c.Name)
		}
	}
	if u == nil {
		return errSignIn()
	}
	// Impersonation: only a server administrator may name another user.
	if c.User.ID != "" {
		if u.u.Role != "ServerAdministrator" {
			return errf(403, "403000", "Forbidden", "Only server administrators can impersonate users.")
		}
		imp := s.ix.userByLUID[c.User.ID]
		if imp == nil {
			return errNotFound("user", c.User.ID)
		}
		u = imp
	}
	sess := s.newSession(u, patName)
	s.stats.signIns.Add(1)
	q.write(200, s.credentialsNode(sess))
	return nil
}

func (s *Server) userByName(name string) *userRec {
	if strings.EqualFold(name, s.syn.name) && s.admin == s.syn {
		return s.syn
	}
	return s.ix.userByName[strings.ToLower(name)]
}

func (s *Server) credentialsNode(sess *session) *node {
	left := 240 * time.Minute // Tableau Server's default idle limit
	if f := s.faults.Load(); f.SessionExpiry > 0 {
		left = f.SessionExpiry
	}
	secs := int(left.Seconds())
	n := el("credentials", "token", sess.token,
		"estimatedTimeToExpiration", fmt.Sprintf("%d:%02d:%02d", secs/3600, secs/60%60, secs%60))
	n.add(el("site", "id", s.ix.siteLUID, "contentUrl", s.ix.site.ContentURL))
	if s.ix.site.ContentURL == "" {
		// el drops empty values; Tableau sends contentUrl="" for Default.
		n.kids[0].attrs = append(n.kids[0].attrs, attr{"contentUrl", ""})
	}
	n.add(el("user", "id", sess.user.luid))
	return n
}

func (s *Server) signOut(q *request) *apiErr {
	s.endSession(q.sess)
	q.w.WriteHeader(204)
	return nil
}

func (s *Server) switchSite(q *request) *apiErr {
	var body siteBody
	if e := decodeBody(q, &body); e != nil {
		return e
	}
	if body.Site.ContentURL == nil {
		return errf(400, "400000", "Bad Request", "The site contentUrl is missing.")
	}
	if *body.Site.ContentURL == s.ix.site.ContentURL {
		return errf(403, "403070", "Forbidden", "Cannot switch to the site you are already signed in to.")
	}
	return errf(401, "401003", "Switch Site Error", "Site '%s' could not be found or the user is not a member.", *body.Site.ContentURL)
}

// checkJWT verifies an HS256 connected-app token loosely: signature,
// exp in the future (60 s leeway), aud "tableau", iss when configured, and
// sub naming a user.
func (s *Server) checkJWT(tok string) *userRec {
	if s.cfg.jwtSecret == "" {
		return nil
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if !decodeSegment(parts[0], &hdr) || hdr.Alg != "HS256" {
		return nil
	}
	mac := hmac.New(sha256.New, []byte(s.cfg.jwtSecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return nil
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp float64         `json:"exp"`
	}
	if !decodeSegment(parts[1], &claims) {
		return nil
	}
	if claims.Exp == 0 || float64(s.cfg.now().Unix()-60) > claims.Exp {
		return nil
	}
	if s.cfg.jwtIssuer != "" && claims.Iss != s.cfg.jwtIssuer {
		return nil
	}
	var aud []string
	var one string
	if json.Unmarshal(claims.Aud, &one) == nil {
		aud = []string{one}
	} else if json.Unmarshal(claims.Aud, &aud) != nil {
		return nil
	}
	okAud := false
	for _, a := range aud {
		okAud = okAud || a == "tableau"
	}
	if !okAud {
		return nil
	}
	return s.userByName(claims.Sub)
}

func decodeSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// SignJWT makes an HS256 connected-app token as a client would, for tests.
func SignJWT(secret, issuer, subject string, exp time.Time) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"sim","iss":"` + issuer + `"}`))
	claims, _ := json.Marshal(map[string]any{
		"iss": issuer, "sub": subject, "aud": "tableau", "exp": exp.Unix(),
		"jti": fmt.Sprintf("%d", exp.UnixNano()), "scp": []string{"tableau:content:read"},
	})
	p := enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(h + "." + p))
	return h + "." + p + "." + enc.EncodeToString(mac.Sum(nil))
}

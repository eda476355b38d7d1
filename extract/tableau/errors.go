package tableau

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// APIError is a response Tableau (or a proxy in front of it) answered with a
// non-2xx status. It never holds a credential: the URL is sanitised and the
// body text is redacted of every secret the client knows.
type APIError struct {
	Method     string
	URL        string // sanitised: no userinfo, no secret query values
	StatusCode int
	Code       string // Tableau error code, e.g. "404002"; "" for non-Tableau bodies
	Summary    string
	Detail     string
	// HTML is true when the body was an HTML page (typically a proxy or load
	// balancer), not a Tableau error element.
	HTML bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.URL, e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " (Tableau error %s)", e.Code)
	}
	if e.Summary != "" {
		b.WriteString(": ")
		b.WriteString(e.Summary)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// NotFound reports whether the entity addressed does not exist (any 404 other
// than "unknown resource", which means a wrong path or too old a version).
func (e *APIError) NotFound() bool {
	return e.StatusCode == http.StatusNotFound && e.Code != "404003"
}

// UnknownResource reports a 404003: the method does not exist at this REST
// version (or the path is wrong).
func (e *APIError) UnknownResource() bool { return e.Code == "404003" }

// RetryLaterError is a failure worth retrying: HTTP 429, a 5xx, or a network
// error or timeout. After the last attempt it is returned wrapped in the
// final error, so callers can tell "the server was busy" from "refused".
type RetryLaterError struct {
	Err error
	// Wait is what the server asked for (Retry-After or the error detail);
	// zero when it stated nothing.
	Wait     time.Duration
	Attempts int
}

func (e *RetryLaterError) Error() string {
	msg := e.Err.Error()
	if e.Attempts > 0 {
		msg = fmt.Sprintf("%s (gave up after %d attempts)", msg, e.Attempts)
	}
	if e.Wait > 0 {
		msg = fmt.Sprintf("%s (server asked to wait %s)", msg, e.Wait)
	}
	return msg
}

func (e *RetryLaterError) Unwrap() error { return e.Err }

// SessionExpiredError is a 401 meaning the token is no longer valid (401002:
// expired, signed out, or superseded by another sign-in with the same PAT).
// The client signs in again once and retries; callers see it only when that
// failed too.
type SessionExpiredError struct{ Err *APIError }

func (e *SessionExpiredError) Error() string { return "session expired: " + e.Err.Error() }
func (e *SessionExpiredError) Unwrap() error { return e.Err }

// SignInError is a refused sign-in (401001): wrong token, wrong site, or a
// user not on the site. Retrying cannot help.
type SignInError struct {
	Err  *APIError
	Site string // content URL signed in to
}

func (e *SignInError) Error() string {
	return fmt.Sprintf("signing in to site %q: %s (check the credentials, and that the user is on this site)", e.Site, e.Err.Error())
}
func (e *SignInError) Unwrap() error { return e.Err }

// ListCountError is a paginated list whose items did not add up to the
// totalAvailable the server announced, even after re-reading it. A shortfall
// is always an error, never a shorter list.
type ListCountError struct {
	Path           string
	Seen           int
	TotalAvailable int
	Passes         int
}

func (e *ListCountError) Error() string {
	return fmt.Sprintf("listing %s: read %d items but the server announced totalAvailable=%d (after %d passes)", e.Path, e.Seen, e.TotalAvailable, e.Passes)
}

// sessionCodes are the 401 codes that mean "sign in again".
func isSessionExpired(e *APIError) bool {
	return e.StatusCode == http.StatusUnauthorized && (e.Code == "401002" || e.Code == "401000")
}

// checkResponse turns a non-2xx response into an *APIError; the body is read
// (bounded) and the caller still closes it. It is the only place that parses
// error bodies: Tableau XML, Tableau JSON, or anything else (HTML from a
// proxy, plain text), which is summarised without dumping the page.
func (c *Client) checkResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &APIError{Method: resp.Request.Method, URL: sanitizeURL(resp.Request.URL), StatusCode: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	trimmed := bytes.TrimSpace(body)
	ct := resp.Header.Get("Content-Type")
	switch {
	case len(trimmed) == 0:
		e.Summary = http.StatusText(resp.StatusCode)
	case trimmed[0] == '<' && !looksHTML(trimmed, ct):
		if n, err := decodeXML(bytes.NewReader(trimmed)); err == nil {
			fillAPIError(e, n.child("error"))
		} else {
			e.Summary = "unparseable XML error body"
		}
	case trimmed[0] == '{':
		if n, err := decodeJSON(bytes.NewReader(trimmed)); err == nil {
			fillAPIError(e, n.child("error"))
		} else {
			e.Summary = "unparseable JSON error body"
		}
	default:
		e.HTML = looksHTML(trimmed, ct)
		e.Summary = summariseText(trimmed, e.HTML)
	}
	if e.Summary == "" && e.Code == "" {
		e.Summary = http.StatusText(resp.StatusCode)
	}
	e.Summary = c.redact(e.Summary)
	e.Detail = c.redact(e.Detail)
	return e
}

func fillAPIError(e *APIError, n *node) {
	if n == nil {
		return
	}
	e.Code = n.attr("code")
	e.Summary = n.attr("summary")
	e.Detail = n.attr("detail")
}

func looksHTML(b []byte, contentType string) bool {
	if strings.Contains(contentType, "html") {
		return true
	}
	head := strings.ToLower(string(b[:min(len(b), 512)]))
	return strings.Contains(head, "<html") || strings.Contains(head, "<!doctype html")
}

var (
	titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// summariseText returns one short line from a non-Tableau body: an HTML
// page's title (or its text), or the first 200 characters of plain text.
func summariseText(b []byte, html bool) string {
	s := string(b)
	if html {
		if m := titleRE.FindStringSubmatch(s); m != nil && strings.TrimSpace(m[1]) != "" {
			return "HTML page from a proxy or gateway: " + strings.TrimSpace(spaceRE.ReplaceAllString(m[1], " "))
		}
		s = tagRE.ReplaceAllString(s, " ")
		s = "HTML page from a proxy or gateway: " + strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
	} else {
		s = "non-Tableau body: " + strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// secretParams are query parameters that can carry a credential on some
// Tableau endpoints and proxies; their values are replaced in every URL we
// print.
var secretParams = []string{"token", "jwt", "password", "personalAccessTokenSecret", "secret", "credentials", "access_token"}

// sanitizeURL returns the URL with userinfo and secret query values
// redacted (go-github's sanitizeURL).
func sanitizeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	cp := *u
	if cp.User != nil {
		cp.User = url.User("REDACTED")
	}
	q := cp.Query()
	changed := false
	for k := range q {
		for _, s := range secretParams {
			if strings.EqualFold(k, s) {
				q.Set(k, "REDACTED")
				changed = true
			}
		}
	}
	if changed {
		cp.RawQuery = q.Encode()
	}
	return cp.String()
}

var retryAfterRE = regexp.MustCompile(`(?i)retry after (\d+)\s*(second|sec|minute|min|hour)`)

// statedWait is the wait the server asked for: the Retry-After header
// (seconds or an HTTP date) or, as Tableau does in 429 bodies, "Please retry
// after 29 minutes" in the error detail.
func statedWait(h http.Header, detail string, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	if m := retryAfterRE.FindStringSubmatch(detail); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := time.Second
		switch strings.ToLower(m[2][:3]) {
		case "min":
			unit = time.Minute
		case "hou":
			unit = time.Hour
		}
		return time.Duration(n) * unit
	}
	return 0
}

// IsRetryLater reports whether err (after every retry) was the server being
// busy or unreachable rather than a refusal.
func IsRetryLater(err error) bool {
	var r *RetryLaterError
	return errors.As(err, &r)
}

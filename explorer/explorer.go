package explorer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
)

// Prefix is where the explorer's pages live; "/" redirects there.
const Prefix = "/explorer/"

// Cookies the explorer sets. TokenCookie is the HTTP binding's: it carries
// the signed-in account's token, which the binding accepts on event
// streams only, so the browser's EventSource reaches the binding directly.
const (
	TokenCookie = twin.TokenCookie
	CSRFCookie  = "wotmq_csrf"
	csrfHeader  = "X-CSRF-Token"
	csrfField   = "csrf"
)

// SessionTTL is how long a sign-in lasts: the lifetime of the token the
// sign-in issues.
const SessionTTL = 12 * time.Hour

// maxBody bounds what the explorer reads of a request it forwards or a
// form it parses; the binding's own limit is 1 MiB.
const maxBody = 1<<20 + 1

//go:embed web
var webFS embed.FS

// Options configures the explorer. API and the stores are required.
type Options struct {
	// API is the HTTP binding's handler: every write, invocation, cancel
	// and twin read of a page goes through it in process, with the
	// signed-in account's token, so that one set of rules decides.
	API http.Handler
	// Core performs sign-in and account changes (twin.Core.Admin).
	Core *twin.Core
	// The stores the list pages read; every entry shown is decided by
	// Authz.Decide as the binding decides it.
	Directory twin.Directory
	Inbox     twin.Inbox
	Outbox    twin.Outbox
	Presence  twin.Presence
	Authz     *authz.Store
	// Dev admits loopback browsers without signing in, as the binding
	// admits loopback clients without credentials (hub.Options.Dev).
	Dev bool
	// Logger receives the explorer's log; the zero Logger drops it.
	Logger zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Explorer serves the pages at Prefix and passes every other request on
// to the API.
type Explorer struct {
	opts   Options
	log    zerolog.Logger
	pages  map[string]*template.Template
	static http.Handler
}

// New returns the explorer in front of opts.API.
func New(opts Options) *Explorer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sub, err := fs.Sub(webFS, "web/static")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	return &Explorer{opts: opts, log: opts.Logger, pages: parsePages(),
		static: http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))}
}

// session is who a page request is for.
type session struct {
	id    authz.Identity
	token string // the token of the signed-in account; "" for a development browser
	csrf  string // what state-changing requests must repeat
}

func (s session) may(x *Explorer, op authz.Op, thingID string) bool {
	return x.opts.Authz.Decide(s.id, op, thingID) == nil
}

func (x *Explorer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case p == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		http.Redirect(w, r, Prefix+"things", http.StatusFound)
		return
	case p == strings.TrimSuffix(Prefix, "/"):
		http.Redirect(w, r, Prefix+"things", http.StatusFound)
		return
	case !strings.HasPrefix(p, Prefix):
		x.opts.API.ServeHTTP(w, r)
		return
	}
	rest := strings.TrimPrefix(p, Prefix)
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(rest, "static/") {
		hd.Set("Cache-Control", "no-cache")
		x.static.ServeHTTP(w, r)
		return
	}
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	hd.Set("Cache-Control", "no-store")
	csrf := x.csrfToken(w, r)
	if rest == "login" {
		x.login(w, r, csrf)
		return
	}
	s, ok := x.session(w, r)
	if !ok {
		if r.Method == http.MethodGet && !strings.HasPrefix(rest, "api/") {
			http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"title":"Unauthorized","status":401,"code":"unauthenticated","detail":"sign in first"}`))
		return
	}
	s.csrf = csrf
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !x.csrfOK(r, csrf) {
		x.log.Warn().Str("remote", r.RemoteAddr).Str("path", p).Str("account", s.id.ID).Msg("explorer: request without a valid CSRF token refused")
		http.Error(w, "cross-site request refused: reload the page and try again", http.StatusForbidden)
		return
	}
	seg := strings.Split(rest, "/")
	switch {
	case rest == "logout" && r.Method == http.MethodPost:
		x.logout(w, r, s)
	case rest == "api/session" && r.Method == http.MethodGet:
		// What the page's script asks when an event stream is refused:
		// still signed in (204), or not (401 above).
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(rest, "api/"):
		x.forward(w, r, s, "/"+strings.TrimPrefix(rest, "api/"))
	case rest == "things":
		x.thingsPage(w, r, s)
	case seg[0] == "things" && len(seg) == 2:
		x.thingPage(w, r, s, seg[1])
	case seg[0] == "things" && len(seg) == 3 && seg[2] == "history":
		x.historyPage(w, r, s, seg[1])
	case seg[0] == "things" && len(seg) == 3 && seg[2] == "at":
		x.timeTravelPage(w, r, s, seg[1])
	case rest == "agents":
		x.agentsPage(w, r, s)
	case rest == "accounts":
		x.accountsPage(w, r, s)
	default:
		x.notFound(w, r, s)
	}
}

// session finds who the browser is: the account of the token in
// TokenCookie, or on a development hub a loopback browser without one.
func (x *Explorer) session(w http.ResponseWriter, r *http.Request) (session, bool) {
	if c, err := r.Cookie(TokenCookie); err == nil && c.Value != "" {
		a, exp, err := x.opts.Authz.VerifyTokenExpiry(c.Value)
		if err == nil {
			return session{id: authz.Identity{ID: a.ID, Role: a.Role, Expires: exp, Remote: authz.RemoteHost(r.RemoteAddr)}, token: c.Value}, true
		}
		x.clearCookie(w, r, TokenCookie) // expired, revoked or from another hub
	}
	if x.opts.Dev && authz.IsLoopback(authz.RemoteHost(r.RemoteAddr)) {
		return session{id: authz.Identity{ID: "http-anonymous", Role: authz.RoleService, Anonymous: true}}, true
	}
	return session{}, false
}

// csrfToken returns the browser's CSRF token, setting a new one when it
// has none. It is the double-submit kind: a random value in a SameSite
// cookie that pages repeat in a header or form field, which another site
// can neither read nor set.
func (x *Explorer) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) == 32 {
		if _, err := hex.DecodeString(c.Value); err == nil {
			return c.Value
		}
	}
	var b [16]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return tok
}

// csrfOK decides a state-changing request: it must repeat the CSRF
// cookie's value and, where the browser says, come from this origin.
func (x *Explorer) csrfOK(r *http.Request, want string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	c, err := r.Cookie(CSRFCookie)
	return err == nil && c.Value == want && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (x *Explorer) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// call makes a request of the binding in process, as the session's
// account, and returns what it answered.
func (x *Explorer) call(ctx context.Context, r *http.Request, s session, method, target string, body []byte, contentType string) *answer {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return &answer{status: http.StatusBadRequest, header: http.Header{}, body: []byte(`{"code":"invalid_payload","detail":"bad path"}`)}
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.TLS = r.TLS
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	a := &answer{header: http.Header{}}
	x.opts.API.ServeHTTP(a, req)
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a
}

// forward passes a request of the page's script on to the binding (the
// path after api/), as the session's account: writes, invocations, cancels
// and status polls. It answers what the binding answered, with Location
// made to point back here.
func (x *Explorer) forward(w http.ResponseWriter, r *http.Request, s session, target string) {
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		http.Error(w, "open event streams at the binding's own URLs", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "reading the request failed", http.StatusBadRequest)
		return
	}
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	a := x.call(r.Context(), r, s, r.Method, target, body, r.Header.Get("Content-Type"))
	for _, k := range []string{"Content-Type", "Allow", "Link"} {
		if v := a.header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	if loc := a.header.Get("Location"); strings.HasPrefix(loc, "/") {
		w.Header().Set("Location", Prefix+"api"+loc)
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

// answer records what the binding answered an in-process call.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answer) Header() http.Header { return a.header }
func (a *answer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if len(a.body)+len(b) > 16<<20 {
		return 0, io.ErrShortWrite
	}
	a.body = append(a.body, b...)
	return len(b), nil
}
func (a *answer) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

func (a *answer) ok() bool { return a.status >= 200 && a.status < 300 }

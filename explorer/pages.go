package explorer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// page is what every template gets: the session and the page's own data.
type page struct {
	Title    string
	Nav      string // the navigation entry that is current
	Who      string
	Role     string
	SignedIn bool // with a token (else a development browser)
	Admin    bool
	CSRF     string
	Expires  string // when the sign-in ends (RFC 3339): the page checks then
	Data     any
}

var funcs = template.FuncMap{
	"thingURL": func(id string) string { return Prefix + "things/" + pathEscape(id) },
	"apiURL":   func(id string) string { return "/things/" + pathEscape(id) },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"json":    func(v any) string { b, _ := json.Marshal(v); return string(b) },
	"raw":     func(b []byte) string { return string(b) },
	"join":    strings.Join,
	"addf":    func(a, b float64) float64 { return a + b },
}

// parsePages parses each page template with the layout.
func parsePages() map[string]*template.Template {
	names, err := webFS.ReadDir("web/pages")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(n.Name(), ".html")
		out[name] = template.Must(template.New(n.Name()).Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/widgets.html", "web/pages/"+n.Name()))
	}
	return out
}

// render writes a page; fragment, when set, is a template of it to write
// alone (the rows the Things page's script swaps in).
func (x *Explorer) render(w http.ResponseWriter, r *http.Request, s session, status int, name, title, nav string, data any, fragment string) {
	p := page{Title: title, Nav: nav, Who: s.id.ID, Role: string(s.id.Role), SignedIn: s.token != "",
		Admin: authz.Allowed(s.id.Role, authz.OpManageAccounts) && !s.id.Anonymous, CSRF: s.csrf, Data: data}
	if s.token != "" && !s.id.Expires.IsZero() {
		p.Expires = s.id.Expires.UTC().Format(time.RFC3339)
	}
	t := x.pages[name]
	tmpl := "layout"
	if fragment != "" {
		tmpl = fragment
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, tmpl, p); err != nil {
		x.log.Error().Err(err).Str("page", name).Msg("explorer: page failed")
		http.Error(w, "the page failed; see the hub's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// problem shows an error the binding (or the explorer) decided, with its
// wire code, as a page.
func (x *Explorer) problem(w http.ResponseWriter, r *http.Request, s session, err error) {
	we := twin.AsWire(err)
	x.render(w, r, s, we.Code.HTTPStatus(), "problem", string(we.Code), "", we, "")
}

func (x *Explorer) notFound(w http.ResponseWriter, r *http.Request, s session) {
	x.problem(w, r, s, wire.Errorf(wire.CodeNotFound, "no page at %s", r.URL.EscapedPath()))
}

// problemOf turns an answer of the binding that is not a success into the
// wire error it carries.
func problemOf(a *answer) error {
	var p struct {
		Code   wire.Code `json:"code"`
		Detail string    `json:"detail"`
	}
	if json.Unmarshal(a.body, &p) != nil || p.Code == "" {
		return wire.Errorf(wire.CodeInternal, "the binding answered %d", a.status)
	}
	return &wire.Error{Code: p.Code, Message: p.Detail}
}

type loginData struct {
	Next, User, Error string
}

// login serves the sign-in page and signs in: the account's password is
// checked (and throttled) as at any login, a token is issued for
// SessionTTL as `wotmq token` would, and it is set as the binding's
// TokenCookie, HttpOnly and SameSite=Strict.
func (x *Explorer) login(w http.ResponseWriter, r *http.Request, csrf string) {
	s := session{csrf: csrf}
	next := r.FormValue("next")
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") {
		next = Prefix + "things"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if cur, ok := x.session(w, r); ok && cur.token != "" {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		x.render(w, r, s, http.StatusOK, "login", "Sign in", "", loginData{Next: next}, "")
		return
	case http.MethodPost:
	default:
		http.Error(w, "use GET or POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !x.csrfOK(r, csrf) {
		x.render(w, r, s, http.StatusForbidden, "login", "Sign in", "", loginData{Next: next, Error: "The form expired: please sign in again."}, "")
		return
	}
	user, pass := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
	host := authz.RemoteHost(r.RemoteAddr)
	a, err := x.opts.Authz.Login(r.Context(), user, pass, host)
	if err != nil {
		status, msg := http.StatusUnauthorized, "Wrong user name or password."
		switch {
		case errors.Is(err, authz.ErrThrottled):
			status, msg = http.StatusTooManyRequests, "Too many failed sign-ins: try again later."
		case errors.Is(err, authz.ErrDisabled):
			status, msg = http.StatusForbidden, "This account is disabled."
		}
		if log, repeated, _ := x.opts.Authz.LogFailure(user, host); log {
			ev := x.log.Warn().Str("account", user).Str("remote", host).Str("reason", string(authz.ReasonOf(err)))
			if repeated > 0 {
				ev = ev.Int("repeated", repeated)
			}
			ev.Msg("explorer sign-in failed")
		}
		x.render(w, r, s, status, "login", "Sign in", "", loginData{Next: next, User: user, Error: msg}, "")
		return
	}
	out, err := x.opts.Core.Admin(r.Context(), authz.Identity{ID: a.ID, Role: a.Role, Remote: host},
		twin.AdminRequest{Op: twin.AdminToken, TTL: SessionTTL.String()})
	if err != nil {
		x.problem(w, r, s, err)
		return
	}
	tok := out.(twin.TokenReply)
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: tok.Token, Path: "/", Expires: tok.Expires,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout signs out: it revokes the session's token at the hub
// (token.revoke, as the account's own request), which ends the event
// streams the pages opened with it, and forgets it in the browser. A copy
// of the cookie is worth nothing after it.
func (x *Explorer) logout(w http.ResponseWriter, r *http.Request, s session) {
	if s.token != "" {
		if _, err := x.opts.Core.Admin(r.Context(), s.id, twin.AdminRequest{Op: twin.AdminTokenRevoke, Token: s.token}); err != nil {
			// The cookie goes all the same; the token ends at its expiry.
			x.log.Warn().Err(err).Str("account", s.id.ID).Msg("explorer: sign-out could not revoke the token")
		}
	}
	x.clearCookie(w, r, TokenCookie)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// pathEscape escapes an ID into one path segment, as the binding parses
// it (docs/http.md: "/" is %2F).
func pathEscape(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:@!$&'()*+,;=", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

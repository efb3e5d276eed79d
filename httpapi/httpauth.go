package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// Credentials a browser's EventSource can send without headers: a token
// in this cookie or query parameter, accepted on event streams only (a
// cookie on other requests would invite cross-site request forgery, a
// token in other URLs would end up in logs and histories).
const (
	TokenCookie = twin.TokenCookie
	TokenQuery  = twin.TokenQuery
)

// AnonymousHTTP names anonymous HTTP clients of a development hub that do
// not give a user name (curl -u NAME: names them NAME).
const AnonymousHTTP = "http-anonymous"

// httpIdentity authenticates an HTTP request like a CONNECT (auth.go):
// Basic with an account and its password (or a token as the password),
// a Bearer token, on event streams also a token in the TokenCookie cookie
// or the TokenQuery parameter, a verified TLS client certificate whose
// common name is an account, or (development mode, loopback only) no
// credentials. Failed logins are throttled per account and address.
//
// It also returns the account's epoch when it authenticated (0 for an
// anonymous client), which an event stream is registered with (revoke.go).
func (h *Server) httpIdentity(r *http.Request) (authz.Identity, int, error) {
	host := authz.RemoteHost(r.RemoteAddr)
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	var a authz.Account
	var tok authz.TokenInfo // when a token logged in: what it opens ends with it (tokenends.go)
	var err error
	switch strings.ToLower(scheme) {
	case "basic":
		user, pass, ok := r.BasicAuth()
		switch {
		case !ok:
			err = wire.Errorf(wire.CodeUnauthenticated, "malformed Basic credentials")
		case h.opts.Dev && authz.IsLoopback(host) && loopbackOrigin(r) && pass == "" && !h.accountExists(user):
			return anonymousHTTP(user), 0, nil
		case authz.LooksLikeToken(pass):
			if a, tok, err = h.authz.VerifyTokenInfo(pass); err == nil && user != "" && user != a.ID {
				err = h.authz.Refuse(authz.ReasonWrongAccount)
			}
		default:
			a, err = h.authz.Login(r.Context(), user, pass, host)
		}
	case "bearer":
		a, tok, err = h.authz.VerifyTokenInfo(strings.TrimSpace(cred))
	case "":
		q := ""
		if isEventStream(r) {
			if c, cerr := r.Cookie(TokenCookie); cerr == nil {
				q = c.Value
			}
			if v := r.URL.Query().Get(TokenQuery); v != "" {
				q = v
			}
		}
		switch {
		case q != "":
			a, tok, err = h.authz.VerifyTokenInfo(q)
		case certName(r) != "":
			acc, ok := h.authz.Get(certName(r))
			switch {
			case !ok:
				err = h.authz.Refuse(authz.ReasonUnknownCertificate)
			case !acc.Enabled:
				err = h.authz.Refuse(authz.ReasonDisabled)
			}
			a = acc
		case h.opts.Dev && authz.IsLoopback(host) && loopbackOrigin(r):
			return anonymousHTTP(""), 0, nil
		case h.opts.Dev && authz.IsLoopback(host):
			err = wire.Errorf(wire.CodeUnauthenticated, "development mode admits pages of this machine only, not of %s: give credentials", r.Header.Get("Origin"))
		default:
			err = wire.Errorf(wire.CodeUnauthenticated, "credentials required: Basic (account and password) or Bearer (a token from wotmq token)")
		}
	default:
		err = wire.Errorf(wire.CodeUnauthenticated, "authorization scheme %q: use Basic or Bearer", scheme)
	}
	if err != nil {
		h.logRefusal(r, host, err)
		return authz.Identity{}, 0, authError(err)
	}
	return authz.Identity{ID: a.ID, Role: a.Role, Expires: tok.Expires, Token: tok.ID}, a.Epoch, nil
}

func anonymousHTTP(user string) authz.Identity {
	if user == "" || wire.ValidateID(user) != nil {
		user = AnonymousHTTP
	}
	return authz.Identity{ID: user, Role: authz.RoleService, Anonymous: true}
}

// authError maps a failed authentication onto the wire codes.
func authError(err error) error {
	var we *wire.Error
	switch {
	case errors.As(err, &we):
		return we
	case errors.Is(err, authz.ErrThrottled):
		return wire.Errorf(wire.CodeQuota, "too many failed logins; try again later")
	case errors.Is(err, authz.ErrDisabled):
		return wire.Errorf(wire.CodeDenied, "account disabled")
	case errors.Is(err, authz.ErrTokenExpired):
		return wire.Errorf(wire.CodeUnauthenticated, "token expired")
	case errors.Is(err, authz.ErrBadToken):
		return wire.Errorf(wire.CodeUnauthenticated, "invalid token")
	}
	return wire.Errorf(wire.CodeUnauthenticated, "bad user name or password")
}

// isEventStream reports whether a request asks for Server-Sent Events.
func isEventStream(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// loopbackOrigin reports whether the page that made a request, when a
// browser says (Origin), is served from this machine. A development hub
// admits loopback clients without credentials; without this, a page of
// any site the developer visits could use the hub through the browser
// (CORS "*" lets it read; a no-cors POST with an untyped body is taken as
// JSON). Clients that are not browsers send no Origin.
func loopbackOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false // "null": a sandboxed frame, a file, a redirect across sites
	}
	host := u.Hostname()
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || authz.IsLoopback(host)
}

// certName is the common name of a verified TLS client certificate.
func certName(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	return r.TLS.PeerCertificates[0].Subject.CommonName
}

// logRefusal logs a refused request. A failed login goes at warn, as over
// MQTT (broker/auth.go), thinned so that a guesser cannot fill the log
// (authz.Store.LogFailure; every one is in wotmq_login_failures_total);
// a request without usable credentials at debug: browsers and probes send
// those all the time. Never the password or the token.
func (h *Server) logRefusal(r *http.Request, host string, err error) {
	reason := authz.ReasonOf(err)
	if reason == "" {
		h.log.Debug().Str("remote", host).Str("path", r.URL.EscapedPath()).Str("reason", authError(err).Error()).Msg("http request refused")
		return
	}
	account, _, _ := r.BasicAuth()
	log, repeated, others := h.authz.LogFailure(account, host)
	if !log {
		return
	}
	ev := h.log.Warn().Str("account", account).Str("remote", host).Str("reason", string(reason)).Str("path", r.URL.EscapedPath())
	if repeated > 0 {
		ev = ev.Int("repeated", repeated)
	}
	if others > 0 {
		ev = ev.Int("unlogged", others)
	}
	ev.Msg("login failed")
}

// epochKey is the request context's key of the account epoch the request
// authenticated in (httpIdentity).
type epochKey struct{}

// authEpoch is the account epoch the request authenticated in.
func authEpoch(r *http.Request) int {
	e, _ := r.Context().Value(epochKey{}).(int)
	return e
}

package broker

import (
	"context"
	"crypto/tls"
	"errors"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
)

// CONNACK refusals. MQTT 3.1.1 clients get "not authorized" (0x05) for all
// of them: their protocol has no other codes.
var (
	connBadCredentials = packets.Code{Code: 0x86, Reason: "bad user name or password"}
	connNotAuthorized  = packets.Code{Code: 0x87, Reason: "not authorized: credentials required"}
	connDisabled       = packets.Code{Code: 0x87, Reason: "not authorized: account disabled"}
	connExpired        = packets.Code{Code: 0x86, Reason: "token expired"}
	connBadToken       = packets.Code{Code: 0x86, Reason: "invalid token"}
	connThrottled      = packets.Code{Code: 0x9F, Reason: "too many failed logins; try again later"}
)

// identity returns who an authenticated client is: the account of a
// connected client, or of a persistent session whose client is away
// (Mochi decides every delivery to it, queued ones included, through
// OnACLCheck). It is the one place that says who a client is: a role
// change that must reach live connections and stored sessions changes
// what it returns.
func (h *Hub) identity(cl *mqtt.Client) (authz.Identity, bool) {
	if v, ok := h.sessions.Load(cl); ok {
		return h.unlessRevoked(v.(authz.Identity))
	}
	if v, ok := h.away.Load(cl.ID); ok && v.(*awaySession).cl == cl {
		return h.unlessRevoked(v.(*awaySession).id)
	}
	return authz.Identity{}, false
}

// authenticate decides a CONNECT: a TLS client certificate whose common
// name is an account, a token or password, or (development mode only) no
// credentials from a loopback address. On refusal it sends the CONNACK
// itself, with a reason code and string, and returns the code.
func (h *Hub) authenticate(cl *mqtt.Client, pk packets.Packet) error {
	ctx := context.Background()
	user := string(pk.Connect.Username)
	pass := string(pk.Connect.Password)
	host := authz.RemoteHost(cl.Net.Remote)
	var id authz.Identity
	var err error
	switch {
	case pass != "" && authz.LooksLikeToken(pass):
		var a authz.Account
		var tok authz.TokenInfo
		if a, tok, err = h.authz.VerifyTokenInfo(pass); err == nil && user != "" && user != a.ID {
			err = h.authz.Refuse(authz.ReasonWrongAccount)
		}
		id = authz.Identity{ID: a.ID, Role: a.Role, Expires: tok.Expires, Token: tok.ID}
	case user != "" && (pass != "" || !(h.opts.Dev && authz.IsLoopback(host)) || h.accountExists(user)):
		// A user name without a password is a failed login like a wrong
		// password, known account or not: the same answer after the same
		// work, so that it does not tell which accounts exist.
		var a authz.Account
		a, err = h.authz.Login(ctx, user, pass, host)
		id = authz.Identity{ID: a.ID, Role: a.Role}
	case user == "" && pass == "" && peerCertName(cl) != "":
		name := peerCertName(cl)
		a, ok := h.authz.Get(name)
		switch {
		case !ok:
			err = h.authz.Refuse(authz.ReasonUnknownCertificate)
		case !a.Enabled:
			err = h.authz.Refuse(authz.ReasonDisabled)
		}
		id = authz.Identity{ID: a.ID, Role: a.Role}
	case h.opts.Dev && authz.IsLoopback(host):
		id = authz.Identity{ID: user, Role: authz.RoleService, Anonymous: true}
		if id.ID == "" {
			id.ID = cl.ID
		}
	default:
		err = errNoCredentials
	}
	var will *willMsg
	id.Client = cl.ID // the client's own ID (%c in the access rules)
	if err == nil {
		will, err = h.decideWill(id, pk)
	}
	if err != nil {
		return h.refuseConnect(cl, user, host, err)
	}
	id.Remote = host
	own := cl.ID
	cl.ID = clientKey(id.ID, own) // the account's own client ID space (clientid.go)
	// The hub sends the Will itself, as a publish by id (will.go); Mochi
	// would relay it as-is.
	cl.Properties.Will = mqtt.Will{}
	if will != nil {
		h.wills.Store(cl, will)
	}
	h.sessions.Store(cl, id)
	h.log.Debug().Str("client", own).Str("account", id.ID).Str("role", string(id.Role)).Bool("anonymous", id.Anonymous).Bool("will", will != nil).Msg("client authenticated")
	return nil
}

var errNoCredentials = errors.New("credentials required")

func (h *Hub) accountExists(id string) bool { _, ok := h.authz.Get(id); return ok }

// refuseConnect answers a refused CONNECT and logs it without secrets.
func (h *Hub) refuseConnect(cl *mqtt.Client, user, host string, err error) error {
	code := connBadCredentials
	var wr *willRefusal
	switch {
	case errors.As(err, &wr):
		code = wr.code()
	case errors.Is(err, errNoCredentials):
		code = connNotAuthorized
	case errors.Is(err, authz.ErrDisabled):
		code = connDisabled
	case errors.Is(err, authz.ErrTokenExpired):
		code = connExpired
	case errors.Is(err, authz.ErrBadToken):
		code = connBadToken
	case errors.Is(err, authz.ErrThrottled):
		code = connThrottled
	}
	if r := authz.ReasonOf(err); r != "" {
		// A failed login: at warn, for the operator, but thinned so that a
		// guesser cannot fill the log (authz.Store.LogFailure); every one
		// is in wotmq_login_failures_total. Never the password.
		if log, repeated, others := h.authz.LogFailure(user, host); log {
			ev := h.log.Warn().Str("account", user).Str("remote", host).Str("reason", string(r)).Str("client", cl.ID)
			if repeated > 0 {
				ev = ev.Int("repeated", repeated) // failures of this account from this address since its last line
			}
			if others > 0 {
				ev = ev.Int("unlogged", others) // failures of other pairs left out of the log
			}
			ev.Msg("login failed")
		}
	} else {
		h.log.Info().Str("client", cl.ID).Str("user", user).Str("remote", host).
			Str("reason", code.Reason).Msg("connection refused")
	}
	if cl.Properties.ProtocolVersion < 5 {
		code = packets.Err3NotAuthorized
	}
	_ = h.srv.SendConnack(cl, code, false, nil)
	return code
}

// peerCertName is the common name of a verified TLS client certificate.
func peerCertName(cl *mqtt.Client) string {
	conn := cl.Net.Conn
	if ws, ok := conn.(*wsConn); ok {
		conn = ws.Conn
	}
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return ""
	}
	st := tc.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return ""
	}
	return st.PeerCertificates[0].Subject.CommonName
}

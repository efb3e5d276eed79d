package broker

import (
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
)

// What a token's end ends. A client that logged in with a token is
// decided at CONNECT; the connection must not outlive the token, or a
// stolen short-lived token would be a long-lived one. So each such
// connection has one timer (time.AfterFunc: no goroutine until it fires)
// that ends it at the token's expiry, stopped when the connection ends;
// and revoking the token (authz.Store.Revoke, reported as a Change with
// Token set) ends the connections opened with it at once.
//
// The reason codes [MQTT-3.14.2-1]: at expiry 0xA0 "maximum connect
// time" (MQTT 5 §3.14.2.1: "the connection is closed because it has been
// connected longer than the maximum connection time"): the token bounded
// the connection's time, and nothing else is wrong; a client that sees it
// connects again with a fresh token. 0x86 exists only in a CONNACK, and
// 0x87 "not authorized" would tell a client that its account may not
// connect. A revoked token gets 0x98 "administrative action", as the other
// revocations (revoke.go). MQTT 3.1.1 connections are closed.
var (
	endTokenExpired = packets.Code{Code: 0xA0, Reason: "maximum connect time: token expired; connect again with a new token"}
	endTokenRevoked = packets.Code{Code: 0x98, Reason: "administrative action: token revoked"}
)

// watchToken arms the expiry of an established connection that logged in
// with a token, or ends it at once when the token was revoked or expired
// while the CONNECT was handled (a revocation then did not see it yet).
func (h *Hub) watchToken(cl *mqtt.Client) {
	v, ok := h.sessions.Load(cl)
	if !ok {
		return
	}
	id := v.(authz.Identity)
	if id.Expires.IsZero() {
		return
	}
	if id.Token != "" && h.authz.TokenRevoked(id.Token) {
		h.endForToken(cl, id, endTokenRevoked)
		return
	}
	t := time.AfterFunc(id.Expires.Sub(h.opts.Now()), func() {
		if _, ok := h.tokenTimers.LoadAndDelete(cl); ok {
			h.endForToken(cl, id, endTokenExpired)
		}
	})
	h.tokenTimers.Store(cl, t)
}

// unwatchToken stops the expiry timer of a connection that ended.
func (h *Hub) unwatchToken(cl *mqtt.Client) {
	if v, ok := h.tokenTimers.LoadAndDelete(cl); ok {
		v.(*time.Timer).Stop()
	}
}

// endForToken ends a connection because of its token.
func (h *Hub) endForToken(cl *mqtt.Client, id authz.Identity, code packets.Code) {
	select {
	case <-h.stop:
		return // the closing hub ends every connection
	default:
	}
	endConnection(h.srv, cl, code)
	h.log.Info().Str("client", clientID(cl)).Str("account", id.ID).Str("token", id.Token).Str("reason", code.Reason).
		Msg("connection ended with its token")
}

// tokenRevoked is accountChanged for one revoked token: it ends the
// connections that logged in with it and forgets the stored sessions made
// with it (nothing more is queued for them under that token).
func (h *Hub) tokenRevoked(c authz.Change) {
	conns := 0
	if h.srv != nil {
		for _, cl := range h.srv.Clients.GetAll() {
			if cl.Net.Inline {
				continue
			}
			if v, ok := h.sessions.Load(cl); ok && v.(authz.Identity).Token == c.Token {
				h.unwatchToken(cl)
				h.endForToken(cl, v.(authz.Identity), endTokenRevoked)
				conns++
			}
		}
	}
	h.away.Range(func(k, v any) bool {
		if v.(*awaySession).id.Token == c.Token {
			h.away.CompareAndDelete(k, v)
		}
		return true
	})
	h.log.Info().Str("account", c.Account).Str("token", c.Token).Int("connections", conns).Msg("token revoked: its connections ended")
}

// awayTokenCheck forgets a stored session's identity, just kept, when its
// token was revoked: a revocation stores its record before it looks for
// sessions (tokenRevoked), so either it saw this one or this check sees
// the record.
func (h *Hub) awayTokenCheck(key string, as *awaySession) {
	if as.id.Token != "" && h.authz.TokenRevoked(as.id.Token) {
		h.away.CompareAndDelete(key, as)
	}
}

// unlessRevoked is identity's last word: a client that logged in with a
// token revoked since is nobody, so nothing is delivered to it, queued or
// live, while its connection is being ended (one map lookup, for token
// logins only).
func (h *Hub) unlessRevoked(id authz.Identity) (authz.Identity, bool) {
	if id.Token != "" && h.authz.TokenRevoked(id.Token) {
		return authz.Identity{}, false
	}
	return id, true
}

package broker

import (
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wot"
)

// Sessions and client IDs belong to an account.
//
// Mochi keys its client list, its sessions and its topic index by client
// ID, and a CONNECT with an ID it knows takes that session over. So that
// one account can never take, resume or block another's, each account has
// a client-ID space of its own: once a client is authenticated, the ID
// Mochi keys it by is its account (escaped as a topic level, so without
// "/") and its own ID, "{account}/{client ID}". Two accounts using the same
// client ID hold two sessions side by side; the same account reconnecting
// takes its own session over, as MQTT says [MQTT-3.1.4-3]. The client
// never sees the key (an ID Mochi assigns is sent back as the client made
// it); the hub's log shows the client's own ID beside its account.
//
// A persistent session (clean start 0, a session expiry) outlives its
// connection: Mochi keeps it and queues what is published for it, and asks
// the hub about each delivery (OnACLCheck). The hub keeps the session's
// identity (away) until the session is resumed, taken over or expires, or
// the account is disabled.

// clientKey is the ID Mochi keys the session of account's clientID by.
func clientKey(account, clientID string) string { return wot.EscapeLevel(account) + "/" + clientID }

// clientID is an authenticated client's own ID, for the log.
func clientID(cl *mqtt.Client) string {
	if _, own, ok := strings.Cut(cl.ID, "/"); ok {
		return own
	}
	return cl.ID // the hub's inline client
}

// awaySession is the identity of a persistent session whose client is
// away, and the client record Mochi keeps for it.
type awaySession struct {
	id authz.Identity
	cl *mqtt.Client
}

// sessionAway keeps the identity of cl's session when its connection ends
// and the session lives on (Mochi's expire is false), unless a newer
// connection has taken the session over (links.go).
func (h *Hub) sessionAway(cl *mqtt.Client, id authz.Identity, expire bool) {
	if expire || h.replacedBy(cl) != nil {
		return
	}
	as := &awaySession{id: id, cl: cl}
	h.away.Store(cl.ID, as)
	h.awayTokenCheck(cl.ID, as) // a revocation that ran meanwhile did not see it (tokenends.go)
}

// sessionBack forgets what the hub kept for cl's session while its client
// was away: cl has it now (or started it afresh), with its own identity.
// A delayed Will of the session is not sent [MQTT-3.1.3-9].
func (h *Hub) sessionBack(cl *mqtt.Client) {
	h.away.Delete(cl.ID)
	h.cancelDelayedWill(cl.ID)
}

// sessionExpired forgets the identity of a session Mochi has expired.
func (h *Hub) sessionExpired(cl *mqtt.Client) {
	if v, ok := h.away.Load(cl.ID); ok && v.(*awaySession).cl == cl {
		h.away.CompareAndDelete(cl.ID, v)
	}
}

// forgetAwaySessions forgets the identities of account's stored sessions
// (a disabled account): nothing more is queued for them.
func (h *Hub) forgetAwaySessions(account string) {
	h.away.Range(func(k, v any) bool {
		if v.(*awaySession).id.ID == account {
			h.away.CompareAndDelete(k, v)
		}
		return true
	})
}

package broker

import (
	"context"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
)

// Revocation: what an account or access list change does to what is
// already open (the event streams' half is package httpapi's). The hub decides a client at CONNECT, a subscription at
// SUBSCRIBE and an event stream when it opens; authz reports every change
// that may void such a decision (authz.Options.OnChange, wired to
// accountChanged), and this file ends what the change voids:
//
//   - A change of an account's role or password, or its disabling, ends
//     the account's MQTT connections (DISCONNECT 0x98 "administrative
//     action", 0x87 "not authorized" when it was disabled, each with a
//     reason string) and its event streams. The client connects again and
//     is decided under the new state. The one connection spared is the one
//     that changed its own password (it proved the current one).
//   - A change of a Thing's access list decides every event stream on that
//     Thing again and ends those it no longer allows. MQTT deliveries need
//     nothing more: OnACLCheck decides each one against the current list
//     and role.

// Disconnect reasons of a revocation.
var (
	revokedDisabled = packets.Code{Code: 0x87, Reason: "not authorized: account disabled"}
	revokedRole     = packets.Code{Code: 0x98, Reason: "administrative action: the account's role changed; connect again"}
	revokedPassword = packets.Code{Code: 0x98, Reason: "administrative action: the account's password changed; connect again with the new one"}
)

// accountChanged is authz's OnChange: it ends the connections and streams
// that a change voids.
func (h *Hub) accountChanged(ctx context.Context, c authz.Change) {
	if c.Account == "" {
		return // MQTT deliveries are decided one by one (OnACLCheck)
	}
	if c.Token != "" {
		h.tokenRevoked(c) // one token: what it opened (tokenends.go)
		return
	}
	// The connection that changed its own password (it proved the
	// current one) is kept.
	keep, _ := twin.ConnOf(ctx).(*mqtt.Client)
	code := revokedPassword
	switch {
	case c.Disabled:
		code, keep = revokedDisabled, nil
	case c.Role:
		code, keep = revokedRole, nil
	}
	conns := 0
	if h.srv != nil {
		for _, cl := range h.srv.Clients.GetAll() {
			if cl == keep || cl.Net.Inline {
				continue
			}
			if id, ok := h.identity(cl); ok && !id.Anonymous && id.ID == c.Account {
				endConnection(h.srv, cl, code)
				conns++
			}
		}
	}
	// A stored session of the account keeps the identity it logged in
	// with (clientid.go): forget it, so nothing more is queued for it
	// under the old role; the client is decided afresh when it returns.
	h.forgetAwaySessions(c.Account)
	h.log.Info().Str("account", c.Account).Bool("role", c.Role).Bool("password", c.Password).Bool("disabled", c.Disabled).
		Int("connections", conns).Msg("account changed: its open connections ended")
}

// EndSessions ends the connection of a session (its key,
// {account}/{client ID}, as Options.SessionEstablished reports it) with
// MQTT 5 reason 0x8E, session taken over: in a cluster, a newer
// connection of the same session began on another node (the newest wins,
// as within one broker). It reports how many it ended.
func (h *Hub) EndSessions(session string) int {
	n := 0
	if h.srv == nil {
		return 0
	}
	for _, cl := range h.srv.Clients.GetAll() {
		if cl.Net.Inline || cl.ID != session || cl.Closed() {
			continue
		}
		endConnection(h.srv, cl, packets.ErrSessionTakenOver)
		n++
	}
	if n > 0 {
		h.log.Info().Str("session", session).Int("connections", n).Msg("session taken over on another node: its connection here ended")
	}
	return n
}

// endConnection closes a client's connection with a reason: an MQTT 5
// DISCONNECT with the code and reason string [MQTT-3.14.2-1], or for MQTT
// 3.1.1, whose server sends no DISCONNECT, just the close.
func endConnection(srv *mqtt.Server, cl *mqtt.Client, code packets.Code) {
	if cl.Properties.ProtocolVersion >= 5 {
		_ = srv.DisconnectClient(cl, code)
		return
	}
	cl.Stop(code)
}

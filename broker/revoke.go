package broker

import (
	"context"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// Revocation: what an account or access list change does to what is
// already open. The hub decides a client at CONNECT, a subscription at
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
		if n := h.streams.redecide(h.authz, c.Thing); n > 0 {
			h.log.Info().Str("thing", c.Thing).Int("streams", n).Msg("access list changed: event streams it no longer allows ended")
		}
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
	streams := h.streams.endAccount(c.Account)
	h.log.Info().Str("account", c.Account).Bool("role", c.Role).Bool("password", c.Password).Bool("disabled", c.Disabled).
		Int("connections", conns).Int("streams", streams).Msg("account changed: its open connections and event streams ended")
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

// openStream is an event stream as the revocation sees it: who opened it,
// for what operation on which Thing ("" for the directory's notifications,
// which decide each event), and how to end it.
type openStream struct {
	id    authz.Identity
	thing string
	op    authz.Op
	fin   *ending
}

// streamSet holds the open event streams.
type streamSet struct {
	mu sync.Mutex
	m  map[*openStream]struct{}
}

// add registers a stream and returns the function that removes it.
func (s *streamSet) add(st *openStream) (remove func()) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[*openStream]struct{}{}
	}
	s.m[st] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.m, st)
		s.mu.Unlock()
	}
}

func (s *streamSet) snapshot() []*openStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*openStream, 0, len(s.m))
	for st := range s.m {
		out = append(out, st)
	}
	return out
}

// endAccount ends every stream an account opened and returns how many.
func (s *streamSet) endAccount(account string) int {
	n := 0
	for _, st := range s.snapshot() {
		if !st.id.Anonymous && st.id.ID == account {
			st.fin.end()
			n++
		}
	}
	return n
}

// redecide decides the streams on a Thing again and ends those its access
// list no longer allows; it returns how many it ended.
func (s *streamSet) redecide(a *authz.Store, thing string) int {
	n := 0
	for _, st := range s.snapshot() {
		if st.thing == thing && a.Decide(st.id, st.op, thing) != nil {
			st.fin.end()
			n++
		}
	}
	return n
}

// watchStream registers a stream until the returned function is called,
// and decides it once more: a change that landed between the request's
// decision and the registration did not see the stream.
func (h *Hub) watchStream(st *openStream) (remove func(), err error) {
	remove = h.streams.add(st)
	if !st.id.Anonymous {
		a, ok := h.authz.Get(st.id.ID)
		if !ok || !a.Enabled || a.Role != st.id.Role {
			remove()
			return nil, wot.Errorf(wot.CodeDenied, "the account changed while the stream opened; open it again")
		}
	}
	if st.thing != "" {
		if err := h.authz.Decide(st.id, st.op, st.thing); err != nil {
			remove()
			return nil, err
		}
	}
	return remove, nil
}

package httpapi

import (
	"context"
	"sync"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// Revocation of event streams (the MQTT half is broker/revoke.go): a
// change of an account's role or password, or its disabling, ends the
// account's event streams; a change of a Thing's access list decides every
// event stream on that Thing again and ends those it no longer allows.

// AccountChanged is the account store's OnChange for the HTTP binding: it
// ends the event streams that a change voids.
func (h *Server) AccountChanged(ctx context.Context, c authz.Change) {
	if c.Token != "" {
		h.tokenRevoked(c) // one token: the streams it opened (tokenends.go)
		return
	}
	if c.Account == "" {
		if n := h.streams.redecide(h.authz, c.Thing); n > 0 {
			h.log.Info().Str("thing", c.Thing).Int("streams", n).Msg("access list changed: event streams it no longer allows ended")
		}
		return
	}
	if n := h.streams.endAccount(c.Account); n > 0 {
		h.log.Info().Str("account", c.Account).Bool("role", c.Role).Bool("password", c.Password).Bool("disabled", c.Disabled).
			Int("streams", n).Msg("account changed: its open event streams ended")
	}
}

// openStream is an event stream as the revocation sees it: who opened it,
// for what operation on which Thing ("" for the directory's notifications,
// which decide each event), and how to end it.
type openStream struct {
	id    authz.Identity
	epoch int // the account's epoch when the request authenticated
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
			st.fin.endFor(endAccountChanged)
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
			st.fin.endFor(endACLChanged)
			n++
		}
	}
	return n
}

// watchStream registers a stream until the returned function is called,
// and decides it once more: a change that landed between the request's
// decision and the registration did not see the stream.
func (h *Server) watchStream(st *openStream) (remove func(), err error) {
	remove = h.streams.add(st)
	if st.id.Token != "" && h.authz.TokenRevoked(st.id.Token) {
		remove()
		return nil, wire.Errorf(wire.CodeUnauthenticated, "invalid token: revoked")
	}
	if !st.id.Expires.IsZero() {
		unlist, stop := remove, h.endAtExpiry(st) // the stream ends with its token (tokenends.go)
		remove = func() { stop(); unlist() }
	}
	if !st.id.Anonymous {
		a, ok := h.authz.Get(st.id.ID)
		// A password change (or disable) moves the epoch on: one that
		// landed after the request authenticated and before this
		// registration ended no stream, so this one ends here.
		if !ok || !a.Enabled || a.Role != st.id.Role || a.Epoch != st.epoch {
			remove()
			return nil, wire.Errorf(wire.CodeDenied, "the account changed while the stream opened; open it again")
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

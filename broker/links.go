package broker

import (
	"errors"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Mochi keys its client list and topic index by client ID, and two
// connections with one ID overlap whenever a client reconnects before the
// server is done with its previous connection (a takeover, or a quick
// reconnect after a clean DISCONNECT). The patched Mochi keeps the newer
// connection in both (endSession, docs/architecture.md "Patched Mochi");
// one step still needs the hub's help: on a takeover Mochi records the
// cause on the old connection only after sending it the DISCONNECT, and
// the newer connection's CONNECT has been authenticated before that; a
// client that closes its end at once ends with a read error, and its agent
// would be counted gone (presence "lost") while the new connection is on
// its way in.
//
// So the hub keeps its own record of every network connection, from its
// accept until Mochi is done with it (cleanup included; each listener is
// wrapped by watchEnds), indexed by client ID. A connection that arrives
// while others with its ID are still up becomes their heir: they count as
// replaced.

// link is the hub's record of one network connection. Its fields are
// guarded by links.mu.
type link struct {
	cl          *mqtt.Client // the client, once authenticated (OnSessionEstablish); indexed by its ID then
	heirOf      bool         // arrived while another connection with its ID was up
	heir        *mqtt.Client // the newest connection with the same ID that arrived while this one was up
	established bool         // in Mochi's client list (OnSessionEstablished has run)
	overCap     bool         // accepted beyond MaxConnections: its CONNECT is refused with 0x89
}

// links is the hub's registry of connections.
type links struct {
	mu     sync.Mutex
	byConn map[net.Conn]*link
	byID   map[string][]*link // one or two (a takeover): a slice, not a map of one (issue 15: 120 bytes less per connection)
}

func (r *links) init() {
	r.byConn = make(map[net.Conn]*link)
	r.byID = make(map[string][]*link)
}

// endWatch is a listener whose connections tell the hub when Mochi is
// done with them.
type endWatch struct {
	listeners.Listener
	h *Hub
}

// watchEnds wraps a listener so the hub keeps its record of every
// connection the listener accepts.
func (h *Hub) watchEnds(l listeners.Listener) listeners.Listener { return endWatch{l, h} }

// Every socket counts against MaxConnections from its accept, before its
// CONNECT: a flood of sockets that never send one cannot hold more than
// the cap (3,000 silent sockets held 6,000 goroutines and 3,021 file
// descriptors before). Past the cap, ConnectRefusalSlots more are served
// only to answer their CONNECT with 0x89 (guard.OnConnect); beyond those a
// new socket is closed at once. And a socket has ConnectTimeout to send its
// whole CONNECT; Mochi then replaces the read deadline with the keep alive
// (EMQX closes after 15 s alike).
//
// An idle connection's goroutine waits under this function's frame for the
// life of the connection, so the frame stays small (the goroutine's stack
// is 2 KiB while its frames fit): the work before and after is in admit
// and ended.
func (w endWatch) Serve(establish listeners.EstablishFn) {
	w.Listener.Serve(func(id string, c net.Conn) error {
		l := w.admit(c)
		if l == nil {
			return nil
		}
		return w.ended(c, id, l, establish(id, c))
	})
}

// admit records a new connection, or closes it and returns nil when the
// hub holds MaxConnections plus ConnectRefusalSlots.
//
//go:noinline
func (w endWatch) admit(c net.Conn) *link {
	h := w.h
	r := &h.links
	l := new(link)
	max := h.opts.Limits.MaxConnections
	r.mu.Lock()
	n := len(r.byConn)
	if max > 0 && n >= max+ConnectRefusalSlots {
		r.mu.Unlock()
		h.socketRefused(c, n) // counted before the client sees its socket closed
		_ = c.Close()
		return nil
	}
	l.overCap = max > 0 && n >= max
	r.byConn[c] = l
	r.mu.Unlock()
	_ = c.SetReadDeadline(time.Now().Add(h.opts.Limits.ConnectTimeout))
	return l
}

// ended forgets a connection Mochi is done with; err is what Mochi's
// establish returned, and what the listener gets.
//
//go:noinline
func (w endWatch) ended(c net.Conn, id string, l *link, err error) error {
	h := w.h
	r := &h.links
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !l.connected() {
		h.ops.connectTimeouts.Add(1)
		h.log.Debug().Str("remote", c.RemoteAddr().String()).Str("listener", id).Msg("connection closed: no CONNECT within the connect timeout")
		err = nil // counted and logged here; Mochi's listener would log a warning for each
	}
	r.mu.Lock()
	delete(r.byConn, c)
	if l.cl != nil {
		set := slices.DeleteFunc(r.byID[l.cl.ID], func(o *link) bool { return o == l })
		if len(set) == 0 {
			delete(r.byID, l.cl.ID)
		} else {
			r.byID[l.cl.ID] = set
		}
	}
	cl, established, heirOf := l.cl, l.established, l.heirOf
	r.mu.Unlock()
	if cl != nil && !established {
		w.h.neverEstablished(cl, heirOf)
	}
	return err
}

// connected reports whether the connection got past its CONNECT (Mochi's
// keep alive deadline can also end a connection with a timeout).
func (l *link) connected() bool { return l.cl != nil }

// socketRefused counts a socket closed at accept for the connection cap,
// and logs the first of a burst (at most one line every ten seconds).
func (h *Hub) socketRefused(c net.Conn, open int) {
	n := h.ops.socketsRefused.Add(1)
	now := time.Now().UnixNano()
	last := h.ops.socketsRefusedLogged.Load()
	if now-last < int64(10*time.Second) || !h.ops.socketsRefusedLogged.CompareAndSwap(last, now) {
		return
	}
	h.log.Warn().Str("remote", c.RemoteAddr().String()).Int("open", open).Int("max", h.opts.Limits.MaxConnections).
		Uint64("refused_total", n).Msg("connection refused: the hub has its most connections (--max-connections)")
}

// sockets is the number of network connections open, CONNECT sent or not.
func (h *Hub) sockets() int {
	r := &h.links
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byConn)
}

// overCap reports whether cl's connection was accepted beyond
// MaxConnections.
func (h *Hub) overCap(cl *mqtt.Client) bool {
	r := &h.links
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.byConn[cl.Net.Conn]
	return l != nil && l.overCap
}

// OnSessionEstablish makes an authenticated connection the heir of every
// other connection with its client ID that Mochi is not done with.
func (g *guard) OnSessionEstablish(cl *mqtt.Client, pk packets.Packet) {
	r := &g.h.links
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.byConn[cl.Net.Conn]
	if l == nil {
		return // the hub's inline client
	}
	l.cl = cl
	set := r.byID[cl.ID]
	if slices.Contains(set, l) {
		return
	}
	for _, other := range set {
		other.heir = cl
		l.heirOf = true
	}
	r.byID[cl.ID] = append(set, l)
}

// neverEstablished cleans up after an authenticated connection that ended
// before Mochi put it in its client list (its CONNACK could not be
// written), for which no OnDisconnect runs. If it had replaced another
// connection, that one's Things were left online for it: they are lost.
func (h *Hub) neverEstablished(cl *mqtt.Client, heirOf bool) {
	id, ok := h.identity(cl)
	h.sessions.Delete(cl)
	h.wills.Delete(cl) // never connected: no Will
	if ok && heirOf {
		h.core.AgentLost(id.ID, conn(cl))
	}
}

// replacedBy returns the newer connection with cl's client ID that
// arrived while cl was up, if any.
func (h *Hub) replacedBy(cl *mqtt.Client) *mqtt.Client {
	r := &h.links
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.byConn[cl.Net.Conn]; l != nil {
		return l.heir
	}
	return nil
}

// established notes that cl is in Mochi's client list.
func (h *Hub) established(cl *mqtt.Client) {
	r := &h.links
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.byConn[cl.Net.Conn]; l != nil {
		l.established = true
	}
}

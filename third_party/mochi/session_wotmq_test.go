package mqtt

import (
	"bufio"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmq patch: a client that connects while an earlier connection with its
// client ID is being cleaned up keeps its place in the client list and its
// subscriptions in the topic index.

// wotmqTrap is a hook that runs a function once, from inside one of the
// hooks Mochi calls while it cleans up after a client, for the client it
// was armed for. It lets a test put a newer connection exactly into the
// cleanup of an older one.
type wotmqTrap struct {
	HookBase
	on  byte
	arm atomic.Pointer[func(*Client) bool]
}

func (h *wotmqTrap) ID() string           { return "wotmq-trap" }
func (h *wotmqTrap) Provides(b byte) bool { return b == h.on }

func (h *wotmqTrap) spring(cl *Client) {
	if fn := h.arm.Load(); fn != nil && (*fn)(cl) {
		h.arm.Store(nil)
	}
}

func (h *wotmqTrap) OnDisconnect(cl *Client, _ error, _ bool)         { h.spring(cl) }
func (h *wotmqTrap) OnUnsubscribed(cl *Client, _ packets.Packet)      { h.spring(cl) }
func (h *wotmqTrap) OnClientExpired(cl *Client)                       { h.spring(cl) }
func (h *wotmqTrap) OnQosDropped(cl *Client, _ packets.Packet)        { h.spring(cl) }
func (h *wotmqTrap) OnSessionEstablished(_ *Client, _ packets.Packet) {}

// wotmqClient is the client's end of a connection over a pipe, and the
// server's end, which is its *Client's Net.Conn.
type wotmqClient struct {
	c, server net.Conn
	br        *bufio.Reader
	done      chan struct{} // closed when the server is done with the connection
}

// wotmqDial connects an MQTT 5 client with the given ID and CONNECT
// properties (clean start) and reads its CONNACK.
func wotmqDial(t *testing.T, s *Server, id string, props []byte) *wotmqClient {
	t.Helper()
	srv, c := net.Pipe()
	w := &wotmqClient{c: c, server: srv, br: bufio.NewReader(c), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		_ = s.EstablishConnection("tcp", srv)
	}()
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, byte(len(props))}, props...)
	body = append(body, 0, byte(len(id)))
	body = append(body, id...)
	w.write(append([]byte{packets.Connect << 4, byte(len(body))}, body...))
	wotmqExpect(t, c, w.br, packets.Connack, 0)
	return w
}

func (w *wotmqClient) write(b []byte) { go func() { _, _ = w.c.Write(b) }() }

// subscribe subscribes to a one-byte topic filter and reads the SUBACK.
func (w *wotmqClient) subscribe(t *testing.T, filter, qos byte) {
	t.Helper()
	w.write([]byte{0x82, 7, 0, 1, 0, 0, 1, filter, qos})
	if sa := wotmqExpect(t, w.c, w.br, packets.Suback, 0); string(sa.ReasonCodes) != string([]byte{qos}) {
		t.Fatalf("SUBACK %v", sa.ReasonCodes)
	}
}

// disconnect sends a normal DISCONNECT and waits until the server is done
// with the connection (its cleanup included).
func (w *wotmqClient) disconnect(t *testing.T) {
	t.Helper()
	w.write([]byte{packets.Disconnect << 4, 0})
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server is not done with the connection")
	}
}

// held checks that the connection holds its client ID in the client list,
// is in the topic index for filter and receives what is published there.
func (w *wotmqClient) held(t *testing.T, s *Server, id string, filter byte) {
	t.Helper()
	if _, ok := s.Topics.Subscribers(string(filter)).Subscriptions[id]; !ok {
		t.Errorf("the topic index has no subscription of %q to %q", id, filter)
	}
	if cl, ok := s.Clients.Get(id); !ok || cl.Net.Conn != w.server {
		t.Fatalf("the client list has %v for %q, not the newest connection", cl, id)
	}
	if err := s.Publish(string(filter), []byte("x"), false, 0); err != nil {
		t.Fatal(err)
	}
	if pk, err := wotmqRead(t, w.c, w.br); err != nil || pk.FixedHeader.Type != packets.Publish {
		t.Fatalf("the newest connection got %+v, %v, want the PUBLISH", pk.FixedHeader, err)
	}
}

// TestWotmqQuickReconnect drives a newer connection with the same client
// ID into each point of an older connection's end, through the hooks Mochi
// calls there: before its cleanup, inside it (between Mochi's check that
// the old client was not taken over and its deletion from the client list
// by ID: while its inflight messages are dropped, while it is
// unsubscribed), and inside the sweep of expired sessions. Mochi deleted
// the newer client in the last three: it stayed connected and received
// nothing (one quick reconnect in a few hundred in wotmq's soak test).
func TestWotmqQuickReconnect(t *testing.T) {
	sessionExpiry := []byte{0x11, 0, 0, 0, 60} // Session Expiry Interval 60 s
	for _, tc := range []struct {
		name  string
		hook  byte
		props []byte // the older connection's CONNECT properties
		sweep bool   // the older session ends in the sweep of expired sessions
	}{
		{"NewClientBeforeCleanup", OnDisconnect, nil, false},
		{"NewClientDuringInflightCleanup", OnQosDropped, nil, false},
		{"NewClientDuringUnsubscribe", OnUnsubscribed, nil, false},
		{"NewClientDuringExpirySweep", OnClientExpired, sessionExpiry, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServerWithInlineClient()
			trap := &wotmqTrap{on: tc.hook}
			if err := s.AddHook(trap, nil); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			old := wotmqDial(t, s, "same", tc.props)
			defer old.c.Close()
			old.subscribe(t, 't', 1)
			if tc.hook == OnQosDropped { // a QoS 1 message the older client never acknowledges
				if err := s.Publish("t", []byte("x"), false, 1); err != nil {
					t.Fatal(err)
				}
				if pk, err := wotmqRead(t, old.c, old.br); err != nil || pk.FixedHeader.Type != packets.Publish {
					t.Fatalf("got %+v, %v, want the PUBLISH", pk.FixedHeader, err)
				}
			}
			var newer *wotmqClient
			fn := func(cl *Client) bool {
				if cl.Net.Conn != old.server {
					return false
				}
				trap.arm.Store(nil) // t.Fatal below would end this goroutine
				newer = wotmqDial(t, s, "same", nil)
				newer.subscribe(t, 't', 0)
				return true
			}
			if !tc.sweep {
				trap.arm.Store(&fn)
			}
			old.disconnect(t)
			if tc.sweep {
				trap.arm.Store(&fn)
				s.clearExpiredClients(time.Now().Unix() + 3600)
			}
			if newer == nil {
				t.Fatal("the hook was not called for the older connection")
			}
			defer newer.c.Close()
			newer.held(t, s, "same", 't')
		})
	}
}

// TestWotmqExpiredSessionUnsubscribed: a session that expires leaves the
// topic index too. Mochi deleted it from the client list only, so its
// filters stayed indexed under its client ID for good (and a later client
// with that ID and a clean start received what they matched).
func TestWotmqExpiredSessionUnsubscribed(t *testing.T) {
	s := newServerWithInlineClient()
	defer s.Close()
	old := wotmqDial(t, s, "gone", []byte{0x11, 0, 0, 0, 60}) // Session Expiry Interval 60 s
	defer old.c.Close()
	old.subscribe(t, 't', 1)
	old.disconnect(t)
	if _, ok := s.Topics.Subscribers("t").Subscriptions["gone"]; !ok {
		t.Fatal("the session lost its subscription before it expired")
	}
	s.clearExpiredClients(time.Now().Unix() + 3600)
	if _, ok := s.Clients.Get("gone"); ok {
		t.Error("the expired session is still in the client list")
	}
	if _, ok := s.Topics.Subscribers("t").Subscriptions["gone"]; ok {
		t.Error("the expired session is still in the topic index")
	}
	if n := atomic.LoadInt64(&s.Info.Subscriptions); n != 0 {
		t.Errorf("%d subscriptions counted, want 0", n)
	}
}

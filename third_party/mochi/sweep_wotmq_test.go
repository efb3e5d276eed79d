package mqtt

import (
	"strconv"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmqSweepServer is a server as the hub runs it (no maximum message
// expiry) holding idle clients, connected and with nothing in flight, and
// retained messages without an expiry, as the hub's twin state is.
func wotmqSweepServer(tb testing.TB, clients, retained int) *Server {
	tb.Helper()
	cc := NewDefaultServerCapabilities()
	cc.MaximumMessageExpiryInterval = 0
	s := New(&Options{Logger: logger, Capabilities: cc})
	for i := 0; i < clients; i++ {
		s.Clients.Add(s.NewClient(nil, "tcp", "client-"+strconv.Itoa(i), false))
	}
	for i := 0; i < retained; i++ {
		s.Topics.RetainMessage(packets.Packet{
			FixedHeader:     packets.FixedHeader{Type: packets.Publish, Retain: true, Qos: 1},
			TopicName:       "things/t" + strconv.Itoa(i) + "/properties/p",
			Payload:         make([]byte, 100),
			ProtocolVersion: 5,
			Created:         time.Now().Unix(),
		})
	}
	return s
}

// BenchmarkWotmqSweep is what the server's event loop does once a second
// to expire sessions, retained messages and inflight messages, with 10,000
// idle clients and 10,000 retained messages of which none can expire. The
// sweep runs once a second: its time per run, as %core, is the share of
// one core it takes.
func BenchmarkWotmqSweep(b *testing.B) {
	s := wotmqSweepServer(b, 10000, 10000)
	now := time.Now().Unix()
	for _, bc := range []struct {
		name  string
		sweep func(int64)
	}{
		{"Sessions", s.clearExpiredClients},
		{"Retained", s.clearExpiredRetainedMessages},
		{"Inflights", s.clearExpiredInflights},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				bc.sweep(now)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9*100, "%core")
		})
	}
}

// TestWotmqSweepExpires: the sweeps that now skip what cannot expire still
// expire what must, among idle clients and retained messages that stay.
func TestWotmqSweepExpires(t *testing.T) {
	now := time.Now().Unix()
	t.Run("Sessions", func(t *testing.T) {
		s := wotmqSweepServer(t, 100, 0)
		ended := func(id string, expiry uint32) *Client {
			cl := s.NewClient(nil, "tcp", id, false)
			cl.Properties.ProtocolVersion = 5
			cl.Properties.Props.SessionExpiryInterval = expiry
			cl.Properties.Props.SessionExpiryIntervalFlag = true
			cl.Stop(nil)
			cl.State.disconnected = now - 10
			s.Clients.Add(cl)
			return cl
		}
		ended("expired", 5)
		ended("kept", 60)
		s.clearExpiredClients(now)
		if _, ok := s.Clients.Get("expired"); ok {
			t.Error("the expired session is still listed")
		}
		if _, ok := s.Clients.Get("kept"); !ok {
			t.Error("the session that has not expired is gone")
		}
		if n := s.Clients.Len(); n != 101 {
			t.Errorf("%d clients listed, want 101", n)
		}
	})
	t.Run("Retained", func(t *testing.T) {
		s := wotmqSweepServer(t, 0, 100)
		retain := func(topic string, expiry int64) {
			s.Topics.RetainMessage(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true},
				TopicName: topic, Payload: []byte("x"), ProtocolVersion: 5, Created: now - 100, Expiry: expiry})
		}
		retain("a", now-1)  // expired
		retain("b", now+60) // not yet
		retain("c", now-1)  // replaced by one without an expiry
		retain("c", 0)
		if n := s.Topics.Retained.Expiring(); n != 2 {
			t.Fatalf("%d retained messages with an expiry, want 2", n)
		}
		s.clearExpiredRetainedMessages(now)
		if _, ok := s.Topics.Retained.Get("a"); ok {
			t.Error("the expired retained message is still there")
		}
		for _, topic := range []string{"b", "c"} {
			if _, ok := s.Topics.Retained.Get(topic); !ok {
				t.Errorf("retained message %q is gone", topic)
			}
		}
		if n := s.Topics.Retained.Len(); n != 102 {
			t.Errorf("%d retained messages, want 102", n)
		}
		if n := s.Topics.Retained.Expiring(); n != 1 {
			t.Errorf("%d retained messages with an expiry, want 1", n)
		}
		// A maximum expires every message older than it, expiry or not.
		s.Options.Capabilities.MaximumMessageExpiryInterval = 50
		s.clearExpiredRetainedMessages(now)
		if n := s.Topics.Retained.Len(); n != 100 {
			t.Errorf("%d retained messages after the maximum, want the 100 new ones", n)
		}
	})
	t.Run("Inflights", func(t *testing.T) {
		s := wotmqSweepServer(t, 100, 0)
		cl := s.NewClient(nil, "tcp", "busy", false)
		s.Clients.Add(cl)
		cl.State.Inflight.Set(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 1, ProtocolVersion: 5, Created: now - 100, Expiry: now - 1})
		cl.State.Inflight.Set(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 2, ProtocolVersion: 5, Created: now - 100, Expiry: now + 60})
		cl.State.Inflight.Set(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 3, ProtocolVersion: 5, Created: now - 100})
		s.clearExpiredInflights(now)
		if _, ok := cl.State.Inflight.Get(1); ok {
			t.Error("the expired inflight message is still there")
		}
		if n := cl.State.Inflight.Len(); n != 2 {
			t.Errorf("%d inflight messages, want 2", n)
		}
		s.Options.Capabilities.MaximumMessageExpiryInterval = 50
		s.clearExpiredInflights(now)
		if n := cl.State.Inflight.Len(); n != 0 {
			t.Errorf("%d inflight messages after the maximum, want 0", n)
		}
	})
}

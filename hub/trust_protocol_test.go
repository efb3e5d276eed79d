package hub_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// Protocol-level trust boundary (issue 12): connections that never send
// CONNECT, topic aliases and packet size, per-client subscription caps,
// shared subscriptions, and protocol violations Mochi used to accept. The
// packets are written byte by byte where a client library would refuse to
// send them.

// protoVarint is an MQTT variable byte integer (MQTT 5 §1.5.5).
func protoVarint(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// protoFrame is a packet: the first byte (type and flags), the remaining
// length and the body parts.
func protoFrame(first byte, body ...[]byte) []byte {
	var all []byte
	for _, b := range body {
		all = append(all, b...)
	}
	return append(append([]byte{first}, protoVarint(len(all))...), all...)
}

// protoStr is a UTF-8 string or binary data: two length bytes, then s.
func protoStr(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

// protoProps is a property list: its length, then the properties.
func protoProps(props ...[]byte) []byte {
	var all []byte
	for _, p := range props {
		all = append(all, p...)
	}
	return append(protoVarint(len(all)), all...)
}

// protoConnect is an MQTT 5 CONNECT with clean start, no keep alive, the
// given properties and client ID.
func protoConnect(props []byte, clientID string) []byte {
	return protoFrame(0x10, protoStr("MQTT"), []byte{5, 0x02, 0, 0}, props, protoStr(clientID))
}

// protoConn is a raw MQTT 5 connection to the hub.
type protoConn struct {
	net.Conn
	t  testing.TB
	br *bufio.Reader
}

func protoDial(t testing.TB, h *hub.Hub) *protoConn {
	t.Helper()
	c, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &protoConn{Conn: c, t: t, br: bufio.NewReader(c)}
}

// protoSession connects with a plain CONNECT and checks the CONNACK.
func protoSession(t testing.TB, h *hub.Hub, clientID string) (*protoConn, packets.Packet) {
	t.Helper()
	c := protoDial(t, h)
	c.write(protoConnect(protoProps(), clientID))
	ack, err := c.next()
	if err != nil || ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		t.Fatalf("connect %s: %+v %v", clientID, ack, err)
	}
	return c, ack
}

func (c *protoConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads one packet; the deadline only bounds a failing test.
func (c *protoConn) next() (packets.Packet, error) {
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	return hubtest.ReadPacket(c.br, 5)
}

// expect reads until a packet of type typ and returns it (PUBLISH and
// PUBACK packets on the way are skipped).
func (c *protoConn) expect(typ byte) packets.Packet {
	c.t.Helper()
	for {
		pk, err := c.next()
		if err != nil {
			c.t.Fatalf("want packet type %d, read: %v", typ, err)
		}
		if pk.FixedHeader.Type == typ {
			return pk
		}
	}
}

// closed waits until the hub closes the connection and returns the
// packets it sent before.
func (c *protoConn) closed() []packets.Packet {
	c.t.Helper()
	var got []packets.Packet
	for {
		pk, err := c.next()
		var ne net.Error
		switch {
		case err == nil:
			got = append(got, pk)
			continue
		case errors.As(err, &ne) && ne.Timeout():
			c.t.Fatalf("connection still open after 30s (got %s)", protoDescribe(got))
		}
		return got
	}
}

// disconnectedWith checks that the hub answered with DISCONNECT code
// (and closed the connection).
func (c *protoConn) disconnectedWith(what string, code byte) {
	c.t.Helper()
	got := c.closed()
	if len(got) == 0 || got[len(got)-1].FixedHeader.Type != packets.Disconnect || got[len(got)-1].ReasonCode != code {
		c.t.Errorf("%s: connection closed after %s, want DISCONNECT %#x", what, protoDescribe(got), code)
		return
	}
	if got[len(got)-1].Properties.ReasonString == "" {
		c.t.Errorf("%s: DISCONNECT %#x without a reason string", what, code)
	}
}

func protoDescribe(pks []packets.Packet) string {
	if len(pks) == 0 {
		return "nothing"
	}
	var s []string
	for _, pk := range pks {
		s = append(s, fmt.Sprintf("type %d code %#x %q", pk.FixedHeader.Type, pk.ReasonCode, pk.Properties.ReasonString))
	}
	return strings.Join(s, ", ")
}

// protoPublish is a QoS 1 PUBLISH with packet ID 1.
func protoPublish(topic string, props []byte, payload string) []byte {
	return protoFrame(0x32, protoStr(topic), []byte{0, 1}, props, []byte(payload))
}

func TestConnectTimeout(t *testing.T) {
	t.Run("SilentSocketIsClosed", func(t *testing.T) {
		h := startOpsHub(t, func(o *hub.Options) { o.Limits.ConnectTimeout = 200 * time.Millisecond })
		c := protoDial(t, h)
		if got := c.closed(); len(got) != 0 {
			t.Errorf("silent socket got %s", protoDescribe(got))
		}
		hubtest.WaitFor(t, "a counted connect timeout", func() bool {
			return scrape(t, h)["wotmq_connect_timeouts_total"] == 1
		})
	})
	t.Run("TrickledConnectIsClosed", func(t *testing.T) {
		// Half a CONNECT: the deadline covers the whole packet, not each read.
		h := startHub(t, t.TempDir(), func(o *hub.Options) { o.Limits.ConnectTimeout = 200 * time.Millisecond })
		c := protoDial(t, h)
		c.write(protoConnect(protoProps(), "trickle")[:6])
		if got := c.closed(); len(got) != 0 {
			t.Errorf("half a CONNECT got %s", protoDescribe(got))
		}
	})
	t.Run("ConnectedClientIsNotTimedOut", func(t *testing.T) {
		h := startHub(t, t.TempDir(), func(o *hub.Options) { o.Limits.ConnectTimeout = 200 * time.Millisecond })
		agent := registerLamp(t, h)
		c := dial(t, h, "consumer")
		c.subscribe(wot.EventTopic(lampID, "overheating"))
		// Well past the connect timeout (the keep alive is 30 s): the
		// subscription still delivers.
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("80"), nil)
			c.next(wot.EventTopic(lampID, "overheating"))
		}
	})
	t.Run("SilentSocketsCountAgainstMaxConnections", func(t *testing.T) {
		h := startOpsHub(t, func(o *hub.Options) {
			o.Limits.MaxConnections = 2
			o.Limits.ConnectTimeout = time.Hour
		})
		silent := []*protoConn{protoDial(t, h), protoDial(t, h)}
		hubtest.WaitFor(t, "two open sockets", func() bool { return scrape(t, h)["wotmq_sockets"] == 2 })
		// A client arriving now is refused with a reason, not left waiting.
		c := protoDial(t, h)
		c.write(protoConnect(protoProps(), "late"))
		if ack := c.expect(packets.Connack); ack.ReasonCode != 0x89 {
			t.Errorf("CONNACK %#x %q with two silent sockets open and --max-connections 2, want 0x89 server busy",
				ack.ReasonCode, ack.Properties.ReasonString)
		}
		hubtest.WaitFor(t, "the refused client gone", func() bool { return scrape(t, h)["wotmq_sockets"] == 2 })
		// A flood beyond the few sockets kept for such answers is closed
		// at once: 5 of these (which ones depends on the order the hub
		// takes them in).
		var flood []*protoConn
		ended := make(chan error, broker.ConnectRefusalSlots+5)
		for range broker.ConnectRefusalSlots + 5 {
			f := protoDial(t, h)
			flood = append(flood, f)
			go func() {
				_, err := f.br.ReadByte()
				ended <- err
			}()
		}
		for range 5 {
			select {
			case err := <-ended:
				if !errors.Is(err, io.EOF) {
					t.Errorf("flood socket ended with %v, want EOF", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no flood socket closed within 30s")
			}
		}
		if m := scrape(t, h); m["wotmq_sockets"] != float64(2+broker.ConnectRefusalSlots) || m["wotmq_sockets_refused_total"] != 5 {
			t.Errorf("wotmq_sockets %v, wotmq_sockets_refused_total %v; want %d and 5",
				m["wotmq_sockets"], m["wotmq_sockets_refused_total"], 2+broker.ConnectRefusalSlots)
		}
		for _, s := range append(silent, flood...) {
			s.Close()
		}
		hubtest.WaitFor(t, "room for a client", func() bool {
			c := protoDial(t, h)
			defer c.Close()
			c.write(protoConnect(protoProps(), "after"))
			pk, err := c.next()
			return err == nil && pk.FixedHeader.Type == packets.Connack && pk.ReasonCode == 0
		})
	})
}

func TestTopicAliasesAndPacketSize(t *testing.T) {
	h := startHub(t, t.TempDir(), func(o *hub.Options) { o.Limits.MaxPayload = 8 << 10 })
	t.Run("ConnackAnnouncesAliasMaximumAndPacketSize", func(t *testing.T) {
		_, ack := protoSession(t, h, "announce")
		if ack.Properties.TopicAliasMaximum != broker.TopicAliasMaximum {
			t.Errorf("CONNACK Topic Alias Maximum %d, want %d", ack.Properties.TopicAliasMaximum, broker.TopicAliasMaximum)
		}
		if want := uint32(8<<10 + broker.PacketOverhead); ack.Properties.MaximumPacketSize != want {
			t.Errorf("CONNACK Maximum Packet Size %d, want %d", ack.Properties.MaximumPacketSize, want)
		}
	})
	t.Run("AliasWithinMaximumIsResolved", func(t *testing.T) {
		agent := registerLamp(t, h)
		_ = agent.Disconnect(&paho.Disconnect{})
		event := wot.EventTopic(lampID, "overheating")
		sub := dial(t, h, "alias-sub")
		sub.subscribe(event)
		c, _ := protoSession(t, h, "lamp-agent") // development mode: the client ID is the account
		alias := []byte{35, 0, broker.TopicAliasMaximum}
		c.write(protoPublish(agentTopic(wot.TopicAgentEvent, "overheating"), protoProps(alias), "81"))
		if ack := c.expect(packets.Puback); ack.ReasonCode != 0 {
			t.Fatalf("PUBACK %#x %s", ack.ReasonCode, ack.Properties.ReasonString)
		}
		c.write(protoFrame(0x32, protoStr(""), []byte{0, 2}, protoProps(alias), []byte("82")))
		if ack := c.expect(packets.Puback); ack.ReasonCode != 0 {
			t.Fatalf("PUBACK %#x %s", ack.ReasonCode, ack.Properties.ReasonString)
		}
		for _, want := range []string{"81", "82"} {
			if m := sub.next(event); string(m.Payload) != want {
				t.Errorf("got %q, want %q", m.Payload, want)
			}
		}
	})
	t.Run("AliasAboveMaximumGetsDisconnect0x94", func(t *testing.T) {
		c, _ := protoSession(t, h, "alias-over")
		c.write(protoPublish("replies/alias-over/x", protoProps([]byte{35, 0, broker.TopicAliasMaximum + 1}), "x"))
		c.disconnectedWith("alias over the maximum", 0x94) // [MQTT-3.3.2-9]
	})
	t.Run("UnknownAliasGetsDisconnect0x82", func(t *testing.T) {
		c, _ := protoSession(t, h, "alias-unknown")
		c.write(protoFrame(0x32, protoStr(""), []byte{0, 1}, protoProps([]byte{35, 0, 1}), []byte("x")))
		c.disconnectedWith("alias never set", 0x82) // MQTT 5 §3.3.2.3.4
	})
	t.Run("OversizePacketGetsDisconnect0x95", func(t *testing.T) {
		c, _ := protoSession(t, h, "oversize")
		c.write(protoPublish("replies/oversize/x", protoProps(), strings.Repeat("x", 8<<10+broker.PacketOverhead)))
		c.disconnectedWith("packet over Maximum Packet Size", 0x95) // [MQTT-3.2.2-15] [MQTT-4.13.1-1]
	})
}

func TestMaxSubscriptions(t *testing.T) {
	h := startHub(t, t.TempDir(), func(o *hub.Options) { o.Limits.MaxSubscriptions = 3 })
	c := dial(t, h, "many")
	subscribe := func(filters ...string) *paho.Suback {
		s := &paho.Subscribe{}
		for _, f := range filters {
			s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sa, _ := c.Subscribe(ctx, s)
		if sa == nil || len(sa.Reasons) != len(filters) {
			t.Fatalf("subscribe %v: SUBACK %+v", filters, sa)
		}
		return sa
	}
	t.Run("FiltersBeyondTheCapGet0x97", func(t *testing.T) {
		subscribe("things/a/td", "things/b/td")
		sa := subscribe("things/c/td", "things/d/td", "things/e/td")
		if fmt.Sprint(sa.Reasons) != fmt.Sprint([]byte{1, 0x97, 0x97}) {
			t.Errorf("SUBACK reasons %#v, want [1 0x97 0x97]", sa.Reasons)
		}
		if sa.Properties == nil || !strings.Contains(sa.Properties.ReasonString, "3 subscriptions") {
			t.Errorf("SUBACK reason string %+v, want one naming the cap", sa.Properties)
		}
	})
	t.Run("ResubscribingIsNotANewSubscription", func(t *testing.T) {
		if sa := subscribe("things/a/td"); sa.Reasons[0] != 1 {
			t.Errorf("resubscribe: %#x", sa.Reasons[0])
		}
	})
	t.Run("UnsubscribingMakesRoom", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{"things/a/td"}}); err != nil {
			t.Fatal(err)
		}
		if sa := subscribe("things/f/td"); sa.Reasons[0] != 1 {
			t.Errorf("after unsubscribe: %#x", sa.Reasons[0])
		}
	})
	t.Run("DefaultIsACap", func(t *testing.T) {
		h := startHub(t, t.TempDir())
		c := protoDial(t, h)
		c.write(protoConnect(protoProps(), "default-cap"))
		c.expect(packets.Connack)
		var filters [][]byte
		for i := range broker.DefaultMaxSubscriptions + 1 {
			filters = append(filters, protoStr(fmt.Sprintf("things/t%d/td", i)), []byte{1})
		}
		c.write(protoFrame(0x82, append([][]byte{{0, 1}, protoProps()}, filters...)...))
		sa := c.expect(packets.Suback)
		if n := len(sa.ReasonCodes); n != broker.DefaultMaxSubscriptions+1 || sa.ReasonCodes[n-1] != 0x97 || sa.ReasonCodes[n-2] != 1 {
			t.Errorf("SUBACK of %d filters: last two %v, want [1 0x97]", n, sa.ReasonCodes[max(0, n-2):])
		}
	})
}

func TestSharedSubscriptions(t *testing.T) {
	h, _ := secureHub(t)
	owner := login(t, h, "owner", testPassword)
	event := wot.EventTopic("urn:t:owner", "e")
	shared := func(c *client, filter string) byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sa, _ := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
		if sa == nil || len(sa.Reasons) != 1 {
			t.Fatalf("%s: subscribe %s: %+v", c.ID, filter, sa)
		}
		return sa.Reasons[0]
	}
	// publish sends n events and returns what each consumer received once
	// want messages arrived in all.
	publish := func(n, want int, consumers ...*client) [][]string {
		base := time.Now().UnixNano()
		for i := range n {
			owner.mustPublish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "owner", ThingID: "urn:t:owner", Name: "e"}.String(),
				[]byte(fmt.Sprint(base+int64(i))), nil)
		}
		got := make([][]string, len(consumers))
		seen := 0
		deadline := time.After(30 * time.Second)
		for seen < want {
			progressed := false
			for i, c := range consumers {
				select {
				case m := <-c.Msgs:
					if m.Topic == event {
						got[i] = append(got[i], string(m.Payload))
						seen++
					}
					progressed = true
				default:
				}
			}
			if !progressed {
				select {
				case <-deadline:
					t.Fatalf("%d of %d events arrived", seen, want)
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
		return got
	}
	t.Run("ConsumersInOneGroupShareEvents", func(t *testing.T) {
		a, _, _ := tryLogin(t, h, "op-a", "r-operator", testPassword)
		b, _, _ := tryLogin(t, h, "op-b", "r-operator", testPassword)
		for _, c := range []*client{a, b} {
			if rc := shared(c, "$share/workers/things/+/events/e"); rc >= 0x80 {
				t.Fatalf("%s: share subscription refused: %#x", c.ID, rc)
			}
		}
		got := publish(40, 40, a, b)
		all := append(append([]string{}, got[0]...), got[1]...)
		sort.Strings(all)
		for i := 1; i < len(all); i++ {
			if all[i] == all[i-1] {
				t.Errorf("event %s delivered twice in one group", all[i])
			}
		}
		if len(got[0]) == 0 || len(got[1]) == 0 {
			t.Errorf("one consumer got every event (%d and %d of 40)", len(got[0]), len(got[1]))
		}
	})
	t.Run("GroupsBelongToAnAccount", func(t *testing.T) {
		// The same group name in another account is another group: a
		// viewer cannot take a share of the operator's events.
		op, _, _ := tryLogin(t, h, "op-c", "r-operator", testPassword)
		viewer, _, _ := tryLogin(t, h, "viewer-a", "r-viewer", testPassword)
		for _, c := range []*client{op, viewer} {
			if rc := shared(c, "$share/steal/things/urn:t:owner/events/e"); rc >= 0x80 {
				t.Fatalf("%s: share subscription refused: %#x", c.ID, rc)
			}
		}
		got := publish(20, 40, op, viewer)
		if len(got[0]) != 20 || len(got[1]) != 20 {
			t.Errorf("operator got %d and viewer %d of 20 events in groups of the same name, want each all 20", len(got[0]), len(got[1]))
		}
	})
	t.Run("ViewerCannotShareWhatItCannotSubscribe", func(t *testing.T) {
		viewer, _, _ := tryLogin(t, h, "viewer-b", "r-viewer", testPassword)
		for _, f := range []string{
			"$share/g/" + wot.RequestsTopic("owner"),
			"$share/g/agents/#",
			"$share/g/replies/owner/#",
			"$share/g/$SYS/#",
			"$share/g/#/x",
		} {
			if rc := shared(viewer, f); rc < 0x80 {
				t.Errorf("viewer share-subscribed to %s: %#x, want a refusal", f, rc)
			}
		}
		if rc := shared(viewer, "$share/g/"+wot.RequestsTopic("owner")); rc != 0x87 {
			t.Errorf("viewer on another agent's requests: %#x, want 0x87", rc)
		}
	})
}

func TestProtocolViolations(t *testing.T) {
	h := startHub(t, t.TempDir())
	u32 := func(id byte, v uint32) []byte { return []byte{id, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	u16 := func(id byte, v uint16) []byte { return []byte{id, byte(v >> 8), byte(v)} }
	for _, tc := range []struct {
		name  string
		props []byte
		code  byte
	}{
		{"DuplicateSessionExpiry", protoProps(u32(17, 10), u32(17, 20)), 0x82}, // MQTT 5 §3.1.2.11.2
		{"DuplicateReceiveMaximum", protoProps(u16(33, 5), u16(33, 5)), 0x82},
		{"ReceiveMaximumZero", protoProps(u16(33, 0)), 0x82},           // §3.1.2.11.3
		{"MaximumPacketSizeZero", protoProps(u32(39, 0)), 0x82},        // §3.1.2.11.4
		{"RequestProblemInfoTwo", protoProps([]byte{23, 2}), 0x82},     // §3.1.2.11.7
		{"RequestResponseInfoTwo", protoProps([]byte{25, 2}), 0x82},    // §3.1.2.11.6
		{"PropertyLengthPastPacket", []byte{40, 17, 0, 0, 0, 1}, 0x81}, // [MQTT-2.2.2-1]
	} {
		t.Run("Connect"+tc.name, func(t *testing.T) {
			c := protoDial(t, h)
			c.write(protoConnect(tc.props, "v-"+tc.name))
			got := c.closed()
			if len(got) != 1 || got[0].FixedHeader.Type != packets.Connack || got[0].ReasonCode != tc.code {
				t.Errorf("CONNECT with %s: %s, want CONNACK %#x", tc.name, protoDescribe(got), tc.code)
			}
		})
	}
	sub := func(props []byte, opts byte) []byte {
		return protoFrame(0x82, []byte{0, 1}, props, protoStr("things/x/td"), []byte{opts})
	}
	for _, tc := range []struct {
		name   string
		packet []byte
		code   byte
	}{
		{"PublishDuplicateMessageExpiry", protoPublish("replies/v/x", protoProps(u32(2, 5), u32(2, 6)), "x"), 0x82},
		{"PublishDuplicatePayloadFormat", protoPublish("replies/v/x", protoProps([]byte{1, 0}, []byte{1, 1}), "x"), 0x82},
		{"PublishTopicAliasZero", protoPublish("replies/v/x", protoProps(u16(35, 0)), "x"), 0x94}, // [MQTT-3.3.2-8]
		{"SubscribeIdentifierZero", sub(protoProps([]byte{11, 0}), 1), 0x82},                      // §3.8.2.1.2
		{"SubscribeTwoIdentifiers", sub(protoProps([]byte{11, 1}, []byte{11, 2}), 1), 0x82},       // §3.8.2.1.2
		{"SubscribeReservedOptionBits", sub(protoProps(), 0xC1), 0x81},                            // [MQTT-3.8.3-5]
		{"SubscribeRetainHandlingThree", sub(protoProps(), 0x31), 0x82},                           // §3.8.3.1
		{"SubscribeQoSThree", sub(protoProps(), 0x03), 0x82},                                      // §3.8.3.1
		{"SubscribeWithoutOptions", protoFrame(0x82, []byte{0, 1}, protoProps(), protoStr("things/x/td")), 0x81},
		{"SubscribeWrongFlags", protoFrame(0x80, []byte{0, 1}, protoProps(), protoStr("things/x/td"), []byte{1}), 0x81}, // [MQTT-3.8.1-1]
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := protoSession(t, h, "v-"+tc.name)
			c.write(tc.packet)
			c.disconnectedWith(tc.name, tc.code)
		})
	}
	t.Run("HubStillServes", func(t *testing.T) {
		agent := registerLamp(t, h)
		c := dial(t, h, "after-violations")
		c.subscribe(wot.EventTopic(lampID, "overheating"))
		agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("80"), nil)
		c.next(wot.EventTopic(lampID, "overheating"))
	})
}

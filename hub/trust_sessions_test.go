package hub_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// Tests of the trust boundary around sessions: Wills, who owns a session
// and its client ID, what a persistent session keeps while its client is
// away, and what a closing hub relays (docs/security.md).

// sessRaw is an MQTT connection written by hand with Mochi's encoders, in
// either protocol version, for CONNECTs paho will not send (3.1.1, empty
// passwords, Wills with forged properties).
type sessRaw struct {
	net.Conn
	tb  testing.TB
	ver byte
	br  *bufio.Reader
	id  uint16
}

// sessConnect sends pk (a CONNECT; its ProtocolVersion says which) and
// returns the connection and the CONNACK.
func sessConnect(tb testing.TB, h *hub.Hub, pk packets.Packet) (*sessRaw, packets.Packet) {
	tb.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	if pk.ProtocolVersion == 0 {
		pk.ProtocolVersion = 5
	}
	pk.FixedHeader.Type = packets.Connect
	if pk.Connect.ProtocolName == nil {
		pk.Connect.ProtocolName = []byte("MQTT")
	}
	r := &sessRaw{Conn: conn, tb: tb, ver: pk.ProtocolVersion, br: bufio.NewReader(conn)}
	r.send(pk)
	ack, ok := r.read()
	if !ok || ack.FixedHeader.Type != packets.Connack {
		tb.Fatalf("raw connect %s: no CONNACK: %+v", pk.Connect.ClientIdentifier, ack)
	}
	return r, ack
}

func (r *sessRaw) send(pk packets.Packet) {
	r.tb.Helper()
	pk.ProtocolVersion = r.ver
	if err := hubtest.WritePacket(r, pk); err != nil {
		r.tb.Fatal(err)
	}
}

// read reads the next packet; false when the connection ended (or
// nothing came within a generous deadline).
func (r *sessRaw) read() (packets.Packet, bool) {
	r.tb.Helper()
	_ = r.SetReadDeadline(time.Now().Add(30 * time.Second))
	pk, err := hubtest.ReadPacket(r.br, r.ver)
	if errors.Is(err, hubtest.ErrMalformed) {
		r.tb.Fatal(err)
	}
	return pk, err == nil
}

// sessWill is a CONNECT with credentials and a Will.
func sessWill(ver byte, clientID, user, pass, topic string, payload []byte, retain bool, user2 ...string) packets.Packet {
	pk := packets.Packet{ProtocolVersion: ver, Connect: packets.ConnectParams{
		Clean: true, ClientIdentifier: clientID, Keepalive: 30,
		Username: []byte(user), UsernameFlag: user != "", Password: []byte(pass), PasswordFlag: pass != "",
		WillFlag: true, WillTopic: topic, WillPayload: payload, WillRetain: retain, WillQos: 1,
	}}
	for i := 0; i+1 < len(user2); i += 2 {
		pk.Connect.WillProperties.User = append(pk.Connect.WillProperties.User, packets.UserProperty{Key: user2[i], Val: user2[i+1]})
	}
	return pk
}

// sessIsForged reports a message that carries what the Wills in these
// tests forge: their payload or their user properties.
func sessIsForged(m *paho.Publish) bool {
	if string(m.Payload) == `{"to":1}` {
		return true
	}
	for _, u := range m.Properties.User {
		if u.Key == wot.PropOp || u.Key == wot.PropActionID || u.Value == "r-admin" {
			return true
		}
	}
	return false
}

// sessForged are the user properties a Will must not carry into the hub's
// messages.
var sessForged = []string{wot.PropOp, "invokeaction", wot.PropName, "a", wot.PropSender, "r-admin", wot.PropActionID, "18ea17be8a066596"}

// TestWillAuthorization: a Will is decided like a publish by its account
// at CONNECT, and sent through the hub's routing, stamped, never as-is.
func TestWillAuthorization(t *testing.T) {
	h, logs := secureHub(t)
	owner := login(t, h, "owner", testPassword) // takes over secureHub's owner connection
	owner.subscribe(wot.RequestsTopic("owner"))
	viewer := login(t, h, "r-viewer", testPassword)
	viewer.subscribe("things/#")

	refusals := []struct {
		name, user, topic string
		retain            bool
		want              byte
	}{
		{"ViewerWillOnAgentRequests", "r-viewer", wot.RequestsTopic("owner"), false, 0x87},
		{"AgentWillOnAnotherAgentsRequests", "r-agent", wot.RequestsTopic("owner"), false, 0x87},
		{"WillOnTwinPropertyRetained", "owner", wot.PropertyTopic("urn:t:owner", "p"), true, 0x87},
		{"WillOnTwinTDRetained", "owner", wot.TDTopic("urn:t:owner"), true, 0x87},
		{"WillOnHubTD", "r-admin", wot.HubTDTopic, true, 0x87},
		{"WillOnAnotherAccountsReplies", "r-viewer", "replies/r-operator/x", false, 0x87},
		{"WillAsAnotherAgent", "r-agent", "agents/owner/things/urn:t:owner/events/e", false, 0x87},
		{"WillOutsideTheScheme", "r-admin", "somewhere/else", false, 0x87},
		{"WillOnMalformedHubTopic", "owner", "agents/owner/things", false, 0x90},
	}
	for _, c := range refusals {
		for _, ver := range []byte{5, 4} {
			t.Run(fmt.Sprintf("%sRefusedV%d", c.name, ver), func(t *testing.T) {
				pk := sessWill(ver, "w-"+c.user, c.user, testPassword, c.topic, []byte(`{"to":1}`), c.retain, sessForged...)
				conn, ack := sessConnect(t, h, pk)
				want := c.want
				if ver < 5 {
					want = 0x05 // 3.1.1 has only "not authorized"
				}
				if ack.ReasonCode != want {
					t.Errorf("CONNACK %#x %q, want %#x", ack.ReasonCode, ack.Properties.ReasonString, want)
				}
				if ver == 5 && !strings.HasPrefix(ack.Properties.ReasonString, "will: ") {
					t.Errorf("reason string %q does not name the Will", ack.Properties.ReasonString)
				}
				conn.Close() // an accepted Will would be sent now
			})
		}
	}
	t.Run("NoForgedMessageArrived", func(t *testing.T) {
		// Sentinels: a real request and a real event arrive first.
		op := login(t, h, "r-operator", testPassword)
		op.mustPublish(wot.ActionTopic("urn:t:owner", "a"), []byte("null"), nil)
		m := owner.next(wot.RequestsTopic("owner"))
		if userProp(m, wot.PropSender) != "r-operator" {
			t.Errorf("owner's first request is from %q: %s", userProp(m, wot.PropSender), m.Payload)
		}
		owner.answer(m, wot.StatusCompleted, nil)
		owner.mustPublish("agents/owner/things/urn:t:owner/events/e", []byte("7"), nil)
		for {
			m := viewer.next("")
			if sessIsForged(m) {
				t.Errorf("forged message on %s: %s", m.Topic, m.Payload)
			}
			if m.Topic == wot.EventTopic("urn:t:owner", "e") && string(m.Payload) == "7" {
				break
			}
		}
		fresh := login(t, h, "r-manager", testPassword)
		fresh.subscribe(wot.TDTopic("urn:t:owner"), wot.PropertyTopic("urn:t:owner", "p"), wot.HubTDTopic)
		for i := 0; i < 2; i++ { // the twin TD and the hub TD; the property has no value
			if m := fresh.next(""); sessIsForged(m) || !bytes.Contains(m.Payload, []byte(`"title"`)) {
				t.Errorf("retained %s: %s", m.Topic, m.Payload)
			}
		}
	})
	for _, ver := range []byte{5, 4} {
		t.Run(fmt.Sprintf("AgentWillOnOwnEventRoutedAndStampedV%d", ver), func(t *testing.T) {
			topic := "agents/owner/things/urn:t:owner/events/e"
			payload := fmt.Sprint(40 + ver)
			conn, ack := sessConnect(t, h, sessWill(ver, fmt.Sprint("owner-will-", ver), "owner", testPassword, topic, []byte(payload), false, sessForged...))
			if ack.ReasonCode != 0 {
				t.Fatalf("CONNACK %#x %q", ack.ReasonCode, ack.Properties.ReasonString)
			}
			conn.Close() // [MQTT-3.1.2-8] the Will is published when the connection ends without DISCONNECT
			m := viewer.next(wot.EventTopic("urn:t:owner", "e"))
			if string(m.Payload) != payload {
				t.Fatalf("event %s, want the Will's %s", m.Payload, payload)
			}
			if s := userProp(m, wot.PropSender); s != "owner" {
				t.Errorf("sender %q, want owner (stamped by the hub)", s)
			}
			for _, u := range m.Properties.User {
				if u.Key == wot.PropOp || u.Key == wot.PropActionID || (u.Key == wot.PropSender && u.Value != "owner") {
					t.Errorf("forged user property relayed: %s=%s", u.Key, u.Value)
				}
			}
		})
	}
	t.Run("ConsumerWillInvokesAsItself", func(t *testing.T) {
		conn, ack := sessConnect(t, h, sessWill(5, "op-will", "r-operator", testPassword, wot.ActionTopic("urn:t:owner", "a"), []byte("null"), false, sessForged...))
		if ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %#x %q", ack.ReasonCode, ack.Properties.ReasonString)
		}
		conn.Close()
		m := owner.next(wot.RequestsTopic("owner"))
		if userProp(m, wot.PropSender) != "r-operator" || userProp(m, wot.PropName) != "a" {
			t.Errorf("request from the Will: sender %q name %q", userProp(m, wot.PropSender), userProp(m, wot.PropName))
		}
	})
	t.Run("NormalDisconnectSendsNoWill", func(t *testing.T) {
		conn, ack := sessConnect(t, h, sessWill(5, "owner-quiet", "owner", testPassword, "agents/owner/things/urn:t:owner/events/e", []byte("99"), false))
		if ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %#x", ack.ReasonCode)
		}
		_, _ = conn.Write([]byte{0xE0, 0x00}) // DISCONNECT 0x00 [MQTT-3.1.2-10]
		_, _ = conn.Read(make([]byte, 1))     // the hub closes the connection
		owner.mustPublish("agents/owner/things/urn:t:owner/events/e", []byte("8"), nil)
		if m := viewer.next(wot.EventTopic("urn:t:owner", "e")); string(m.Payload) != "8" {
			t.Errorf("event %s after a normal DISCONNECT, want the sentinel 8", m.Payload)
		}
	})
	t.Run("DelayedWillSentAfterItsDelay", func(t *testing.T) {
		pk := sessWill(5, "owner-late", "owner", testPassword, "agents/owner/things/urn:t:owner/events/e", []byte("77"), false)
		pk.Connect.WillProperties.WillDelayInterval = 1
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
		conn, ack := sessConnect(t, h, pk)
		if ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %#x", ack.ReasonCode)
		}
		conn.Close()
		if m := viewer.next(wot.EventTopic("urn:t:owner", "e")); string(m.Payload) != "77" {
			t.Errorf("event %s, want the delayed Will's 77", m.Payload)
		}
	})
	t.Run("RefusalLogged", func(t *testing.T) {
		if !strings.Contains(logs.String(), "will: ") {
			t.Error("no log line for a refused Will")
		}
	})
}

// TestConnectEmptyPasswordAndWillPayload: a zero-length password and a
// Will with an empty payload are valid MQTT 5 [MQTT-3.1.3-11] [MQTT-3.1.2-9].
func TestConnectEmptyPasswordAndWillPayload(t *testing.T) {
	h := startHub(t, t.TempDir())
	t.Run("EmptyPasswordDecidedByCredentials", func(t *testing.T) {
		pk := packets.Packet{ProtocolVersion: 5, Connect: packets.ConnectParams{Clean: true, ClientIdentifier: "empty-pw",
			Username: []byte("dev-user"), UsernameFlag: true, PasswordFlag: true}}
		_, ack := sessConnect(t, h, pk)
		if ack.ReasonCode != 0 { // a development hub admits it from loopback
			t.Errorf("CONNACK %#x %q, want 0", ack.ReasonCode, ack.Properties.ReasonString)
		}
	})
	t.Run("EmptyWillPayloadAccepted", func(t *testing.T) {
		pk := sessWill(5, "empty-will", "", "", "agents/empty-will/things/urn:t:x/events/e", nil, false)
		_, ack := sessConnect(t, h, pk)
		if ack.ReasonCode != 0 {
			t.Errorf("CONNACK %#x %q, want 0", ack.ReasonCode, ack.Properties.ReasonString)
		}
	})
	t.Run("EmptyPasswordWrongForAnAccount", func(t *testing.T) {
		hs, _ := secureHub(t)
		pk := packets.Packet{ProtocolVersion: 5, Connect: packets.ConnectParams{Clean: true, ClientIdentifier: "empty-pw",
			Username: []byte("r-viewer"), UsernameFlag: true, PasswordFlag: true}}
		if _, ack := sessConnect(t, hs, pk); ack.ReasonCode != 0x86 {
			t.Errorf("CONNACK %#x %q, want 0x86", ack.ReasonCode, ack.Properties.ReasonString)
		}
	})
}

// sessPersistent connects an MQTT 5 client with clean start 0 and a
// session expiry, and returns it and whether the CONNACK said session
// present (rc is the CONNACK reason code).
func sessPersistent(t *testing.T, h *hub.Hub, clientID, user string) (*client, bool, byte) {
	t.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{hubtest.NewClient(t, conn, clientID)}
	expiry := uint32(3600)
	cp := &paho.Connect{ClientID: clientID, CleanStart: false, KeepAlive: 30,
		Username: user, UsernameFlag: true, Password: []byte(testPassword), PasswordFlag: true,
		// RequestProblemInfo: paho sends the flag with its properties, and
		// Mochi strips user properties when it is 0.
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry, RequestProblemInfo: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		if ca != nil {
			return nil, false, ca.ReasonCode
		}
		t.Fatalf("connect %s: %v", clientID, err)
	}
	return c, ca.SessionPresent, 0
}

// TestSessionOwnership: a session and its client ID belong to an
// account; another account using the same client ID gets its own.
func TestSessionOwnership(t *testing.T) {
	h, _ := secureHub(t)
	op := login(t, h, "r-operator", testPassword)
	t.Run("AnotherAccountCannotTakeADisconnectedSession", func(t *testing.T) {
		a, present, _ := sessPersistent(t, h, "shared-id", "r-agent")
		if present {
			t.Fatal("fresh session present")
		}
		a.subscribe(wot.RequestsTopic("r-agent"), "replies/r-agent/#")
		_ = a.Disconnect(&paho.Disconnect{})
		<-a.Done()
		v, present, rc := sessPersistent(t, h, "shared-id", "r-viewer")
		if v == nil {
			t.Fatalf("viewer refused: %#x", rc)
		}
		if present {
			t.Error("viewer got session present for the agent's session")
		}
		_ = v.Disconnect(&paho.Disconnect{})
		<-v.Done()
		// The agent's own session is still there.
		a2, present, _ := sessPersistent(t, h, "shared-id", "r-agent")
		if a2 == nil || !present {
			t.Error("the agent lost its session to another account's client ID")
		}
	})
	t.Run("ClientIDOfAnotherAccountConnectsBeside", func(t *testing.T) {
		agent, _, _ := tryLogin(t, h, "squat", "owner", testPassword)
		if agent == nil {
			t.Fatal("agent refused")
		}
		agent.subscribe(wot.RequestsTopic("owner"))
		viewer, rc, reason := tryLogin(t, h, "squat", "r-viewer", testPassword)
		if viewer == nil {
			t.Fatalf("viewer with the agent's client ID refused: %#x %s", rc, reason)
		}
		// Neither disconnected the other: the agent still gets requests,
		// the viewer still gets events.
		viewer.subscribe(wot.EventTopic("urn:t:owner", "e"))
		op.mustPublish(wot.ActionTopic("urn:t:owner", "a"), []byte("null"), nil)
		if m := agent.next(wot.RequestsTopic("owner")); userProp(m, wot.PropSender) != "r-operator" {
			t.Errorf("request from %q", userProp(m, wot.PropSender))
		}
		agent.mustPublish("agents/owner/things/urn:t:owner/events/e", []byte("3"), nil)
		if m := viewer.next(wot.EventTopic("urn:t:owner", "e")); string(m.Payload) != "3" {
			t.Errorf("event %s", m.Payload)
		}
		// And the same account with the same ID still takes its own
		// session over [MQTT-3.1.4-3].
		again, _, _ := tryLogin(t, h, "squat", "owner", testPassword)
		if again == nil {
			t.Fatal("agent's reconnect refused")
		}
		select {
		case <-agent.Done():
		case <-time.After(30 * time.Second):
			t.Error("the agent's older connection was not taken over")
		}
		select {
		case <-viewer.Done():
			t.Error("the viewer was disconnected by another account's takeover")
		default:
		}
	})
}

// TestOfflineQueue: a persistent session gets what was published for it
// while its client was away, for every role's permitted topics.
func TestOfflineQueue(t *testing.T) {
	h, _ := secureHub(t)
	owner := login(t, h, "owner", testPassword)
	owner.subscribe(wot.RequestsTopic("owner"))
	event := wot.EventTopic("urn:t:owner", "e")
	t.Run("EventsWhileAway", func(t *testing.T) {
		v, _, _ := sessPersistent(t, h, "offline-viewer", "r-viewer")
		v.subscribe(event, wot.PropertyTopic("urn:t:owner", "p"))
		_ = v.Disconnect(&paho.Disconnect{})
		<-v.Done()
		// Twenty within about a second: they must come back in the order
		// they were published [MQTT-4.6.0-6] (Mochi resent a session's
		// queue in random order; third_party/mochi TestWotmqInflightOrder).
		const queued = 20
		for i := 1; i <= queued; i++ {
			owner.mustPublish("agents/owner/things/urn:t:owner/events/e", []byte(fmt.Sprint(i)), nil)
		}
		owner.mustPublish("agents/owner/things/urn:t:owner/properties/p", []byte("42"), nil)
		v, present, _ := sessPersistent(t, h, "offline-viewer", "r-viewer")
		if !present {
			t.Fatal("session not present")
		}
		for i := 1; i <= queued; i++ {
			m := v.next(event)
			if string(m.Payload) != fmt.Sprint(i) || userProp(m, wot.PropSender) != "owner" {
				t.Errorf("event %d: %s from %q", i, m.Payload, userProp(m, wot.PropSender))
			}
		}
		if m := v.next(wot.PropertyTopic("urn:t:owner", "p")); string(m.Payload) != "42" {
			t.Errorf("property value while away: %s", m.Payload)
		}
	})
	t.Run("RepliesWhileAway", func(t *testing.T) {
		o, _, _ := sessPersistent(t, h, "offline-operator", "r-operator")
		o.subscribe("replies/r-operator/#")
		o.mustPublish(wot.ActionTopic("urn:t:owner", "a"), []byte("null"), reply("replies/r-operator/a", []byte("c1")))
		req := owner.next(wot.RequestsTopic("owner"))
		_ = o.Disconnect(&paho.Disconnect{})
		<-o.Done()
		owner.answer(req, wot.StatusCompleted, []byte("1"))
		o, _, _ = sessPersistent(t, h, "offline-operator", "r-operator")
		if _, m := o.statusSeq("replies/r-operator/a"); userProp(m, wot.PropStatus) != string(wot.StatusCompleted) {
			t.Errorf("reply while away: status %q", userProp(m, wot.PropStatus))
		}
	})
	t.Run("SessionExpiryCapped", func(t *testing.T) {
		hc := startHub(t, t.TempDir(), func(o *hub.Options) { o.Limits.MaxSessionExpiry = time.Minute })
		conn, ack := sessConnect(t, hc, packets.Packet{ProtocolVersion: 5, Connect: packets.ConnectParams{ClientIdentifier: "long"},
			Properties: packets.Properties{SessionExpiryInterval: 1 << 30, SessionExpiryIntervalFlag: true}})
		defer conn.Close()
		if ack.ReasonCode != 0 || ack.Properties.SessionExpiryInterval != 60 {
			t.Errorf("CONNACK %#x session expiry %d, want 60 [MQTT-3.2.2-19]", ack.ReasonCode, ack.Properties.SessionExpiryInterval)
		}
	})
}

// TestShutdownRelaysNothing: while the hub closes, a client's publish on
// a hub-only topic (QoS 0, or MQTT 3.1.1) is dropped, never relayed as-is.
// An HTTP request whose body is still on its way keeps Close waiting for
// it (up to its grace period) after the hub stopped handling messages and
// before the MQTT clients are disconnected: in that window a forged event
// is published, then a retained message is fetched through the same
// subscriber queue as a sentinel.
func TestShutdownRelaysNothing(t *testing.T) {
	h := startHub(t, t.TempDir(), withHTTP, func(o *hub.Options) { o.MetricsAddr = "127.0.0.1:0" })
	agent := dial(t, h, "lamp-agent")
	agent.mustPublish("agents/lamp-agent/things/urn:t:lamp/td", thingTD("urn:t:lamp"), nil)
	event := wot.EventTopic("urn:t:lamp", "e")
	sub, ack := sessConnect(t, h, packets.Packet{ProtocolVersion: 5, Connect: packets.ConnectParams{Clean: true, ClientIdentifier: "watcher"}})
	if ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %#x", ack.ReasonCode)
	}
	sub.id++
	sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: sub.id,
		Filters: packets.Subscriptions{{Filter: event, Qos: 1}}})
	if pk, _ := sub.read(); pk.FixedHeader.Type != packets.Suback {
		t.Fatalf("SUBACK: %+v", pk)
	}
	pubs := map[byte]*sessRaw{}
	for _, ver := range []byte{5, 4} {
		pubs[ver], ack = sessConnect(t, h, packets.Packet{ProtocolVersion: ver, Connect: packets.ConnectParams{Clean: true, ClientIdentifier: fmt.Sprint("forger-", ver)}})
		if ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %#x", ack.ReasonCode)
		}
	}

	// Hold Close in its HTTP grace period: a request body that never ends.
	web, err := net.Dial("tcp", h.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	// Expect: 100-continue: the hub answers 100 once its handler reads the
	// body, so the request is known to be in its handler.
	fmt.Fprintf(web, "POST /things/urn:t:lamp/actions/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
	_ = web.SetReadDeadline(time.Now().Add(30 * time.Second))
	if line, err := bufio.NewReader(web).ReadString('\n'); err != nil || !strings.Contains(line, "100") {
		t.Fatalf("HTTP: %q %v", line, err)
	}
	fmt.Fprint(web, "{")
	metrics := h.MetricsAddr()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.Close() }()
	defer wg.Wait()
	// The metrics listener closes right after the hub stops handling
	// messages, before it waits for HTTP.
	hubtest.WaitFor(t, "the hub to begin closing", func() bool {
		c, err := net.Dial("tcp", metrics)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	for ver, p := range pubs {
		for qos := byte(0); qos <= 1; qos++ {
			p.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos}, PacketID: uint16(qos),
				TopicName: event, Payload: []byte(fmt.Sprintf(`"forged v%d qos%d"`, ver, qos))})
		}
		p.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
		for { // the publishes were handled once the PINGRESP is here
			pk, ok := p.read()
			if !ok {
				t.Fatalf("v%d: the hub closed the connection before the PINGRESP: the window closed too early", ver)
			}
			if pk.FixedHeader.Type == packets.Pingresp {
				break
			}
		}
	}
	// Sentinel: the twin TD, retained, comes through the same queue.
	sub.id++
	sub.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: sub.id,
		Filters: packets.Subscriptions{{Filter: wot.TDTopic("urn:t:lamp"), Qos: 0}}})
	for {
		pk, ok := sub.read()
		if !ok {
			t.Fatal("the hub closed the subscriber before the sentinel: the window closed too early")
		}
		if pk.FixedHeader.Type != packets.Publish {
			continue
		}
		if pk.TopicName == wot.TDTopic("urn:t:lamp") {
			break
		}
		t.Errorf("relayed during shutdown on %s: %s", pk.TopicName, pk.Payload)
	}
}

package hub_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// takeoverAgentConn connects a client of account lamp-agent on a socket the
// test holds, so that the test can drop it without a DISCONNECT.
func takeoverAgentConn(t *testing.T, h *hub.Hub, clientID string) (*client, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{hubtest.NewClient(t, conn, clientID)}
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30, Username: "lamp-agent", UsernameFlag: true}); err != nil {
		t.Fatalf("%s: connect: %v", clientID, err)
	}
	return c, conn
}

// takeoverNextRequest returns the next request for lamp-agent on c that is
// not one of the skipped action IDs.
func takeoverNextRequest(c *client, skip string) *paho.Publish {
	c.TB.Helper()
	for {
		m := c.next(wot.RequestsTopic("lamp-agent"))
		if userProp(m, wot.PropActionID) != skip {
			return m
		}
	}
}

// TestRedeliverWhenReceiverDrops: a request delivered on connection A of an
// agent is delivered again on its connection B, which subscribed after the
// delivery, when A drops while B stays (B never saw it; before, it stayed
// delivered until all of the agent's connections ended).
func TestRedeliverWhenReceiverDrops(t *testing.T) {
	h := startHub(t, t.TempDir())
	a, aConn := takeoverAgentConn(t, h, "lamp-a")
	a.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: lampID}.String(), lampTD(t), nil)
	a.subscribe(wot.RequestsTopic("lamp-agent"))
	consumer := dial(t, h, "consumer")
	consumer.subscribe("replies/consumer")

	consumer.mustPublish(wot.ActionTopic(lampID, "fade"), []byte(`{"to":30}`), reply("replies/consumer", []byte("c-1")))
	first := a.next(wot.RequestsTopic("lamp-agent"))
	id := userProp(first, wot.PropActionID)

	b := dial(t, h, "lamp-b", withUser("lamp-agent"))
	b.subscribe(wot.RequestsTopic("lamp-agent"))
	// A sentinel: B receives requests delivered after it subscribed, and
	// this one comes after the first in the agent's order.
	consumer.mustPublish(wot.ActionTopic(lampID, "toggle"), nil, reply("replies/consumer", []byte("c-2")))
	sentinel := b.next(wot.RequestsTopic("lamp-agent"))
	if userProp(sentinel, wot.PropActionID) == id {
		t.Fatalf("B got the first request before A dropped")
	}

	aConn.Close() // no DISCONNECT
	again := takeoverNextRequest(b, userProp(sentinel, wot.PropActionID))
	if got := userProp(again, wot.PropActionID); got != id {
		t.Fatalf("B got request %s, want %s again", got, id)
	}
	if userProp(again, wot.PropRedelivered) == "" {
		t.Errorf("the repeated request lacks the %s user property", wot.PropRedelivered)
	}
	b.answer(again, wot.StatusCompleted, []byte(`30`))
	b.answer(sentinel, wot.StatusCompleted, []byte(`true`))
	for done := 0; done < 2; {
		if userProp(consumer.next("replies/consumer"), wot.PropStatus) == string(wot.StatusCompleted) {
			done++
		}
	}
}

// takeoverRaw is an agent connection of raw packets: its CONNECT and
// SUBSCRIBE go out in one write, so the hub handles the subscription as
// soon as it can after a takeover, often before the old connection's end.
type takeoverRaw struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func takeoverDialRaw(t *testing.T, h *hub.Hub) *takeoverRaw {
	t.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var buf bytes.Buffer
	for _, pk := range []packets.Packet{
		{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "lamp-agent", Keepalive: 30}},
		{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1, Filters: packets.Subscriptions{{Filter: wot.RequestsTopic("lamp-agent"), Qos: 1}}},
	} {
		if err := hubtest.WritePacket(&buf, pk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	return &takeoverRaw{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// request reads packets until a request arrives, acknowledges it and
// returns it.
func (c *takeoverRaw) request() packets.Packet {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(hubtest.Timeout))
	for {
		pk, err := hubtest.ReadPacket(c.r, 5)
		if err != nil {
			c.t.Fatalf("no request: %v", err)
		}
		if pk.FixedHeader.Type == packets.Suback && (len(pk.ReasonCodes) != 1 || pk.ReasonCodes[0] >= 0x80) {
			c.t.Fatalf("SUBACK %v", pk.ReasonCodes)
		}
		if pk.FixedHeader.Type != packets.Publish || pk.TopicName != wot.RequestsTopic("lamp-agent") {
			continue
		}
		if err := hubtest.WritePacket(c.conn, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID}); err != nil {
			c.t.Fatal(err)
		}
		return pk
	}
}

// complete answers a request with completed and waits for the PUBACK.
func (c *takeoverRaw) complete(req packets.Packet) {
	c.t.Helper()
	err := hubtest.WritePacket(c.conn, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 2, TopicName: wot.RepliesTopic("lamp-agent"),
		Properties: packets.Properties{User: []packets.UserProperty{{Key: wot.PropActionID, Val: takeoverProp(req, wot.PropActionID)}}}, Payload: []byte("1")})
	if err != nil {
		c.t.Fatal(err)
	}
	for {
		pk, err := hubtest.ReadPacket(c.r, 5)
		if err != nil {
			c.t.Fatalf("no PUBACK: %v", err)
		}
		if pk.FixedHeader.Type == packets.Puback {
			if pk.ReasonCode >= 0x80 {
				c.t.Fatalf("reply refused: %#x %s", pk.ReasonCode, pk.Properties.ReasonString)
			}
			return
		}
	}
}

func takeoverProp(pk packets.Packet, key string) string {
	for _, u := range pk.Properties.User {
		if u.Key == key {
			return u.Val
		}
	}
	return ""
}

// TestRedeliverOnTakeover: the agent reconnects with its client ID and a
// clean start while its old socket is still open; Mochi takes the session
// over, and the new connection may subscribe before the hub handled the
// old one's end. The request delivered on the old connection arrives on the
// new one, whichever comes first. Several rounds, since the order varies
// (on an idle machine the old connection's end mostly comes first; the
// core's TestHandOver/NewSubscribesBeforeOldEnds sets the other order).
func TestRedeliverOnTakeover(t *testing.T) {
	h := startHub(t, t.TempDir())
	registerLamp(t, h).Disconnect(&paho.Disconnect{})
	consumer := dial(t, h, "consumer")
	consumer.subscribe("replies/consumer")
	cur := takeoverDialRaw(t, h)
	for round := range 20 {
		consumer.mustPublish(wot.ActionTopic(lampID, "fade"), []byte(fmt.Sprintf(`{"to":%d}`, round)), reply("replies/consumer", []byte(fmt.Sprint(round))))
		id := takeoverProp(cur.request(), wot.PropActionID)

		next := takeoverDialRaw(t, h) // takes the session over
		again := next.request()
		if got := takeoverProp(again, wot.PropActionID); got != id {
			t.Fatalf("round %d: the new connection got request %s, want %s", round, got, id)
		}
		if takeoverProp(again, wot.PropRedelivered) == "" {
			t.Errorf("round %d: the repeated request lacks the %s user property", round, wot.PropRedelivered)
		}
		next.complete(again)
		for userProp(consumer.next("replies/consumer"), wot.PropStatus) != string(wot.StatusCompleted) {
		}
		cur = next
	}
}

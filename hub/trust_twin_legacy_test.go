package hub_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// twinV311 is a raw MQTT 3.1.1 client (protocol version 4) on Mochi's
// packet encoders: paho.golang speaks MQTT 5 only.
type twinV311 struct {
	conn net.Conn
	br   *bufio.Reader
	tb   testing.TB
	id   uint16
	// pubs queues the PUBLISH packets read while waiting for another.
	pubs []packets.Packet
}

func twinDial311(tb testing.TB, h *hub.Hub, clientID string) *twinV311 {
	tb.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	c := &twinV311{conn: conn, br: bufio.NewReader(conn), tb: tb}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: clientID, Keepalive: 60}})
	if ack := c.await(packets.Connack); ack.ReasonCode != 0 {
		tb.Fatalf("3.1.1 connect: return code %#x", ack.ReasonCode)
	}
	return c
}

func (c *twinV311) send(pk packets.Packet) {
	c.tb.Helper()
	pk.ProtocolVersion = 4
	if err := hubtest.WritePacket(c.conn, pk); err != nil {
		c.tb.Fatal(err)
	}
}

// readPacket reads one packet, acknowledging a QoS 1 PUBLISH.
func (c *twinV311) readPacket() packets.Packet {
	c.tb.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // a failure bound only
	pk, err := hubtest.ReadPacket(c.br, 4)
	if err != nil {
		c.tb.Fatalf("3.1.1 read: %v", err)
	}
	if pk.FixedHeader.Type == packets.Publish && pk.FixedHeader.Qos == 1 {
		c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
	}
	return pk
}

// await reads until a packet of type typ, queueing publishes.
func (c *twinV311) await(typ byte) packets.Packet {
	c.tb.Helper()
	for {
		pk := c.readPacket()
		if pk.FixedHeader.Type == typ {
			return pk
		}
		if pk.FixedHeader.Type == packets.Publish {
			c.pubs = append(c.pubs, pk)
		}
	}
}

// nextPublish returns the next PUBLISH whose topic has the prefix.
func (c *twinV311) nextPublish(prefix string) packets.Packet {
	c.tb.Helper()
	for {
		var pk packets.Packet
		if len(c.pubs) > 0 {
			pk, c.pubs = c.pubs[0], c.pubs[1:]
		} else {
			pk = c.await(packets.Publish)
		}
		if strings.HasPrefix(pk.TopicName, prefix) {
			return pk
		}
	}
}

func (c *twinV311) subscribe(filter string) {
	c.tb.Helper()
	c.id++
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: c.id,
		Filters: packets.Subscriptions{{Filter: filter, Qos: 1}}})
	if ack := c.await(packets.Suback); len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] >= 0x80 {
		c.tb.Fatalf("3.1.1 subscribe %s: %v", filter, ack.ReasonCodes)
	}
}

// publish sends a QoS 1 PUBLISH and waits for its PUBACK (3.1.1 has no
// reason codes: a refused publish is acknowledged too).
func (c *twinV311) publish(topic string, payload []byte) {
	c.tb.Helper()
	c.id++
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: c.id, TopicName: topic, Payload: payload})
	c.await(packets.Puback)
}

const twinOldTD = `,"actions":{"go":{"input":{"type":"integer"},"output":{"type":"integer"}}}`

// twinOutcome waits on the consumer for a reply with a final status.
func twinOutcome(tb testing.TB, c *client, topic string) (status, errCode string, payload []byte) {
	tb.Helper()
	for {
		m := twinNext(tb, c, topic)
		if s := userProp(m, wot.PropStatus); wot.Status(s).Final() {
			return s, userProp(m, wot.PropError), m.Payload
		}
	}
}

// TestMQTT311Agent: an MQTT 3.1.1 agent receives requests with their
// action ID as a topic level and answers on a topic that names it; a 3.1.1
// agent that subscribed where it cannot learn the ID never leaves an
// action stuck delivered and busy.
func TestMQTT311Agent(t *testing.T) {
	h := startHub(t, t.TempDir())
	consumer := dial(t, h, "app")
	consumer.subscribe("replies/app/#")
	invoke := func(thing, corr string, input string) string {
		consumer.mustPublish(wot.ActionTopic(thing, "go"), []byte(input), reply("replies/app/"+corr, []byte(corr)))
		return "replies/app/" + corr
	}

	t.Run("RequestCarriesActionIDAndReplyCompletes", func(t *testing.T) {
		agent := twinDial311(t, h, "old")
		agent.publish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "old", ThingID: "urn:old"}.String(), tdWith("urn:old", twinOldTD))
		agent.subscribe(wot.LegacyRequestsFilter("old")) // agents/old/requests/+/+/+/+
		for i, in := range []string{"7", "8"} {
			replies := invoke("urn:old", "c"+in, in)
			req := agent.nextPublish("agents/old/requests/")
			tp, err := wot.ParseTopic(req.TopicName)
			if err != nil || tp.ThingID != "urn:old" || tp.Op != wot.OpInvokeAction || tp.Name != "go" || tp.ActionID == "" {
				t.Fatalf("request %d on %s (%+v, %v), want .../urn:old/invokeaction/go/{actionID}", i, req.TopicName, tp, err)
			}
			if string(req.Payload) != in {
				t.Errorf("request payload %q, want %q", req.Payload, in)
			}
			// Progress, then the outcome, named by the action ID in the topic.
			agent.publish(wot.LegacyReplyTopic("old", tp.ActionID, wot.StatusRunning), nil)
			agent.publish(wot.LegacyReplyTopic("old", tp.ActionID, wot.StatusCompleted), []byte(in))
			// The second request would be refused busy if the first had
			// stayed delivered.
			if st, code, out := twinOutcome(t, consumer, replies); st != "completed" || string(out) != in {
				t.Fatalf("request %d: %s %s %q, want completed %s", i, st, code, out, in)
			}
		}
		replies := invoke("urn:old", "cf", "9")
		req := agent.nextPublish("agents/old/requests/")
		tp, _ := wot.ParseTopic(req.TopicName)
		agent.publish(wot.LegacyReplyTopic("old", tp.ActionID, wot.StatusFailed), []byte(`"jammed"`))
		if st, code, out := twinOutcome(t, consumer, replies); st != "failed" || code != string(wot.CodeAgentError) || !strings.Contains(string(out), "jammed") {
			t.Errorf("failed reply: %s %s %s, want failed agent_error jammed", st, code, out)
		}
	})

	t.Run("SubscribedToMQTT5TopicStaysOfflineNotBusy", func(t *testing.T) {
		agent := twinDial311(t, h, "old2")
		agent.publish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "old2", ThingID: "urn:old2"}.String(), tdWith("urn:old2", twinOldTD))
		agent.subscribe(wot.RequestsTopic("old2")) // no action ID can reach it here
		first := invoke("urn:old2", "p1", "1")
		if m := twinNext(t, consumer, first); userProp(m, wot.PropStatus) != string(wot.StatusPending) {
			t.Fatalf("first request: %s, want pending (the agent cannot receive it answerable)", userProp(m, wot.PropStatus))
		}
		// A second request replaces the waiting one instead of being
		// refused busy behind an unanswerable delivered one.
		second := invoke("urn:old2", "p2", "2")
		if st, code, _ := twinOutcome(t, consumer, first); st != "failed" || code != string(wot.CodeSuperseded) {
			t.Fatalf("first request: %s %s, want failed superseded", st, code)
		}
		// Subscribing the 3.1.1 way delivers it, answerable.
		agent.subscribe(wot.LegacyRequestsFilter("old2"))
		req := agent.nextPublish("agents/old2/requests/")
		tp, _ := wot.ParseTopic(req.TopicName)
		if string(req.Payload) != "2" || tp.ActionID == "" {
			t.Fatalf("request on %s: %q", req.TopicName, req.Payload)
		}
		agent.publish(wot.LegacyReplyTopic("old2", tp.ActionID, wot.StatusCompleted), []byte("2"))
		if st, code, _ := twinOutcome(t, consumer, second); st != "completed" {
			t.Errorf("second request: %s %s, want completed", st, code)
		}
	})
}

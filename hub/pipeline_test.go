package hub_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// An agent's publishes are handled off the connection's read goroutine
// (broker/pipeline.go), in the order they were read. The test writes a
// burst in one go, so the hub reads them while earlier ones are still
// being stored: QoS 0 and QoS 1 events, a refused one among them and a
// property, then checks that the PUBACKs come in order with the refusal
// at its place, that a consumer gets the events in order, and that the
// history holds each accepted one once, in order.
func TestPipelineKeepsAConnectionsOrder(t *testing.T) {
	h := startHub(t, t.TempDir())
	consumer := dial(t, h, "pipeline-consumer")
	consumer.subscribe(wot.EventTopic(benchThingID, benchEvent))

	r := dialRaw(t, h, benchAgent, 0)
	r.id++
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: r.id,
		TopicName: wot.Topic{Kind: wot.TopicAgentTD, AgentID: benchAgent, ThingID: benchThingID}.String(), Payload: []byte(benchTD)})
	if ack := r.read(); ack.FixedHeader.Type != packets.Puback || ack.ReasonCode >= 0x80 {
		t.Fatalf("register: %+v", ack)
	}

	topic := wot.Topic{Kind: wot.TopicAgentEvent, AgentID: benchAgent, ThingID: benchThingID, Name: benchEvent}.String()
	const n = 300
	const refused = 150 // its payload is not a string: invalid_payload
	var burst bytes.Buffer
	var acked []uint16 // packet IDs of the QoS 1 publishes, in order
	for i := range n {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: 5,
			TopicName: topic, Payload: []byte(strconv.Quote(strconv.Itoa(i)))}
		if i == refused {
			pk.Payload = []byte("42")
		}
		if i%7 == 0 || i == refused {
			pk.FixedHeader.Qos = 1
			pk.PacketID = uint16(1000 + i)
			acked = append(acked, pk.PacketID)
		}
		if err := hubtest.WritePacket(&burst, pk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Write(burst.Bytes()); err != nil {
		t.Fatal(err)
	}

	br := bufio.NewReader(r.Conn)
	for _, id := range acked {
		ack, err := hubtest.ReadPacket(br, 5)
		if err != nil {
			t.Fatalf("PUBACK %d: %v", id, err)
		}
		if ack.FixedHeader.Type != packets.Puback || ack.PacketID != id {
			t.Fatalf("got %v for packet %d, want its PUBACK (in order)", ack.FixedHeader.Type, ack.PacketID)
		}
		if want := id == 1000+refused; (ack.ReasonCode >= 0x80) != want {
			t.Fatalf("PUBACK %d: reason %#x %q, refused: %v", id, ack.ReasonCode, ack.Properties.ReasonString, want)
		}
	}

	for i := range n {
		if i == refused {
			continue
		}
		m := consumer.Next(wot.EventTopic(benchThingID, benchEvent))
		if got, want := string(m.Payload), strconv.Quote(strconv.Itoa(i)); got != want {
			t.Fatalf("event %d: got %s, want %s (order)", i, got, want)
		}
	}

	hist := historyOfPipelineEvents(t, h)
	if len(hist) != n-1 {
		t.Fatalf("history holds %d events, want %d", len(hist), n-1)
	}
	for j, v := range hist {
		i := j
		if j >= refused {
			i++
		}
		if want := strconv.Quote(strconv.Itoa(i)); v != want {
			t.Fatalf("history %d: %s, want %s", j, v, want)
		}
	}
}

// historyOfPipelineEvents reads the bench event's whole history as a
// consumer, oldest first, page by page.
func historyOfPipelineEvents(t *testing.T, h *hub.Hub) []string {
	t.Helper()
	c := dial(t, h, "pipeline-history")
	c.subscribe("replies/pipeline-history/#")
	var got []string
	q := wot.HistoryQuery{Limit: 100}
	for {
		body, _ := json.Marshal(q)
		c.mustPublish(wot.Topic{Kind: wot.TopicEventHistory, ThingID: benchThingID, Name: benchEvent}.String(), body,
			&paho.PublishProperties{ResponseTopic: "replies/pipeline-history/h"})
		var page wot.HistoryPage
		if err := json.Unmarshal(c.next("replies/pipeline-history/h").Payload, &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			got = append(got, string(it.Value))
		}
		if page.Next == "" || len(page.Items) == 0 {
			return got
		}
		q.Cursor = page.Next
	}
}

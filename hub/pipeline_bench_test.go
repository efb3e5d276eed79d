package hub_test

import (
	"bufio"
	"strconv"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// BenchmarkAgentPublish measures what the hub spends on an agent's event
// without a client library in the way: one raw MQTT 5 connection writes
// events as fast as the hub takes them, and nothing subscribes (fan-out
// is BenchmarkEvents'). qos=1 keeps inflight publishes awaiting their
// PUBACK; qos=0 writes the events and then a QoS 1 marker whose PUBACK
// says all before it were handled (a connection's publishes are handled
// in order). One op is one event, stored.
func BenchmarkAgentPublish(b *testing.B) {
	for _, bc := range []struct {
		qos      byte
		inflight int
	}{{1, 1}, {1, 16}, {0, 0}} {
		b.Run("qos="+strconv.Itoa(int(bc.qos))+"/inflight="+strconv.Itoa(bc.inflight), func(b *testing.B) {
			benchAgentPublish(b, bc.qos, bc.inflight)
		})
	}
}

func benchAgentPublish(b *testing.B, qos byte, inflight int) {
	h := startHub(b, b.TempDir())
	r := dialRaw(b, h, benchAgent, 0)
	r.id++
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: r.id,
		TopicName: wot.Topic{Kind: wot.TopicAgentTD, AgentID: benchAgent, ThingID: benchThingID}.String(), Payload: []byte(benchTD)})
	if ack := r.read(); ack.FixedHeader.Type != packets.Puback || ack.ReasonCode >= 0x80 {
		b.Fatalf("register: %+v", ack)
	}
	topic := wot.Topic{Kind: wot.TopicAgentEvent, AgentID: benchAgent, ThingID: benchThingID, Name: benchEvent}.String()
	payload := benchJSONString(64)
	br := bufio.NewReader(r.Conn)
	acks := make(chan packets.Packet, max(inflight, 1))
	go func() {
		defer close(acks)
		for {
			pk, err := hubtest.ReadPacket(br, 5)
			if err != nil {
				return
			}
			acks <- pk
		}
	}()
	awaitAck := func() {
		ack, ok := <-acks
		if !ok || ack.FixedHeader.Type != packets.Puback || ack.ReasonCode >= 0x80 {
			b.Fatalf("event: %+v", ack)
		}
	}
	send := func(q byte) {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: q}, TopicName: topic, Payload: payload}
		if q > 0 {
			r.id = r.id%60000 + 1
			pk.PacketID = r.id
		}
		r.send(pk)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if qos == 0 {
		const chunk = 256
		for n := b.N; n > 0; n -= chunk {
			for range min(n, chunk) {
				send(0)
			}
			send(1) // the marker: handled after the events before it
			awaitAck()
		}
	} else {
		out := 0
		for range b.N {
			if out == inflight {
				awaitAck()
				out--
			}
			send(1)
			out++
		}
		for ; out > 0; out-- {
			awaitAck()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

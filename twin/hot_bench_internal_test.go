package twin

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// hotBenchSink is the Publisher of BenchmarkHotActionRoundTrip: it keeps
// the request the agent receives and counts the replies the consumer
// receives.
type hotBenchSink struct {
	mu      sync.Mutex
	request *Message
	replies int
}

func (s *hotBenchSink) Publish(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case m.Topic == "replies/hot-consumer/hot-consumer":
		s.replies++
	case len(m.CorrelationData) > 0 && m.ResponseTopic != "":
		s.request = &m
	}
}

// hotBenchThing is the Thing of the load tool's bench (loadtest.benchTD):
// an action that echoes an integer.
const hotBenchThing = `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:hot","title":"hot",` +
	`"securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"security":"nosec_sc",` +
	`"actions":{"echo":{"input":{"type":"integer"},"output":{"type":"integer"}}}}`

// BenchmarkHotActionRoundTrip is the core's work for one action round trip
// with the replies=final a bench consumer asks for: the invokeaction
// (validation, the request stored, delivered to the agent), the agent's
// answer (the completed status stored, the final reply), over Badger,
// without a broker. The action's status transitions are its heart.
func BenchmarkHotActionRoundTrip(b *testing.B) {
	sink := &hotBenchSink{}
	c, db := testCore(b, Options{Dev: true, Publisher: sink}, "")
	defer db.Close()
	ctx := context.Background()
	if err := c.Start(ctx, Forms{MQTT: "mqtt://localhost:1883"}); err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	agent := authz.Identity{ID: "hot-agent", Role: authz.RoleService, Anonymous: true}
	consumer := authz.Identity{ID: "hot-consumer", Role: authz.RoleService, Anonymous: true}
	conn := Conn{ID: 1, Client: "hot-agent"}
	c.AgentConnected(agent.ID, conn)
	publish := func(from authz.Identity, m *Message) {
		after, err := c.Publish(ctx, from, conn.ID, m)
		if err != nil {
			b.Fatalf("publish on %s: %v", m.Topic, err)
		}
		if after != nil {
			after()
		}
	}
	publish(agent, &Message{Topic: wire.Topic{Kind: wire.TopicAgentTD, AgentID: agent.ID, ThingID: "urn:hot"}.String(), Payload: []byte(hotBenchThing), QoS: 1})
	if !c.ReceivesRequests(agent.ID, conn, wire.RequestsTopic(agent.ID), false) {
		b.Fatal("the agent's subscription does not receive requests")
	}
	c.AgentSubscribed(agent.ID, conn)
	action := wire.ActionTopic("urn:hot", "echo")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		corr := []byte(strconv.Itoa(i))
		publish(consumer, &Message{Topic: action, Payload: []byte("7"), QoS: 1, ResponseTopic: "replies/hot-consumer/hot-consumer",
			CorrelationData: corr, User: []Property{{Key: wire.PropReplies, Value: wire.RepliesFinal}}})
		sink.mu.Lock()
		req := sink.request
		sink.request = nil
		sink.mu.Unlock()
		if req == nil {
			b.Fatalf("round trip %d: no request reached the agent", i)
		}
		publish(agent, &Message{Topic: req.ResponseTopic, Payload: []byte("7"), QoS: 1, CorrelationData: req.CorrelationData})
	}
	b.StopTimer()
	if sink.replies != b.N {
		b.Fatalf("%d final replies for %d round trips", sink.replies, b.N)
	}
}

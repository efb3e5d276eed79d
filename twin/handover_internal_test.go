package twin

import (
	"context"
	"sync"
	"testing"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// handoverSink is the Publisher of TestHandOver: it keeps the requests
// sent to agents and the statuses sent to the consumer, in order.
type handoverSink struct {
	mu       sync.Mutex
	requests []Message
	statuses []string // action-id + " " + status
}

func (s *handoverSink) Publish(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Topic {
	case wire.RequestsTopic("ho-agent"):
		s.requests = append(s.requests, m)
	case "replies/ho-consumer":
		s.statuses = append(s.statuses, userProp(&m, wire.PropActionID)+" "+userProp(&m, wire.PropStatus))
	}
}

// sent returns the requests sent so far, and forgets them.
func (s *handoverSink) sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = nil
	return out
}

const handoverThing = `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:ho","title":"ho",` +
	`"securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"security":"nosec_sc",` +
	`"actions":{"go":{},"stop":{},"peek":{"safe":true}}}`

// TestHandOver drives the core's connection events in the orders a
// transport may report them: a request delivered on an agent's connection
// that ends reaches its remaining connections when none of them got it.
func TestHandOver(t *testing.T) {
	ctx := context.Background()
	agent := authz.Identity{ID: "ho-agent", Role: authz.RoleService, Anonymous: true}
	consumer := authz.Identity{ID: "ho-consumer", Role: authz.RoleService, Anonymous: true}
	old, cur := Conn{ID: 1, Client: "ho-agent"}, Conn{ID: 2, Client: "ho-agent"}
	setup := func(t *testing.T) (*Core, *handoverSink, func(action string) string) {
		sink := &handoverSink{}
		c, db := testCore(t, Options{Dev: true, Publisher: sink, Window: 8}, "")
		if err := c.Start(ctx, Forms{MQTT: "mqtt://localhost:1883"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); db.Close() })
		c.AgentConnected(agent.ID, old)
		if _, err := c.Publish(ctx, agent, old.ID, &Message{Topic: wire.Topic{Kind: wire.TopicAgentTD, AgentID: agent.ID, ThingID: "urn:ho"}.String(), Payload: []byte(handoverThing), QoS: 1}); err != nil {
			t.Fatal(err)
		}
		c.AgentSubscribed(agent.ID, old)
		invoke := func(action string) string {
			t.Helper()
			r, err := c.Submit(ctx, consumer, wire.Topic{Kind: wire.TopicAction, ThingID: "urn:ho", Name: action}, wire.OpInvokeAction, nil, Submission{ReplyTo: "replies/ho-consumer"})
			if err != nil {
				t.Fatalf("invoke %s: %v", action, err)
			}
			return r.ID
		}
		return c, sink, invoke
	}
	// expect checks that exactly the requests ids went out, in order,
	// redelivered as marked.
	expect := func(t *testing.T, got []Message, ids []string, redelivered []bool) {
		t.Helper()
		if len(got) != len(ids) {
			var names []string
			for _, m := range got {
				names = append(names, string(m.CorrelationData))
			}
			t.Fatalf("sent %v, want %v", names, ids)
		}
		for i, m := range got {
			if string(m.CorrelationData) != ids[i] || (userProp(&m, wire.PropRedelivered) != "") != redelivered[i] {
				t.Errorf("request %d: %s redelivered %q, want %s redelivered %v", i, m.CorrelationData, userProp(&m, wire.PropRedelivered), ids[i], redelivered[i])
			}
		}
	}

	t.Run("NewSubscribesBeforeOldEnds", func(t *testing.T) {
		c, sink, invoke := setup(t)
		id := invoke("go")
		expect(t, sink.sent(), []string{id}, []bool{false})
		c.AgentConnected(agent.ID, cur) // a takeover with clean start
		c.AgentSubscribed(agent.ID, cur)
		c.ConnectionEnded(agent.ID, old, false, func() bool { return true })
		expect(t, sink.sent(), []string{id}, []bool{true})
	})
	t.Run("OldEndsFirst", func(t *testing.T) {
		c, sink, invoke := setup(t)
		id := invoke("go")
		expect(t, sink.sent(), []string{id}, []bool{false})
		c.ConnectionEnded(agent.ID, old, false, func() bool { return true })
		c.AgentConnected(agent.ID, cur)
		c.AgentSubscribed(agent.ID, cur)
		c.Close() // waits for the redelivery on the core's goroutine
		expect(t, sink.sent(), []string{id}, []bool{true})
	})
	t.Run("ReceivedByTheOtherNotRepeated", func(t *testing.T) {
		c, sink, invoke := setup(t)
		c.AgentConnected(agent.ID, cur)
		c.AgentSubscribed(agent.ID, cur)
		before := invoke("go") // both connections got it
		c.ConnectionEnded(agent.ID, old, false, nil)
		sentinel := invoke("stop")
		expect(t, sink.sent(), []string{before, sentinel}, []bool{false, false})
	})
	t.Run("OnlyWhatTheOtherMissed", func(t *testing.T) {
		c, sink, invoke := setup(t)
		missed := invoke("go")
		c.AgentConnected(agent.ID, cur)
		c.AgentSubscribed(agent.ID, cur)
		got := invoke("stop")
		c.AgentUnsubscribed(agent.ID, old)
		expect(t, sink.sent(), []string{missed, got, missed}, []bool{false, false, true})
	})
	t.Run("SafeFailedNotRepeated", func(t *testing.T) {
		c, sink, invoke := setup(t)
		id := invoke("peek")
		c.AgentConnected(agent.ID, cur)
		c.AgentSubscribed(agent.ID, cur)
		c.ConnectionEnded(agent.ID, old, false, nil)
		expect(t, sink.sent(), []string{id}, []bool{false})
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if last := sink.statuses[len(sink.statuses)-1]; last != id+" failed" {
			t.Errorf("statuses %v, want %s failed last", sink.statuses, id)
		}
	})
}

package twin

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// The identities and the agent's connection of the hot benchmarks.
var (
	hotAgent    = authz.Identity{ID: "hot-agent", Role: authz.RoleService, Anonymous: true}
	hotConsumer = authz.Identity{ID: "hot-consumer", Role: authz.RoleService, Anonymous: true}
	hotConn     = Conn{ID: 1, Client: "hot-agent"}
)

// hotBenchCore starts a core over Badger in b.TempDir() that publishes
// to sink, with the agent connected; it is closed when b ends.
func hotBenchCore(b *testing.B, sink Publisher) *Core {
	c, db := testCore(b, Options{Dev: true, Publisher: sink}, "")
	if err := c.Start(context.Background(), Forms{MQTT: "mqtt://localhost:1883"}); err != nil {
		db.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); db.Close() })
	c.AgentConnected(hotAgent.ID, hotConn)
	return c
}

// BenchmarkHotActionRoundTrip is the core's work for one action round trip
// with the replies=final a bench consumer asks for: the invokeaction
// (validation, the request stored, delivered to the agent), the agent's
// answer (the completed status stored, the final reply), over Badger,
// without a broker. The action's status transitions are its heart.
func BenchmarkHotActionRoundTrip(b *testing.B) {
	sink := &hotBenchSink{}
	c := hotBenchCore(b, sink)
	ctx := context.Background()
	publish := func(from authz.Identity, m *Message) {
		after, err := c.Publish(ctx, from, hotConn.ID, m)
		if err != nil {
			b.Fatalf("publish on %s: %v", m.Topic, err)
		}
		if after != nil {
			after()
		}
	}
	publish(hotAgent, &Message{Topic: wire.Topic{Kind: wire.TopicAgentTD, AgentID: hotAgent.ID, ThingID: "urn:hot"}.String(), Payload: []byte(hotBenchThing), QoS: 1})
	if !c.ReceivesRequests(hotAgent.ID, hotConn, wire.RequestsTopic(hotAgent.ID), false) {
		b.Fatal("the agent's subscription does not receive requests")
	}
	c.AgentSubscribed(hotAgent.ID, hotConn)
	action := wire.ActionTopic("urn:hot", "echo")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		corr := []byte(strconv.Itoa(i))
		publish(hotConsumer, &Message{Topic: action, Payload: []byte("7"), QoS: 1, ResponseTopic: "replies/hot-consumer/hot-consumer",
			CorrelationData: corr, User: []Property{{Key: wire.PropReplies, Value: wire.RepliesFinal}}})
		sink.mu.Lock()
		req := sink.request
		sink.request = nil
		sink.mu.Unlock()
		if req == nil {
			b.Fatalf("round trip %d: no request reached the agent", i)
		}
		publish(hotAgent, &Message{Topic: req.ResponseTopic, Payload: []byte("7"), QoS: 1, CorrelationData: req.CorrelationData})
	}
	b.StopTimer()
	if sink.replies != b.N {
		b.Fatalf("%d final replies for %d round trips", sink.replies, b.N)
	}
}

// concurrentSink is the Publisher of BenchmarkHotActionRoundTrips8: the
// requests to the agent go to its goroutine, each final reply to its
// consumer's channel.
type concurrentSink struct {
	requests chan Message
	replies  map[string]chan struct{} // by ResponseTopic; fixed before the run
}

func (s *concurrentSink) Publish(m Message) {
	switch {
	case s.replies[m.Topic] != nil:
		s.replies[m.Topic] <- struct{}{}
	case len(m.CorrelationData) > 0 && m.ResponseTopic != "":
		s.requests <- m
	}
}

// BenchmarkHotActionRoundTrips8 is the core's work for action round trips
// of 8 consumers at once, a Thing each, one request at a time, and one
// agent that answers every request: the agent begins the answers it has at
// hand before it finishes them, as its connection's pipeline does
// (broker/pipeline.go). The figure is the time per round trip; what it
// measures beside BenchmarkHotActionRoundTrip is how well the requests of
// one agent share the core's locks and commits.
func BenchmarkHotActionRoundTrips8(b *testing.B) {
	const consumers = 8
	sink := &concurrentSink{requests: make(chan Message, 4*consumers), replies: map[string]chan struct{}{}}
	for i := range consumers {
		sink.replies["replies/hot-consumer/c"+strconv.Itoa(i)] = make(chan struct{}, 1)
	}
	c := hotBenchCore(b, sink)
	ctx := context.Background()
	for i := range consumers {
		id := "urn:hot" + strconv.Itoa(i)
		td := strings.Replace(hotBenchThing, `"id":"urn:hot"`, `"id":"`+id+`"`, 1)
		if _, err := c.Publish(ctx, hotAgent, hotConn.ID, &Message{Topic: wire.Topic{Kind: wire.TopicAgentTD, AgentID: hotAgent.ID, ThingID: id}.String(), Payload: []byte(td), QoS: 1}); err != nil {
			b.Fatal(err)
		}
	}
	if !c.ReceivesRequests(hotAgent.ID, hotConn, wire.RequestsTopic(hotAgent.ID), false) {
		b.Fatal("the agent's subscription does not receive requests")
	}
	c.AgentSubscribed(hotAgent.ID, hotConn)

	stop := make(chan struct{})
	answered := make(chan error, 1)
	go func() { // the agent
		for {
			var at []Message
			select {
			case <-stop:
				answered <- nil
				return
			case m := <-sink.requests:
				at = append(at, m)
			}
			for more := true; more; {
				select {
				case m := <-sink.requests:
					at = append(at, m)
				default:
					more = false
				}
			}
			finishes := make([]func() (func(), error), 0, len(at))
			for _, req := range at {
				finish, _ := c.Begin(ctx, hotAgent, hotConn.ID, nil, &Message{Topic: req.ResponseTopic, Payload: []byte("7"), QoS: 1, CorrelationData: req.CorrelationData})
				finishes = append(finishes, finish)
			}
			for _, finish := range finishes {
				if _, err := finish(); err != nil {
					answered <- err
					return
				}
			}
		}
	}()
	var left atomic.Int64
	left.Store(int64(b.N))
	errs := make(chan error, consumers)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range consumers {
		replyTo := "replies/hot-consumer/c" + strconv.Itoa(i)
		action := wire.ActionTopic("urn:hot"+strconv.Itoa(i), "echo")
		wg.Go(func() {
			for n := 0; left.Add(-1) >= 0; n++ {
				_, err := c.Publish(ctx, hotConsumer, nil, &Message{Topic: action, Payload: []byte("7"), QoS: 1, ResponseTopic: replyTo,
					CorrelationData: []byte(strconv.Itoa(n)), User: []Property{{Key: wire.PropReplies, Value: wire.RepliesFinal}}})
				if err != nil {
					errs <- err
					return
				}
				<-sink.replies[replyTo]
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(stop)
	if err := <-answered; err != nil {
		b.Fatalf("the agent's answer: %v", err)
	}
	close(errs)
	for err := range errs {
		b.Fatalf("a request: %v", err)
	}
}

package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/wot"
)

const (
	testAgent = "lamp-agent"
	testThing = "urn:dev:ops:lamp-1"
)

const testTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "id": "` + testThing + `",
  "title": "Dimmable lamp",
  "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
  "security": "nosec_sc",
  "properties": {"on": {"type": "boolean"}},
  "actions": {"toggle": {"output": {"type": "boolean"}}},
  "events": {"overheating": {"data": {"type": "number"}}}
}`

// TestConsumer runs the consumer against an in-process hub and a minimal
// agent, and checks that it discovers the Thing, follows its forms to the
// event and property topics, and prints the toggle's statuses and output.
func TestConsumer(t *testing.T) {
	h := startHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The agent: registers the Thing, reports a property value, emits
	// events and answers toggle.
	reqs := make(chan *paho.Publish, 64)
	agent := dial(t, h.MQTTAddr(), testAgent, reqs)
	publish(t, agent, wot.Topic{Kind: wot.TopicAgentTD, AgentID: testAgent, ThingID: testThing}.String(), testTD, nil)
	publish(t, agent, wot.Topic{Kind: wot.TopicAgentProperty, AgentID: testAgent, ThingID: testThing, Name: "on"}.String(), "false", nil)
	subscribe(t, agent, wot.RequestsTopic(testAgent))
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		event := wot.Topic{Kind: wot.TopicAgentEvent, AgentID: testAgent, ThingID: testThing, Name: "overheating"}.String()
		for {
			var err error
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_, err = agent.Publish(ctx, &paho.Publish{Topic: event, QoS: 1, Payload: []byte("71.5")})
			case req := <-reqs:
				_, err = agent.Publish(ctx, &paho.Publish{Topic: req.Properties.ResponseTopic, QoS: 1, Payload: []byte("true"),
					Properties: &paho.PublishProperties{CorrelationData: req.Properties.CorrelationData,
						User: paho.UserProperties{{Key: wot.PropStatus, Value: string(wot.StatusCompleted)}}}})
			}
			if err != nil && ctx.Err() == nil {
				t.Errorf("agent: %v", err)
				return
			}
		}
	}()

	out := &output{wake: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{Broker: h.MQTTAddr(), ID: "consumer-1", ThingID: testThing, Duration: time.Minute}, out)
	}()
	for _, want := range []string{
		`discovered urn:dev:ops:lamp-1 "Dimmable lamp": properties [on], actions [toggle], events [`,
		// Topics found in the twin TD's forms (the hub may add affordances
		// of its own, such as presence, so the lines hold more).
		"subscribing to the forms' topics: ",
		" things/urn:dev:ops:lamp-1/properties/on",
		"things/urn:dev:ops:lamp-1/events/overheating ",
		"invoking toggle: publish on things/urn:dev:ops:lamp-1/actions/toggle, replies on replies/consumer-1",
		"toggle: delivered",
		"toggle: completed, output true",
		"property on = false",
		"event overheating: 71.5",
	} {
		out.waitFor(t, want)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("run did not return after cancel")
	}
	<-agentDone
}

// TestConsumerExitsAfterDuration checks that the consumer stops by itself.
func TestConsumerExitsAfterDuration(t *testing.T) {
	h := startHub(t)
	out := &output{wake: make(chan struct{}, 1)}
	if err := run(context.Background(), config{Broker: h.MQTTAddr(), ID: "c", ThingID: testThing, Duration: 50 * time.Millisecond}, out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "done\n") {
		t.Errorf("output:\n%s", out)
	}
}

func startHub(t *testing.T) *broker.Hub {
	t.Helper()
	h, err := broker.New(broker.Options{TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", DataDir: t.TempDir(), Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func dial(t *testing.T, addr, id string, msgs chan<- *paho.Publish) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			select {
			case msgs <- pr.Packet:
			default:
				t.Errorf("%s: message queue full", id)
			}
			return true, nil
		}},
		OnClientError: func(error) {},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func subscribe(t *testing.T, c *paho.Client, filters ...string) {
	t.Helper()
	s := &paho.Subscribe{}
	for _, f := range filters {
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, s); err != nil {
		t.Fatal(err)
	}
}

func publish(t *testing.T, c *paho.Client, topic, payload string, props *paho.PublishProperties) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload), Properties: props}); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// output collects what the program prints and wakes waitFor on each write.
type output struct {
	mu   sync.Mutex
	buf  strings.Builder
	wake chan struct{}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.buf.Write(p)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output holds s.
func (o *output) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !strings.Contains(o.String(), s) {
		select {
		case <-o.wake:
		case <-deadline:
			t.Fatalf("output has no %q within 5s:\n%s", s, o.String())
		}
	}
}

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
	replies   = "replies/tester"
)

// TestLamp runs the lamp against an in-process hub and uses it the way a
// consumer would: toggle, fade, a property write, and an event.
func TestLamp(t *testing.T) {
	h := startHub(t)
	out := &output{wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{Broker: h.MQTTAddr(), Agent: testAgent, ThingID: testThing,
			EventEvery: 20 * time.Millisecond, FadeStep: time.Millisecond}, out)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("run did not return after cancel")
		}
	}()

	msgs := make(chan *paho.Publish, 1024)
	c := dial(t, h.MQTTAddr(), "tester", msgs)
	subscribe(t, c, wot.TDTopic(testThing), wot.EventTopic(testThing, "overheating"), wot.PropertyTopic(testThing, "brightness"), replies)
	next(t, msgs, wot.TDTopic(testThing)) // the lamp registered
	out.waitFor(t, "waiting for requests")

	invoke := func(topic, payload, corr string) (statuses []string, last *paho.Publish) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload),
			Properties: &paho.PublishProperties{ResponseTopic: replies, CorrelationData: []byte(corr)}}); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
		for {
			m := next(t, msgs, replies)
			if string(m.Properties.CorrelationData) != corr {
				t.Fatalf("reply for %q, want %q", m.Properties.CorrelationData, corr)
			}
			st := wot.Status(m.Properties.User.Get(wot.PropStatus))
			statuses = append(statuses, string(st))
			if st.Final() {
				return statuses, m
			}
		}
	}

	seq, last := invoke(wot.ActionTopic(testThing, "toggle"), "", "t1")
	if strings.Join(seq, ",") != "delivered,completed" || string(last.Payload) != "true" {
		t.Errorf("toggle: statuses %v output %q", seq, last.Payload)
	}
	seq, last = invoke(wot.ActionTopic(testThing, "fade"), `{"to":100}`, "f1")
	if strings.Join(seq, ",") != "delivered,running,running,running,running,completed" || string(last.Payload) != "100" {
		t.Errorf("fade: statuses %v output %q", seq, last.Payload)
	}
	seq, _ = invoke(wot.Topic{Kind: wot.TopicPropertySet, ThingID: testThing, Name: "brightness"}.String(), "7", "w1")
	if strings.Join(seq, ",") != "delivered,completed" {
		t.Errorf("write brightness: statuses %v", seq)
	}
	for {
		if m := next(t, msgs, wot.PropertyTopic(testThing, "brightness")); string(m.Payload) == "7" {
			break
		}
	}
	next(t, msgs, wot.EventTopic(testThing, "overheating"))
	out.waitFor(t, "writeproperty brightness: completed")
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

// next returns the next message on topic, skipping others.
func next(t *testing.T, msgs <-chan *paho.Publish, topic string) *paho.Publish {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-msgs:
			if m.Topic == topic {
				return m
			}
		case <-deadline:
			t.Fatalf("no message on %s within 5s", topic)
		}
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

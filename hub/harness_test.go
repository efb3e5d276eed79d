package hub_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/hub"
)

// clock is a settable clock for expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// startHub starts a hub on 127.0.0.1:0 with its data in dir and closes it
// when the test ends.
func startHub(tb testing.TB, dir string, mod ...func(*hub.Options)) *hub.Hub {
	tb.Helper()
	log := zerolog.New(zerolog.NewTestWriter(tb)).Level(zerolog.WarnLevel)
	opts := hub.Options{
		TCPAddr:       "127.0.0.1:0",
		WSAddr:        "off",
		HTTPAddr:      "off", // tests of the HTTP binding turn it on (withHTTP)
		DataDir:       dir,
		PublicHost:    "hub.test",
		Dev:           true,
		SweepInterval: 10 * time.Millisecond,
		Logger:        &log,
	}
	for _, m := range mod {
		m(&opts)
	}
	h, err := hub.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		h.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := h.Close(); err != nil {
			tb.Errorf("close hub: %v", err)
		}
	})
	return h
}

// client is a paho MQTT 5 client whose received messages queue up in msgs.
type client struct {
	*paho.Client
	tb   testing.TB
	id   string
	msgs chan *paho.Publish
}

type dialOpt func(*paho.Connect)

func withUser(u string) dialOpt {
	return func(c *paho.Connect) { c.Username, c.UsernameFlag = u, true }
}

// dial connects a client with the given ID to the hub.
func dial(tb testing.TB, h *hub.Hub, id string, opts ...dialOpt) *client {
	tb.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		tb.Fatal(err)
	}
	c := &client{tb: tb, id: id, msgs: make(chan *paho.Publish, 4096)}
	c.Client = paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			select {
			case c.msgs <- pr.Packet:
			default:
				tb.Errorf("%s: message queue full", id)
			}
			return true, nil
		}},
		OnClientError: func(error) {},
	})
	cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}
	for _, o := range opts {
		o(cp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, cp); err != nil {
		tb.Fatalf("%s: connect: %v", id, err)
	}
	tb.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func (c *client) subscribe(filters ...string) {
	c.tb.Helper()
	s := &paho.Subscribe{}
	for _, f := range filters {
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sa, err := c.Subscribe(ctx, s)
	if err != nil {
		c.tb.Fatalf("%s: subscribe %v: %v", c.id, filters, err)
	}
	for i, rc := range sa.Reasons {
		if rc >= 0x80 {
			c.tb.Fatalf("%s: subscribe %s refused: %#x", c.id, filters[i], rc)
		}
	}
}

// publish sends a QoS 1 message and returns the PUBACK reason code and
// reason string.
func (c *client) publish(topic string, payload []byte, props *paho.PublishProperties) (byte, string) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: props})
	if resp == nil {
		c.tb.Fatalf("%s: publish %s: %v", c.id, topic, err)
	}
	reason := ""
	if resp.Properties != nil {
		reason = resp.Properties.ReasonString
	}
	return resp.ReasonCode, reason
}

// mustPublish publishes and fails the test unless the hub accepted it.
func (c *client) mustPublish(topic string, payload []byte, props *paho.PublishProperties) {
	c.tb.Helper()
	if rc, reason := c.publish(topic, payload, props); rc >= 0x80 {
		c.tb.Fatalf("%s: publish %s refused: %#x %s", c.id, topic, rc, reason)
	}
}

// next returns the next message on topic, skipping others, or fails the
// test after a deadline.
func (c *client) next(topic string) *paho.Publish {
	c.tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			if topic == "" || m.Topic == topic {
				return m
			}
		case <-deadline:
			c.tb.Fatalf("%s: no message on %q within 30s", c.id, topic)
			return nil
		}
	}
}

// none checks that no message arrives on topic for a short while.
func (c *client) none(topic string, wait time.Duration) {
	c.tb.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-c.msgs:
			if topic == "" || m.Topic == topic {
				c.tb.Fatalf("%s: unexpected message on %s: %s", c.id, m.Topic, m.Payload)
			}
		case <-deadline:
			return
		}
	}
}

func userProp(m *paho.Publish, key string) string {
	if m.Properties == nil {
		return ""
	}
	return m.Properties.User.Get(key)
}

func reply(topic string, corr []byte, user ...string) *paho.PublishProperties {
	p := &paho.PublishProperties{ResponseTopic: topic, CorrelationData: corr}
	for i := 0; i+1 < len(user); i += 2 {
		p.User = append(p.User, paho.UserProperty{Key: user[i], Value: user[i+1]})
	}
	return p
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// lockedBuffer collects log output written concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

package hub_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
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

// startHub starts a hub (hubtest.Start) with its data in dir, forms
// naming hub.test and HTTP off (tests of the HTTP binding turn it on:
// withHTTP).
func startHub(tb testing.TB, dir string, mod ...func(*hub.Options)) *hub.Hub {
	tb.Helper()
	return hubtest.Start(tb, append([]func(*hub.Options){func(o *hub.Options) { o.DataDir, o.PublicHost = dir, "hub.test" }}, mod...)...)
}

// client is a hubtest.Client under the names the hub's tests use.
type client struct{ *hubtest.Client }

type dialOpt = func(*paho.Connect)

func withUser(u string) dialOpt {
	return func(c *paho.Connect) { c.Username, c.UsernameFlag = u, true }
}

// dial connects a client with the given ID to the hub (hubtest.Dial).
func dial(tb testing.TB, h *hub.Hub, id string, opts ...dialOpt) *client {
	tb.Helper()
	return &client{hubtest.Dial(tb, h, id, opts...)}
}

func (c *client) subscribe(filters ...string) { c.TB.Helper(); c.Sub(filters...) }

// publish sends a QoS 1 message and returns the PUBACK reason code and
// reason string.
func (c *client) publish(topic string, payload []byte, props *paho.PublishProperties) (byte, string) {
	c.TB.Helper()
	return c.Pub(topic, payload, props)
}

// mustPublish publishes and fails the test unless the hub accepted it.
func (c *client) mustPublish(topic string, payload []byte, props *paho.PublishProperties) {
	c.TB.Helper()
	c.MustPub(topic, payload, props)
}

// next returns the next message on topic, skipping others.
func (c *client) next(topic string) *paho.Publish { c.TB.Helper(); return c.Next(topic) }

// none checks that no message arrives on topic for a short while.
func (c *client) none(topic string, wait time.Duration) { c.TB.Helper(); c.None(topic, wait) }

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

// lockedBuffer collects output written concurrently (hubtest.Buffer).
type lockedBuffer = hubtest.Buffer

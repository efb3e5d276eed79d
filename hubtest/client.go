package hubtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
)

// queueSize is how many received messages a Client holds.
const queueSize = 8192

// Client is a paho MQTT 5 client of a hub (Dial, NewClient). Its methods
// fail the test on error; they are for what the test drives, while the
// embedded paho.Client stays at hand for what it asserts on the wire.
type Client struct {
	*paho.Client
	// ID is the client ID.
	ID string
	// TB receives the failures of the methods; a copy of the Client with
	// a subtest's TB reports there instead.
	TB testing.TB
	// Msgs receives every PUBLISH the client gets, in order. One more
	// than it holds (8192) fails the test.
	Msgs chan *paho.Publish
	// ServerDisconnect receives the server's DISCONNECT, if it sends one; paho
	// hands it over on a goroutine of its own, just after Done closed.
	ServerDisconnect chan *paho.Disconnect
}

// Dial connects a client with the given ID to the hub's MQTT over TCP
// listener (clean start, keep-alive 30 s; opts change the CONNECT) and
// fails the test unless the hub accepts it. The client disconnects when
// the test ends.
func Dial(tb testing.TB, h *hub.Hub, clientID string, opts ...func(*paho.Connect)) *Client {
	tb.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		tb.Fatal(err)
	}
	c := NewClient(tb, conn, clientID)
	cp := &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30}
	for _, o := range opts {
		o(cp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if ca, err := c.Connect(ctx, cp); err != nil {
		reason := ""
		if ca != nil && ca.Properties != nil {
			reason = ca.Properties.ReasonString
		}
		tb.Fatalf("%s: connect: %v %s", clientID, err, reason)
	}
	return c
}

// NewClient makes a client on a connection the test opened (from another
// local address, say), not connected yet: the test sends its CONNECT with
// the embedded paho.Client's Connect and sees the CONNACK, accepted or
// not. The client disconnects and the connection closes when the test
// ends.
func NewClient(tb testing.TB, conn net.Conn, clientID string) *Client {
	c := &Client{ID: clientID, TB: tb, Msgs: make(chan *paho.Publish, queueSize), ServerDisconnect: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		ClientID: clientID,
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			select {
			case c.Msgs <- pr.Packet:
			default:
				tb.Errorf("%s: more than %d messages received and not read", clientID, queueSize)
			}
			return true, nil
		}},
		OnServerDisconnect: func(d *paho.Disconnect) {
			select {
			case c.ServerDisconnect <- d:
			default:
			}
		},
		OnClientError: func(error) {},
	})
	tb.Cleanup(func() {
		_ = c.Client.Disconnect(&paho.Disconnect{})
		conn.Close()
	})
	return c
}

// Sub subscribes to filters at QoS 1 and fails the test unless the hub
// grants each.
func (c *Client) Sub(filters ...string) {
	c.TB.Helper()
	s := &paho.Subscribe{}
	for _, f := range filters {
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	sa, err := c.Subscribe(ctx, s)
	if err != nil {
		c.TB.Fatalf("%s: subscribe %v: %v", c.ID, filters, err)
	}
	for i, rc := range sa.Reasons {
		if rc >= 0x80 {
			c.TB.Fatalf("%s: subscribe %s refused: %#x", c.ID, filters[i], rc)
		}
	}
}

// Pub publishes at QoS 1 and returns the PUBACK's reason code and reason
// string.
func (c *Client) Pub(topic string, payload []byte, props *paho.PublishProperties) (byte, string) {
	c.TB.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: props})
	if resp == nil {
		c.TB.Fatalf("%s: publish %s: %v", c.ID, topic, err)
	}
	reason := ""
	if resp.Properties != nil {
		reason = resp.Properties.ReasonString
	}
	return resp.ReasonCode, reason
}

// MustPub publishes at QoS 1 and fails the test unless the hub accepted
// the message.
func (c *Client) MustPub(topic string, payload []byte, props *paho.PublishProperties) {
	c.TB.Helper()
	if rc, reason := c.Pub(topic, payload, props); rc >= 0x80 {
		c.TB.Fatalf("%s: publish %s refused: %#x %s", c.ID, topic, rc, reason)
	}
}

// Next returns the next message received on topic (any topic when ""),
// dropping those on others, and fails the test when none comes within
// Timeout.
func (c *Client) Next(topic string) *paho.Publish {
	c.TB.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		select {
		case m := <-c.Msgs:
			if topic == "" || m.Topic == topic {
				return m
			}
		case <-deadline.C:
			c.TB.Fatalf("%s: no message on %q within %v", c.ID, topic, Timeout)
			return nil
		}
	}
}

// None fails the test if a message arrives on topic (any topic when "")
// within wait; it drops those on others.
func (c *Client) None(topic string, wait time.Duration) {
	c.TB.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case m := <-c.Msgs:
			if topic == "" || m.Topic == topic {
				c.TB.Fatalf("%s: unexpected message on %s: %s", c.ID, m.Topic, m.Payload)
			}
		case <-deadline.C:
			return
		}
	}
}

// Ended waits until the connection is closed and returns the server's
// DISCONNECT, or nil when none came within a second of it. It fails the
// test when the connection is still open after Timeout.
func (c *Client) Ended() *paho.Disconnect {
	c.TB.Helper()
	select {
	case <-c.Done():
	case <-time.After(Timeout):
		c.TB.Fatalf("%s: connection still open after %v", c.ID, Timeout)
	}
	select {
	case d := <-c.ServerDisconnect:
		return d
	case <-time.After(time.Second):
		return nil
	}
}

// Connect connects a client of the SDK (package wot) to url (URL(h) for
// MQTT over TCP) with the given ID, reconnecting quickly (20 to 200 ms)
// and giving up on an attempt after a second; opts change the options.
// The client closes when the test ends.
func Connect(tb testing.TB, url, clientID string, opts ...func(*wot.Options)) *wot.Client {
	tb.Helper()
	// A short ConnectTimeout: a connection made while a hub shuts down may
	// be accepted and never answered; the client gives up on it sooner.
	o := wot.Options{URL: url, ClientID: clientID, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		ConnectTimeout: time.Second}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := wot.Connect(ctx, o)
	if err != nil {
		tb.Fatalf("connect %s: %v", clientID, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			tb.Errorf("close %s: %v", clientID, err)
		}
	})
	return c
}

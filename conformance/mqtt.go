package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// client is an MQTT 5 connection whose incoming messages go to the sinks
// that match their topic. Each check listens with sinks of its own, so
// one check never consumes another's messages.
type client struct {
	pc      *paho.Client
	id      string
	timeout time.Duration // bounds unsubscribe and disconnect

	mu    sync.Mutex
	sinks map[*sink]struct{}
	lost  error // why the connection failed, if it did
}

// sink receives the messages whose topic matches its filter.
type sink struct {
	c      *client
	filter string
	ch     chan *paho.Publish
}

// dial connects to addr with MQTT 5 and a clean start.
func dial(ctx context.Context, addr, clientID, username, password string, timeout time.Duration) (*client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &client{id: clientID, timeout: timeout, sinks: map[*sink]struct{}{}}
	c.pc = paho.NewClient(paho.ClientConfig{
		ClientID:          clientID,
		Conn:              conn,
		PacketTimeout:     timeout,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){c.receive},
		OnClientError:     c.fail,
		OnServerDisconnect: func(d *paho.Disconnect) {
			c.fail(fmt.Errorf("the server sent DISCONNECT with reason code %#x", d.ReasonCode))
		},
	})
	cp := &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30}
	if username != "" {
		cp.Username, cp.UsernameFlag = username, true
	}
	if password != "" {
		cp.Password, cp.PasswordFlag = []byte(password), true
	}
	ca, err := c.pc.Connect(ctx, cp)
	if err != nil {
		if ca != nil {
			return nil, fmt.Errorf("CONNACK reason code %#x: %w", ca.ReasonCode, err)
		}
		return nil, err
	}
	return c, nil
}

func (c *client) receive(pr paho.PublishReceived) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.sinks {
		if matchFilter(s.filter, pr.Packet.Topic) {
			select {
			case s.ch <- pr.Packet:
			default: // a check that stopped reading; drop
			}
		}
	}
	return true, nil
}

func (c *client) fail(err error) {
	c.mu.Lock()
	if c.lost == nil {
		c.lost = err
	}
	c.mu.Unlock()
}

// explain adds why the connection failed, if it did, to err.
func (c *client) explain(err error) error {
	c.mu.Lock()
	lost := c.lost
	c.mu.Unlock()
	if lost != nil {
		return fmt.Errorf("%w (%s connection lost: %v)", err, c.id, lost)
	}
	return err
}

func (c *client) close() {
	_ = c.pc.Disconnect(&paho.Disconnect{})
}

// listen subscribes to filter with QoS 1. The sink is in place before the
// SUBSCRIBE is sent, so retained messages are not missed.
func (c *client) listen(ctx context.Context, filter string) (*sink, error) {
	s := &sink{c: c, filter: filter, ch: make(chan *paho.Publish, 64)}
	c.mu.Lock()
	c.sinks[s] = struct{}{}
	c.mu.Unlock()
	sa, err := c.pc.Subscribe(ctx, &paho.Subscribe{
		Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}},
	})
	if err != nil {
		c.drop(s)
		if sa != nil && len(sa.Reasons) > 0 {
			return nil, fmt.Errorf("subscribing to %s: SUBACK reason code %#x", filter, sa.Reasons[0])
		}
		return nil, c.explain(fmt.Errorf("subscribing to %s: %w", filter, err))
	}
	return s, nil
}

func (c *client) drop(s *sink) (stillUsed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sinks, s)
	for o := range c.sinks {
		if o.filter == s.filter {
			return true
		}
	}
	return false
}

// stop ends a sink and unsubscribes its filter unless another sink uses it.
func (s *sink) stop() {
	if s == nil || s.c.drop(s) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.c.timeout)
	defer cancel()
	_, _ = s.c.pc.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{s.filter}})
}

// next returns the next message, or an error when ctx ends first.
func (s *sink) next(ctx context.Context) (*paho.Publish, error) {
	select {
	case m := <-s.ch:
		return m, nil
	case <-ctx.Done():
		return nil, s.c.explain(fmt.Errorf("no message on %s in time", s.filter))
	}
}

// within returns the first message that arrives within d, or nil.
func (s *sink) within(ctx context.Context, d time.Duration) *paho.Publish {
	select {
	case m := <-s.ch:
		return m
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case m := <-s.ch:
		return m
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// publish sends a QoS 1 message and returns the PUBACK's reason code and
// reason string. The error is set only when no PUBACK arrived.
func (c *client) publish(ctx context.Context, topic string, payload []byte, props *paho.PublishProperties) (byte, string, error) {
	resp, err := c.pc.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: props})
	if resp == nil {
		if err == nil {
			err = errors.New("no PUBACK")
		}
		return 0, "", c.explain(fmt.Errorf("publishing on %s: %w", topic, err))
	}
	var reason string
	if resp.Properties != nil {
		reason = resp.Properties.ReasonString
	}
	return resp.ReasonCode, reason, nil
}

// mustPublish publishes and returns an error unless the PUBACK reports
// success.
func (c *client) mustPublish(ctx context.Context, topic string, payload []byte, props *paho.PublishProperties) error {
	rc, reason, err := c.publish(ctx, topic, payload, props)
	if err != nil {
		return err
	}
	if rc >= 0x80 {
		return fmt.Errorf("publish on %s refused: PUBACK %#x %q", topic, rc, reason)
	}
	return nil
}

// request builds the properties of a request: a ResponseTopic, the
// CorrelationData, and user properties given as key, value pairs.
func request(replyTo string, corr []byte, user ...string) *paho.PublishProperties {
	p := &paho.PublishProperties{ResponseTopic: replyTo, CorrelationData: corr}
	for i := 0; i+1 < len(user); i += 2 {
		p.User = append(p.User, paho.UserProperty{Key: user[i], Value: user[i+1]})
	}
	return p
}

// userProp returns the user property key of m, or "".
func userProp(m *paho.Publish, key string) string {
	if m.Properties == nil {
		return ""
	}
	return m.Properties.User.Get(key)
}

// matchFilter reports whether an MQTT topic filter matches a topic name
// (MQTT 5.0 section 4.7).
func matchFilter(filter, topic string) bool {
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fl {
		switch {
		case f == "#":
			return true
		case i >= len(tl):
			return false
		case f != "+" && f != tl[i]:
			return false
		}
	}
	return len(fl) == len(tl)
}

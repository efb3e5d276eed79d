package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// Message is one MQTT 5 publish as the core sends it.
type Message struct {
	Topic           string
	Payload         []byte
	Retain          bool
	QoS             byte
	ResponseTopic   string
	CorrelationData []byte
	ContentType     string
	// Expiry is the message expiry interval in seconds; 0: none.
	Expiry    uint32
	UserProps [][2]string
	// Node is the node that published it (set by the Bus).
	Node string
}

// Header names of the bus's messages.
const (
	hdrNode        = "Wotmq-Node"
	hdrTopic       = "Wotmq-Topic"
	hdrRetain      = "Wotmq-Retain"
	hdrQoS         = "Wotmq-Qos"
	hdrResponse    = "Wotmq-Response-Topic"
	hdrCorrelation = "Wotmq-Correlation" // base64
	hdrContentType = "Wotmq-Content-Type"
	hdrExpiry      = "Wotmq-Expiry"
	hdrUser        = "Wotmq-User" // repeated: base64(name) "=" base64(value), in order
)

// ErrBadMessage is returned for a bus message that does not decode.
var ErrBadMessage = errors.New("cluster: bad bus message")

// Bus is the fan-out between nodes on one NATS connection.
type Bus struct {
	nc      *nats.Conn
	node    string
	subject string
	log     zerolog.Logger
	mu      sync.Mutex
	sub     *nats.Subscription
}

// BusOptions configures a Bus.
type BusOptions struct {
	// Node is this node's name (unique in the cluster): its own messages
	// are not handed back to it.
	Node string
	// Subject is the bus's subject; "wotmq.out" when empty.
	Subject string
	// Log receives messages that do not decode; the zero Logger drops it.
	Log zerolog.Logger
}

// NewBus returns a bus on nc. It hears nothing until Subscribe.
func NewBus(nc *nats.Conn, o BusOptions) (*Bus, error) {
	if o.Node == "" {
		return nil, errors.New("cluster: a bus needs the node's name")
	}
	if o.Subject == "" {
		o.Subject = "wotmq.out"
	}
	return &Bus{nc: nc, node: o.Node, subject: o.Subject, log: o.Log}, nil
}

// Publish sends m to every other node. It returns once the message is in
// the connection's buffer (core NATS; see the package comment).
func (b *Bus) Publish(m Message) error {
	return b.nc.PublishMsg(b.encode(m))
}

// Flush waits until the server has every message published so far.
func (b *Bus) Flush(ctx context.Context) error { return b.nc.FlushWithContext(ctx) }

func (b *Bus) encode(m Message) *nats.Msg {
	h := nats.Header{}
	h.Set(hdrNode, b.node)
	h.Set(hdrTopic, base64.RawStdEncoding.EncodeToString([]byte(m.Topic)))
	if m.Retain {
		h.Set(hdrRetain, "1")
	}
	if m.QoS > 0 {
		h.Set(hdrQoS, strconv.Itoa(int(m.QoS)))
	}
	if m.ResponseTopic != "" {
		h.Set(hdrResponse, base64.RawStdEncoding.EncodeToString([]byte(m.ResponseTopic)))
	}
	if m.CorrelationData != nil {
		h.Set(hdrCorrelation, base64.StdEncoding.EncodeToString(m.CorrelationData))
	}
	if m.ContentType != "" {
		h.Set(hdrContentType, m.ContentType)
	}
	if m.Expiry > 0 {
		h.Set(hdrExpiry, strconv.FormatUint(uint64(m.Expiry), 10))
	}
	for _, u := range m.UserProps {
		h.Add(hdrUser, base64.RawStdEncoding.EncodeToString([]byte(u[0]))+"="+base64.RawStdEncoding.EncodeToString([]byte(u[1])))
	}
	return &nats.Msg{Subject: b.subject, Header: h, Data: m.Payload}
}

// decode reads a bus message. Topics, correlation data and user
// properties travel base64-encoded: MQTT allows line breaks in them, NATS
// header values do not.
func decode(msg *nats.Msg) (Message, error) {
	h := msg.Header
	m := Message{Node: h.Get(hdrNode), Payload: msg.Data, Retain: h.Get(hdrRetain) == "1", ContentType: h.Get(hdrContentType)}
	t, err := base64.RawStdEncoding.DecodeString(h.Get(hdrTopic))
	if err != nil || m.Node == "" || len(t) == 0 {
		return m, fmt.Errorf("%w: no node or topic", ErrBadMessage)
	}
	m.Topic = string(t)
	if r := h.Get(hdrResponse); r != "" {
		b, err := base64.RawStdEncoding.DecodeString(r)
		if err != nil {
			return m, fmt.Errorf("%w: response topic: %v", ErrBadMessage, err)
		}
		m.ResponseTopic = string(b)
	}
	if q := h.Get(hdrQoS); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 || n > 2 {
			return m, fmt.Errorf("%w: QoS %q", ErrBadMessage, q)
		}
		m.QoS = byte(n)
	}
	if c := h.Get(hdrCorrelation); c != "" {
		b, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return m, fmt.Errorf("%w: correlation data: %v", ErrBadMessage, err)
		}
		m.CorrelationData = b
	}
	if e := h.Get(hdrExpiry); e != "" {
		n, err := strconv.ParseUint(e, 10, 32)
		if err != nil {
			return m, fmt.Errorf("%w: expiry %q", ErrBadMessage, e)
		}
		m.Expiry = uint32(n)
	}
	for _, u := range h.Values(hdrUser) {
		k, v, ok := strings.Cut(u, "=")
		kb, err1 := base64.RawStdEncoding.DecodeString(k)
		vb, err2 := base64.RawStdEncoding.DecodeString(v)
		if !ok || err1 != nil || err2 != nil {
			return m, fmt.Errorf("%w: user property %q", ErrBadMessage, u)
		}
		m.UserProps = append(m.UserProps, [2]string{string(kb), string(vb)})
	}
	return m, nil
}

// Subscribe hands every other node's messages to f, one at a time in the
// order each node published them. f must not block for long: it runs on
// the subscription's goroutine.
func (b *Bus) Subscribe(f func(Message)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sub != nil {
		return errors.New("cluster: bus subscribed already")
	}
	sub, err := b.nc.Subscribe(b.subject, func(msg *nats.Msg) {
		if msg.Header.Get(hdrNode) == b.node {
			return // this node's own message, back from NATS: not decoded only to be dropped
		}
		m, err := decode(msg)
		if err != nil {
			b.log.Warn().Err(err).Msg("cluster: a bus message that does not decode; dropped")
			return
		}
		if m.Node == b.node {
			return
		}
		f(m)
	})
	if err != nil {
		return fmt.Errorf("cluster: subscribe %s: %w", b.subject, err)
	}
	// A node that publishes much must not be cut off as a slow consumer
	// by a receiver's default limits: the receiver keeps up or the
	// messages wait in its buffer.
	_ = sub.SetPendingLimits(-1, 256<<20)
	b.sub = sub
	return b.nc.Flush() // the subscription is in place at the server when Subscribe returns
}

// Close stops hearing the bus.
func (b *Bus) Close() error {
	b.mu.Lock()
	sub := b.sub
	b.sub = nil
	b.mu.Unlock()
	if sub == nil {
		return nil
	}
	return sub.Unsubscribe()
}

package wot

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Message is one message a subscription received: an event, a property
// value, a TD, a presence state, or anything on a raw topic.
type Message struct {
	// Topic is the topic name the message came on.
	Topic string
	// Kind, ThingID and Name are what the topic says when it is a wotmq
	// topic (Kind is TopicUnknown otherwise).
	Kind    TopicKind
	ThingID string
	Name    string
	// Payload is the message body: JSON on every wotmq topic; empty when
	// a retained value was cleared.
	Payload json.RawMessage
	// Retained is set on a retained message sent because of a new
	// subscription: the current value rather than a change.
	Retained bool
	// Sender and Time are the hub's stamps: who published the value and
	// when the hub accepted it.
	Sender string
	Time   time.Time
	// User holds every MQTT 5 user property in order.
	User []UserProperty
}

// UserProperty is one MQTT 5 user property.
type UserProperty struct{ Key, Value string }

// Decode unmarshals the payload into v.
func (m Message) Decode(v any) error {
	if len(m.Payload) == 0 {
		return fmt.Errorf("%w: empty payload on %s", ErrNoValue, m.Topic)
	}
	if err := json.Unmarshal(m.Payload, v); err != nil {
		return fmt.Errorf("wot: decode payload of %s: %w", m.Topic, err)
	}
	return nil
}

// UserProperty returns the value of the first user property named key, or
// "".
func (m Message) UserProperty(key string) string {
	for _, u := range m.User {
		if u.Key == key {
			return u.Value
		}
	}
	return ""
}

// newMessage converts a received publish.
func newMessage(p *paho.Publish) Message {
	m := Message{Topic: p.Topic, Payload: json.RawMessage(p.Payload), Retained: p.Retain}
	if t, err := ParseTopic(p.Topic); err == nil {
		m.Kind, m.ThingID, m.Name = t.Kind, t.ThingID, t.Name
	}
	if p.Properties != nil {
		for _, u := range p.Properties.User {
			m.User = append(m.User, UserProperty{Key: u.Key, Value: u.Value})
		}
		m.Sender = p.Properties.User.Get(PropSender)
		if ts := p.Properties.User.Get(PropTime); ts != "" {
			m.Time, _ = time.Parse(time.RFC3339Nano, ts)
		}
	}
	return m
}

// userProp returns a user property of a publish, or "".
func userProp(p *paho.Publish, key string) string {
	if p.Properties == nil {
		return ""
	}
	return p.Properties.User.Get(key)
}

// encodeValue turns a Go value into a JSON payload: nil is an empty
// payload, a json.RawMessage is sent as it is (it must hold JSON), anything
// else is marshalled.
func encodeValue(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encode value: %w", ErrInvalidInput, err)
	}
	return b, nil
}

package twin

import "github.com/wotmq/wotmq/authz"

// Property is an MQTT 5 user property, as the core reads and writes it.
type Property struct{ Key, Value string }

// Message is a publish as the core sees it: what a client sent (the
// transport converts its packet once, at the edge) or what the hub
// publishes (the Publisher converts it back).
type Message struct {
	Topic           string
	Payload         []byte
	QoS             byte
	Retain          bool
	ResponseTopic   string
	CorrelationData []byte
	User            []Property
	// Expiry is the Message Expiry Interval in seconds; 0 for none.
	Expiry uint32
	// from is the sender of a client's publish handed to a Tap.
	from authz.Identity
}

// ConnID names one connection of a transport: an opaque, comparable
// value the transport picks (the MQTT adapter uses its client pointer).
// The core only keeps and compares it, so that a session taken over never
// ends its successor's presence by the old connection's late disconnect.
type ConnID any

// Publisher sends the hub's own publishes. They bypass authorization: the
// core has decided them. Publish may be called concurrently, from inside
// the core's locks, and must not block on a client (a slow subscriber
// loses messages, it does not slow the hub). The payload is the
// publisher's from then on: the caller must not change it (the MQTT
// adapter delivers it later, shared by every subscriber's copy).
type Publisher interface {
	Publish(Message)
}

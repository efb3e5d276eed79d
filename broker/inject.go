package broker

import (
	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/wotmq/wotmq/twin"
)

// publisher is the core's twin.Publisher: the hub's inline client.
type publisher struct{ h *Hub }

// Publish sends a message of the hub (inject).
func (p publisher) Publish(m twin.Message) {
	p.h.inject(m)
	if p.h.opts.Fanout != nil {
		p.h.opts.Fanout(m)
	}
}

// Inject publishes a message another node's core published (a cluster's
// fan-out) to this broker's clients, as the core's own publishes go.
func (h *Hub) Inject(m twin.Message) { h.inject(m) }

// inject publishes a message through the hub's inline client, which may
// set MQTT 5 properties (Server.Publish cannot) and bypasses the ACL.
func (h *Hub) inject(m twin.Message) {
	h.ops.sent(m.Topic)
	if !m.Retain && !h.subscribed(m.Topic) {
		// Nobody to deliver it to, and nothing to keep: Mochi would drop
		// it at the end of its whole publish path (the hooks, the copy,
		// the walk). Most events are stored and watched by no MQTT
		// client (history, HTTP and SSE readers get them elsewhere).
		return
	}
	pk := toPacket(m)
	if pk.FixedHeader.Qos > 0 && pk.PacketID == 0 {
		pk.PacketID = 1 // unused for inline clients, but validated
	}
	if err := h.srv.InjectPacket(h.self, pk); err != nil {
		h.log.Error().Err(err).Str("topic", pk.TopicName).Msg("cannot publish")
	}
}

// runAfterAck runs what the client's last handled publish left for after
// its acknowledgement (twin.Core.Publish). Once the hub is stopping, the
// work is dropped: what it would deliver is stored.
func (h *Hub) runAfterAck(cl *mqtt.Client) {
	v, ok := h.afterAck.LoadAndDelete(cl)
	if !ok || !h.enter() {
		return
	}
	defer h.leave()
	v.(func())()
}

// conn is a connection as the core knows it.
func conn(cl *mqtt.Client) twin.Conn {
	return twin.Conn{ID: cl, Client: clientID(cl), Remote: cl.Net.Remote, Legacy: isLegacy(cl)}
}

// subscribed reports whether a subscription of a client, or of the hub's
// inline client, matches topic (the index's cached answer, which the
// delivery then uses too).
func (h *Hub) subscribed(topic string) bool {
	s := h.srv.Topics.CachedSubscribers(topic)
	return len(s.Subscriptions) > 0 || len(s.Shared) > 0 || len(s.InlineSubscriptions) > 0
}

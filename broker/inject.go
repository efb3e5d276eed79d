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
	pk := toPacket(m)
	if pk.FixedHeader.Qos > 0 && pk.PacketID == 0 {
		pk.PacketID = 1 // unused for inline clients, but validated
	}
	h.ops.sent(pk.TopicName)
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

package broker

import "github.com/wotmq/wotmq/twin"

// The hub's parts that act on a site's own MQTT traffic (the proxy of
// existing devices, package proxy) publish on the devices' topics and read
// what the devices left retained through these two methods.

// Publish sends m from the hub through its inline client, as the core's
// Publisher does: it bypasses the access rules (the caller decided), and
// each subscriber still gets it only where the rules let it receive it.
func (h *Hub) Publish(m twin.Message) { h.inject(m) }

// Retained returns the retained messages the broker holds on topics that
// match filter (a device's state or availability left before the hub
// started to listen); none when filter is not a valid filter.
func (h *Hub) Retained(filter string) []twin.Message {
	pks := h.srv.Topics.Messages(filter)
	out := make([]twin.Message, 0, len(pks))
	for i := range pks {
		out = append(out, *fromPacket(&pks[i]))
	}
	return out
}

// Subscribed reports whether a client may be listening on topic: some
// client's subscription (shared or not) matches it. The hub's own inline
// subscriptions do not count. In a cluster the answer is always true: the
// other nodes' subscriptions are not visible here.
func (h *Hub) Subscribed(topic string) bool {
	if h.opts.Fanout != nil {
		return true
	}
	s := h.srv.Topics.Subscribers(topic)
	return len(s.Subscriptions) > 0 || len(s.Shared) > 0
}

package twin

import "github.com/wotmq/wotmq/authz"

// Tap calls fn for every message a client publishes on a free topic (a
// topic outside the hub's namespaces, once the access rules let it
// through) that matches filter, until the returned function is called.
// It is how parts of the hub that act on a site's own MQTT traffic hear
// it: the twins of existing devices (their state topics) and the bridges
// (a controller's commands, Home Assistant's birth message).
//
// fn runs on the publisher's goroutine before the publish is
// acknowledged: it must not block (hand the work to a queue) and must not
// call Tap or the returned function. Retained messages already held by
// the transport are not replayed.
func (c *Core) Tap(filter string, fn func(from authz.Identity, m Message)) func() {
	return c.taps.add(filter, func(m Message) { fn(m.from, m) })
}

// tapped hands a client's publish on a free topic to the taps.
func (c *Core) tapped(from authz.Identity, m *Message) {
	cp := *m
	cp.from = from
	c.taps.publish(cp)
}

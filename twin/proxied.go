package twin

import (
	"bytes"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// ProxyMember is the top-level TD member that asks the hub to act as the
// Thing's agent for an existing MQTT device ("wotmq:proxy": true): the
// hub's proxy (package proxy) turns the device's own topics, named by the
// TD's forms, into the twin's values and events and the twin's requests
// into the device's commands (docs/brownfield.md).
const ProxyMember = "wotmq:proxy"

// Proxied reports whether a TD asks the hub to proxy its device.
func Proxied(t *td.Thing) bool {
	return t != nil && bytes.Equal(bytes.TrimSpace(t.Extra[ProxyMember]), []byte("true"))
}

// checkProxyMix refuses a TD that would give an agent both Things it
// serves itself and Things the hub proxies. Requests are queued and
// delivered per agent: with both kinds, the hub's proxy would count the
// agent online for its own Things too, and their requests would be handed
// to a proxy that cannot answer them.
func (c *Core) checkProxyMix(agent string, t *td.Thing) error {
	want := Proxied(t)
	for _, e := range c.dir.ByAgent(agent) {
		if e.ThingID == t.ID || Proxied(e.TD) == want {
			continue
		}
		if want {
			return wire.Errorf(wire.CodeInvalidTD, "$[%q]: account %q serves its own Things (%q); register devices the hub proxies with an account of their own", ProxyMember, agent, e.ThingID)
		}
		return wire.Errorf(wire.CodeInvalidTD, "$: account %q registers devices the hub proxies (%q); a Thing it serves itself needs an account of its own (or %q: true)", agent, e.ThingID, ProxyMember)
	}
	return nil
}

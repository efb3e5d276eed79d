package twin

import "context"

// What a core needs to be one node of several (package cluster, hub's
// cluster.go): each node's core handles the clients of its own transport
// over shared stores, and hears what the others publish and queue.

// Remote hands a message that another node's core published to this
// core's in-process listeners (Listen: the HTTP binding's event streams),
// as if this core had published it. The transport delivers it to its own
// clients itself; nothing is stored (the other node did that).
func (c *Core) Remote(m Message) {
	c.bus.publish(Message{Topic: m.Topic, Payload: m.Payload, Retain: m.Retain, User: m.User})
}

// RequestsQueued tells the core that another node queued requests for an
// agent: if the agent is connected here, its pending requests are
// delivered now, in order, as far as its delivery window allows.
func (c *Core) RequestsQueued(agent string) {
	if !c.agents.isOnline(agent) {
		return
	}
	c.gate.RLock()
	defer c.gate.RUnlock()
	select {
	case <-c.stop:
		return
	default:
	}
	mu := c.agentLock(agent)
	mu.Lock()
	defer mu.Unlock()
	c.drainOnline(context.Background(), agent)
}

package twin

import (
	"context"
	"time"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

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
	defer c.unlock(agent, mu) // and wait for what was staged
	c.drainOnline(context.Background(), agent)
}

// retryDelivery tries again to deliver a request whose delivery failed,
// for up to Options.StoreRetry (a cluster's stores refuse writes while
// they elect a new leader), and reports whether it went out or ended (an
// expired request is failed by deliverLocked). The caller holds the
// agent's lock: the agent's later requests wait, so they keep their order.
func (c *Core) retryDelivery(ctx context.Context, r *inbox.Request) bool {
	deadline := c.opts.Now().Add(c.opts.StoreRetry)
	for wait := 100 * time.Millisecond; c.opts.Now().Before(deadline); wait = min(2*wait, time.Second) {
		select {
		case <-c.stop:
			return false
		case <-time.After(wait): // back-off between attempts, not a wait for an event
		}
		cur, err := c.inbox.Get(ctx, r.ID)
		if err != nil {
			continue
		}
		if cur.Status != wire.StatusPending {
			return true // delivered or ended meanwhile
		}
		if c.deliverLocked(ctx, cur) {
			return true
		}
	}
	return false
}

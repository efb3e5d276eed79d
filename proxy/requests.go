package proxy

import (
	"context"
	"encoding/json"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// handle takes a request the core delivered to a proxied device's agent:
// sent on the device's command topic at once when the device is
// available, held (reported waiting) while it is not. A safe action is
// never held: it fails offline, as the core fails it for an agent that is
// offline.
func (p *Proxy) handle(r request) {
	if !p.served[r.agent] {
		return // an agent of its own (every agent's requests pass the listener)
	}
	if r.op == wire.OpCancelAction {
		p.cancel(r)
		return
	}
	if r.id == "" || p.active[r.id] {
		return // a redelivery of one the proxy has in hand
	}
	d := p.devices[r.thing]
	if d == nil {
		p.fail(r, "", wire.Errorf(wire.CodeAgentError, "the hub cannot proxy Thing %q (see its log)", r.thing))
		return
	}
	cmd, ok := d.commands[opName{r.op, r.name}]
	if !ok {
		p.fail(r, d.agent, wire.Errorf(wire.CodeAgentError, "the TD of %q names no device command for %s %q", r.thing, r.op, r.name))
		return
	}
	listening := p.opts.Transport == nil || p.opts.Transport.Subscribed(cmd.topic)
	if !d.available || !d.settled.IsZero() || !listening {
		if cmd.safe && !d.available {
			p.fail(r, d.agent, wire.Errorf(wire.CodeOffline, "device %q is offline and %q is a safe action, which is not held", r.thing, r.name))
			return
		}
		if d.available && d.settled.IsZero() {
			// Online but not subscribed yet (it said Online before this
			// request came, and subscribes after): flushSettled sends it
			// once the device listens.
			d.settled = time.Now().Add(minRecheck)
		}
		p.active[r.id] = true
		d.held = append(d.held, r)
		p.reply(d.agent, r.id, wire.StatusWaiting, nil, nil)
		return
	}
	p.active[r.id] = true
	p.send(d, r, cmd)
}

// cancel handles a cancelaction the core forwarded for a request the
// proxy has in hand: one held for an offline device is cancelled; one
// sent is not (the device has the command; its confirmation, if any, still
// completes it).
func (p *Proxy) cancel(r request) {
	d := p.devices[r.thing]
	if d == nil {
		return
	}
	for i, h := range d.held {
		if h.id == r.id {
			d.held = append(d.held[:i:i], d.held[i+1:]...)
			delete(p.active, r.id)
			p.reply(d.agent, r.id, wire.StatusFailed, nil, wire.Errorf(wire.CodeCancelled, "cancelled by %s before the device came back", r.sender))
			return
		}
	}
}

// flushSettled sends what was held for the devices that came back and
// settled.
func (p *Proxy) flushSettled() {
	now := time.Now()
	for _, id := range sortedKeys(p.devices) {
		d := p.devices[id]
		if d.settled.IsZero() || now.Before(d.settled) {
			continue
		}
		if d.available && !p.listening(d) {
			// Said online but not subscribed yet (a slow device, or one
			// that reconnects in steps): a command now would reach nobody.
			d.settled = now.Add(max(d.avail.settle, minRecheck))
			continue
		}
		d.settled = time.Time{}
		if d.available {
			p.flush(d)
		}
	}
}

// minRecheck is how often the proxy looks again for a device that said it
// is online but has not subscribed to its command topic yet, when its
// settle time is shorter.
const minRecheck = 100 * time.Millisecond

// listening reports whether a client subscribes to the command topic of
// each request held for d (true without a transport: send fails them).
func (p *Proxy) listening(d *deviceState) bool {
	if p.opts.Transport == nil {
		return true
	}
	for _, r := range d.held {
		if cmd, ok := d.commands[opName{r.op, r.name}]; ok && !p.opts.Transport.Subscribed(cmd.topic) {
			return false
		}
	}
	return true
}

// flush sends what was held for a device that came back.
func (p *Proxy) flush(d *deviceState) {
	held := d.held
	d.held = nil
	for _, r := range held {
		cmd, ok := d.commands[opName{r.op, r.name}]
		if !ok {
			delete(p.active, r.id)
			p.fail(r, d.agent, wire.Errorf(wire.CodeAgentError, "the TD of %q no longer names a device command for %s %q", r.thing, r.op, r.name))
			continue
		}
		p.send(d, r, cmd)
	}
}

// send publishes a request's command on the device's topic. It completes
// when the broker took the publish, or, where the TD names the property
// that confirms it, when the device reports that property.
func (p *Proxy) send(d *deviceState, r request, cmd command) {
	cur, err := p.opts.Inbox.Get(context.Background(), r.id)
	if err != nil || cur.Status.Final() {
		delete(p.active, r.id) // superseded, cancelled or expired meanwhile
		return
	}
	payload, err := cmd.codec.encode(r.input)
	if err != nil {
		delete(p.active, r.id)
		p.fail(r, d.agent, wire.Errorf(wire.CodeInvalidPayload, "%v", err))
		return
	}
	if p.opts.Transport == nil {
		delete(p.active, r.id)
		p.fail(r, d.agent, wire.Errorf(wire.CodeInternal, "the proxy has no transport"))
		return
	}
	// The hub publishes for the device's account only where the account
	// may publish itself, under the rules of this moment.
	id, err := actor(p.opts.Authz, d.agent)
	if err == nil {
		err = p.opts.Authz.CanPublishFree(id, cmd.topic)
	}
	if err != nil {
		delete(p.active, r.id)
		p.fail(r, d.agent, twin.AsWire(err))
		return
	}
	p.opts.Transport.Publish(twin.Message{Topic: cmd.topic, Payload: payload, QoS: cmd.qos, Retain: cmd.retain})
	if cmd.confirm == "" {
		delete(p.active, r.id)
		p.reply(d.agent, r.id, wire.StatusCompleted, nil, nil)
		return
	}
	p.reply(d.agent, r.id, wire.StatusRunning, nil, nil)
	p.await(d, r, cmd)
}

// await registers a sent command that waits for its confirming report.
func (p *Proxy) await(d *deviceState, r request, cmd command) {
	c := &confirm{req: r, agent: d.agent, property: cmd.confirm, output: cmd.output,
		deadline: time.Now().Add(cmd.timeout)}
	if r.op == wire.OpWriteProperty && cmd.confirm == r.name {
		c.want = r.input
	}
	p.confirms[r.id] = c
}

// awaitAgain takes up a request that was sent and awaited its confirming
// report when the hub stopped: it waits again (the command is not sent a
// second time), for the whole timeout from now.
func (p *Proxy) awaitAgain(r request) {
	if p.active[r.id] {
		return
	}
	d := p.devices[r.thing]
	if d == nil {
		return
	}
	cmd, ok := d.commands[opName{r.op, r.name}]
	if !ok || cmd.confirm == "" {
		p.reply(d.agent, r.id, wire.StatusCompleted, nil, nil)
		return
	}
	p.active[r.id] = true
	p.await(d, r, cmd)
}

// reported completes the requests that a device's report of a property
// confirms.
func (p *Proxy) reported(d *deviceState, name string, value []byte) {
	for _, id := range sortedKeys(p.confirms) {
		c := p.confirms[id]
		if c.req.thing != d.thingID || c.property != name {
			continue
		}
		if c.want != nil && !sameJSON(c.want, value) {
			continue // not (yet) the written value
		}
		delete(p.confirms, id)
		delete(p.active, id)
		var out []byte
		if c.output {
			out = value
		}
		p.reply(c.agent, id, wire.StatusCompleted, out, nil)
	}
}

// expireConfirms fails the commands whose confirming report did not come
// in time.
func (p *Proxy) expireConfirms() {
	now := time.Now()
	for _, id := range sortedKeys(p.confirms) {
		c := p.confirms[id]
		if now.Before(c.deadline) {
			continue
		}
		delete(p.confirms, id)
		delete(p.active, id)
		p.fail(c.req, c.agent, wire.Errorf(wire.CodeTimeout, "the device did not report %q after the command", c.property))
	}
}

// nextDeadline is how long the worker may sleep before a confirmation
// times out.
func (p *Proxy) nextDeadline() time.Duration {
	next := time.Hour
	now := time.Now()
	for _, c := range p.confirms {
		if d := c.deadline.Sub(now); d < next {
			next = max(d, time.Millisecond)
		}
	}
	for _, dev := range p.devices {
		if d := dev.settled.Sub(now); !dev.settled.IsZero() && d < next {
			next = max(d, time.Millisecond)
		}
	}
	return next
}

// reply reports a request's status as its agent, the way an agent
// answers on its replies topic.
func (p *Proxy) reply(agent, id string, status wire.Status, out []byte, e *wire.Error) {
	m := &twin.Message{
		Topic:           wire.RepliesTopic(agent),
		CorrelationData: []byte(id),
		QoS:             1,
		User:            []twin.Property{{Key: wire.PropStatus, Value: string(status)}},
		Payload:         out,
	}
	if e != nil {
		m.Payload, _ = json.Marshal(e)
	}
	// A status is reported as the agent the request was queued for, even
	// when its account was disabled meanwhile: ending its requests is what
	// keeps them from waiting for an agent that cannot answer.
	replier := authz.Identity{ID: agent, Role: authz.RoleAgent}
	if _, err := p.opts.Core.Publish(context.Background(), replier, proxyConn, m); err != nil && wire.CodeOf(err) != wire.CodeFinished {
		p.log.Error().Err(err).Str("id", id).Str("status", string(status)).Msg("proxy: cannot report a request's status")
	}
}

// fail ends a request with e.
func (p *Proxy) fail(r request, agent string, e *wire.Error) {
	if agent == "" {
		if got, err := p.opts.Inbox.Get(context.Background(), r.id); err == nil {
			agent = got.AgentID
		}
	}
	delete(p.active, r.id)
	p.reply(agent, r.id, wire.StatusFailed, nil, e)
}

// sameJSON compares two JSON documents by value.
func sameJSON(a, b []byte) bool {
	x, err1 := decodeJSON(a)
	y, err2 := decodeJSON(b)
	return err1 == nil && err2 == nil && equalJSON(x, y)
}

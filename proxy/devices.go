package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// reconcile brings the proxy's view of one Thing in line with the
// directory: a proxied device is (re)read from its TD and its topics
// tapped; a Thing deleted or no longer proxied is let go. atStart is set
// for the devices taken up when the hub starts: what the broker kept
// retained for them then is from before the restart (no device is
// connected yet), so it is neither their state nor their availability.
func (p *Proxy) reconcile(thingID string, atStart bool) {
	if p.dropEarly(thingID) {
		defer p.retap() // the early taps the device no longer needs go
	}
	old := p.devices[thingID]
	e, ok := p.opts.Directory.Get(thingID)
	if !ok || !twin.Proxied(e.TD) {
		if old != nil {
			p.forget(old)
			p.log.Info().Str("thing", thingID).Msg("proxy: device let go")
		}
		return
	}
	dev, err := parseDevice(e.TD, e.AgentID)
	if err != nil { // Check refused such TDs at registration; one from an older hub
		p.log.Error().Err(err).Str("thing", thingID).Msg("proxy: cannot proxy the device its TD describes")
		if old != nil {
			p.forget(old)
		}
		return
	}
	st := &deviceState{device: dev, available: dev.avail == nil}
	if old != nil {
		st.held = old.held
		if dev.avail != nil && old.avail != nil && old.avail.filter == dev.avail.filter {
			st.available = old.available
		}
	}
	p.devices[thingID] = st
	p.retap()
	if dev.avail != nil && (old == nil || old.avail == nil || old.avail.filter != dev.avail.filter) {
		// What the device left retained while connected tells its state;
		// without it (and at the hub's start) the device is offline until
		// it says otherwise.
		st.available = false
		if p.opts.Transport != nil && !atStart {
			for _, m := range p.opts.Transport.Retained(dev.avail.filter) {
				if online, ok := dev.avail.state(m.Payload); ok && p.mayReceive(st, m.Topic) {
					st.available = online
				}
			}
		}
	}
	p.setPresence(st)
	if old == nil {
		p.log.Info().Str("thing", thingID).Str("agent", dev.agent).Int("topics", len(dev.inbound)).
			Bool("availability", dev.avail != nil).Msg("proxy: device proxied")
		// The state the device left retained before the proxy listened (at
		// the hub's start the twin has it stored already).
		if p.opts.Transport != nil && !atStart {
			for _, r := range dev.inbound {
				for _, m := range p.opts.Transport.Retained(r.filter) {
					if p.mayReceive(st, m.Topic) {
						p.deliver(st, r, m.Payload)
					}
				}
			}
		}
	}
	if st.available {
		p.flush(st)
	}
}

// forget lets a device go: its topics are untapped and what the proxy had
// in hand for it is dropped (the core fails a deleted Thing's requests).
func (p *Proxy) forget(d *deviceState) {
	delete(p.devices, d.thingID)
	for _, r := range d.held {
		delete(p.active, r.id)
	}
	for id, c := range p.confirms {
		if c.req.thing == d.thingID {
			delete(p.confirms, id)
			delete(p.active, id)
		}
	}
	p.retap()
}

// tapEarly taps a proxied device's filters as soon as its TD is stored,
// on the goroutine that stored it: the registration's answer (an HTTP 201,
// a PUBACK) then means the proxy hears the device, and a report the device
// sends right after it is not lost before the worker takes the new device
// up (it is heard, queued behind that work, and handled once the device is
// known). The worker's reconcile settles the taps (dropEarly, retap).
func (p *Proxy) tapEarly(thingID string) {
	e, ok := p.opts.Directory.Get(thingID)
	if !ok || !twin.Proxied(e.TD) {
		return
	}
	dev, err := parseDevice(e.TD, e.AgentID)
	if err != nil {
		return // reconcile logs it
	}
	filters := dev.filters()
	p.tapMu.Lock()
	defer p.tapMu.Unlock()
	for _, f := range filters {
		if _, ok := p.taps[f]; !ok {
			p.taps[f] = p.tap(f)
		}
	}
	p.early[thingID] = append(p.early[thingID], filters...)
}

// dropEarly ends the early taps of a Thing the worker now reconciles; it
// reports whether there were any.
func (p *Proxy) dropEarly(thingID string) bool {
	p.tapMu.Lock()
	defer p.tapMu.Unlock()
	_, ok := p.early[thingID]
	delete(p.early, thingID)
	return ok
}

// filters are the topic filters a device's messages arrive on.
func (d *device) filters() []string {
	var fs []string
	for _, r := range d.inbound {
		fs = append(fs, r.filter)
	}
	if d.avail != nil {
		fs = append(fs, d.avail.filter)
	}
	return fs
}

// tap taps one filter: what is heard there is queued for the worker.
func (p *Proxy) tap(f string) func() {
	return p.opts.Core.Tap(f, func(_ authz.Identity, m twin.Message) {
		payload := append([]byte(nil), m.Payload...)
		p.enqueue(func() { p.heard(f, m.Topic, payload) }, true)
	})
}

// retap taps exactly the filters the devices need, and those tapped early
// for devices the worker has not taken up yet.
func (p *Proxy) retap() {
	p.tapMu.Lock()
	defer p.tapMu.Unlock()
	want := map[string]bool{}
	for _, fs := range p.early {
		for _, f := range fs {
			want[f] = true
		}
	}
	for _, d := range p.devices {
		for _, f := range d.filters() {
			want[f] = true
		}
	}
	for f, untap := range p.taps {
		if !want[f] {
			untap()
			delete(p.taps, f)
		}
	}
	for f := range want {
		if _, ok := p.taps[f]; ok {
			continue
		}
		p.taps[f] = p.tap(f)
	}
}

// heard handles a device's publish on a topic matching a tapped filter.
// Each device hears it only if its account may receive it now (access.go).
func (p *Proxy) heard(filter, topic string, payload []byte) {
	for _, id := range sortedKeys(p.devices) {
		d := p.devices[id]
		if !p.mayReceive(d, topic) {
			continue
		}
		if d.avail != nil && d.avail.filter == filter {
			if online, ok := d.avail.state(payload); ok && online != d.available {
				d.available = online
				p.setPresence(d)
				if online && len(d.held) > 0 {
					// Some devices (Tasmota) say Online before they subscribe
					// to their command topic: what was held goes out a moment
					// later, so that they get it.
					d.settled = time.Now().Add(d.avail.settle)
				}
			}
		}
		for _, r := range d.inbound {
			if r.filter == filter {
				p.deliver(d, r, payload)
			}
		}
	}
}

// mayReceive reports whether a device's account may receive a message on
// topic under the access rules now; a refusal is logged once per device
// and topic.
func (p *Proxy) mayReceive(d *deviceState, topic string) bool {
	id, err := actor(p.opts.Authz, d.agent)
	if err == nil && !p.opts.Authz.CanReceiveFree(id, topic) {
		err = wire.Errorf(wire.CodeDenied, "account %q may not receive %q (access rules)", d.agent, topic)
	}
	key := d.thingID + "\x00access\x00" + topic
	if err != nil {
		if msg := err.Error(); p.warned[key] != msg {
			p.warned[key] = msg
			p.log.Warn().Err(err).Str("thing", d.thingID).Str("topic", topic).Msg("proxy: device message not read for its account")
		}
		return false
	}
	delete(p.warned, key)
	return true
}

// deliver turns a device's message into the twin's property value or
// event, as the device's agent: the core checks, stores, stamps and fans
// it out as it does for any agent.
func (p *Proxy) deliver(d *deviceState, r route, payload []byte) {
	v, err := r.codec.decode(payload)
	if errors.Is(err, errAbsent) {
		return // a partial message without this affordance's member
	}
	kind := wire.TopicAgentProperty
	if r.kind == wire.KindEvent {
		kind = wire.TopicAgentEvent
	}
	var id authz.Identity
	if err == nil {
		id, err = actor(p.opts.Authz, d.agent)
	}
	if err == nil {
		var after func()
		topic := wire.Topic{Kind: kind, AgentID: d.agent, ThingID: d.thingID, Name: r.name}.String()
		after, err = p.opts.Core.Publish(context.Background(), id, proxyConn, &twin.Message{Topic: topic, Payload: v, QoS: 1})
		if after != nil {
			after()
		}
	}
	key := d.thingID + "\x00" + string(r.kind) + "\x00" + r.name
	if err != nil {
		// Logged once per distinct error, so a device that keeps sending
		// what the TD does not describe does not flood the log.
		if msg := err.Error(); p.warned[key] != msg {
			p.warned[key] = msg
			p.log.Warn().Err(err).Str("thing", d.thingID).Str("name", r.name).Str("kind", string(r.kind)).
				Str("payload", clip(string(payload))).Msg("proxy: device message does not fit the TD; dropped")
		}
		return
	}
	delete(p.warned, key)
	if r.kind == wire.KindProperty {
		p.reported(d, r.name, v)
	}
}

// setPresence reports the device's availability as its twin's presence.
func (p *Proxy) setPresence(d *deviceState) {
	state := wire.PresenceOffline
	if d.available {
		state = wire.PresenceOnline
	}
	if cur, err := p.opts.Presence.Get(context.Background(), d.thingID); err == nil && cur.State == state && cur.Seq > 0 {
		return
	}
	b, _ := json.Marshal(state)
	topic := wire.Topic{Kind: wire.TopicAgentPresence, AgentID: d.agent, ThingID: d.thingID}.String()
	id, err := actor(p.opts.Authz, d.agent)
	if err == nil {
		_, err = p.opts.Core.Publish(context.Background(), id, proxyConn, &twin.Message{Topic: topic, Payload: b, QoS: 1})
	}
	if err != nil {
		p.log.Error().Err(err).Str("thing", d.thingID).Msg("proxy: cannot set presence")
	}
}

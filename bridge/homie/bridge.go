package homie

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/bridge/feed"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// Options configures a Bridge. Core and Authz are required.
type Options struct {
	// Core is the twin core whose twins become Homie devices.
	Core *twin.Core
	// Authz decides whether a controller's /set may write the property or
	// invoke the action, as for the twin's own topics.
	Authz *authz.Store
	// Logger receives the bridge's log; the zero Logger drops it.
	Logger zerolog.Logger
	// Now is the clock (description versions); time.Now when nil.
	Now func() time.Time
}

// Bridge publishes every twin as a Homie 5 device and turns controllers'
// commands on .../set into requests of the twin.
type Bridge struct {
	opts Options
	log  zerolog.Logger
	feed *feed.Feed

	// Owned by the feed's goroutine.
	things  map[string]*device // by Thing ID
	devices map[string]string  // Thing ID by device ID
}

// device is what the bridge knows of one Thing.
type device struct {
	thingID  string
	id       string       // Homie device ID
	desc     *Description // nil until the TD is known
	sent     []byte       // the $description published, version aside
	version  int64
	values   map[string][]byte // latest twin value by property name
	presence wire.Presence     // "" until the hub published it
}

// New starts a bridge. Create it before the core starts, so that it hears
// the twin TDs, values and presence the core restores; Close it before the
// core closes.
func New(opts Options) *Bridge {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Bridge{opts: opts, log: opts.Logger.With().Str("bridge", "homie").Logger(),
		things: map[string]*device{}, devices: map[string]string{}}
	b.feed = feed.New(opts.Core, b.log, b.handle)
	b.feed.Listen(wire.DirectoryFilter(), false)
	b.feed.Listen(wire.ThingsRoot+"/+/presence", false)
	b.feed.Listen(wire.ThingsRoot+"/+/properties/+", true)
	b.feed.Listen(wire.ThingsRoot+"/+/events/+", true)
	b.feed.Tap(Root + "/+/+/+/set")
	return b
}

// Close stops the bridge. What it published stays retained.
func (b *Bridge) Close() { b.feed.Close() }

func (b *Bridge) handle(it feed.Item) {
	if it.Tapped {
		b.command(it.From, it.Message)
		return
	}
	m := it.Message
	t, err := wire.ParseTopic(m.Topic)
	if err != nil {
		return
	}
	switch t.Kind {
	case wire.TopicTD:
		if len(m.Payload) == 0 {
			b.remove(t.ThingID)
		} else {
			b.describe(t.ThingID, m.Payload)
		}
	case wire.TopicPresence:
		var rec struct {
			State wire.Presence `json:"state"`
		}
		if json.Unmarshal(m.Payload, &rec) != nil {
			return // cleared with its Thing
		}
		d := b.thing(t.ThingID)
		d.presence = rec.State
		if d.desc != nil {
			b.publish(d.topic("$state"), []byte(state(d.presence)), true)
		}
	case wire.TopicProperty:
		if len(m.Payload) == 0 { // cleared: its Thing or property is gone
			if d := b.things[t.ThingID]; d != nil {
				delete(d.values, t.Name)
			}
			return
		}
		d := b.thing(t.ThingID)
		d.values[t.Name] = m.Payload
		b.value(d, NodeProperties, t.Name, m.Payload)
	case wire.TopicEvent:
		if d := b.things[t.ThingID]; d != nil {
			b.value(d, NodeEvents, t.Name, m.Payload)
		}
	}
}

// thing is the device of a Thing, made on its first message (its values
// and presence may come before its TD).
func (b *Bridge) thing(thingID string) *device {
	d := b.things[thingID]
	if d == nil {
		d = &device{thingID: thingID, id: DeviceID(thingID), values: map[string][]byte{}}
		b.things[thingID] = d
	}
	return d
}

func (d *device) topic(rest string) string { return Root + "/" + d.id + "/" + rest }

// state is the Homie $state of a presence state: init until the hub
// published one (a new Thing's presence follows its TD).
func state(p wire.Presence) string {
	switch p {
	case "":
		return "init"
	case wire.PresenceOnline:
		return "ready"
	case wire.PresenceSleeping:
		return "sleeping"
	case wire.PresenceLost:
		return "lost"
	}
	return "disconnected"
}

// describe publishes a Thing's device for its (new) TD: $state init, the
// $description, the values, then its $state when its presence is known
// (Homie 5, "Device reconfiguration").
func (b *Bridge) describe(thingID string, doc []byte) {
	t, err := td.Parse(doc)
	if err != nil {
		b.log.Error().Err(err).Str("thing", thingID).Msg("cannot read twin TD")
		return
	}
	d := b.thing(thingID)
	if owner, taken := b.devices[d.id]; taken && owner != thingID {
		b.log.Error().Str("thing", thingID).Str("device", d.id).Str("taken_by", owner).Msg("Homie device ID taken by another Thing; this Thing is not published")
		return
	}
	desc, skipped := Describe(t)
	for _, s := range skipped {
		b.log.Debug().Str("thing", thingID).Str("left_out", s).Msg("left out of the Homie description")
	}
	sent := desc.marshal(0)
	if bytes.Equal(sent, d.sent) {
		return // the agent published the same TD again
	}
	old := d.desc
	d.version = max(b.opts.Now().UnixMilli(), d.version+1)
	b.devices[d.id] = thingID
	b.publish(d.topic("$state"), []byte("init"), true)
	b.publish(d.topic("$description"), desc.marshal(d.version), true)
	if old != nil { // clear the values of properties it no longer has
		for id, p := range old.Nodes[NodeProperties].props() {
			if desc.property(NodeProperties, id) == nil && (p.Retained == nil || *p.Retained) {
				b.publish(d.topic(NodeProperties+"/"+id), nil, true)
			}
		}
	}
	d.desc, d.sent = desc, sent
	for name, v := range d.values {
		b.value(d, NodeProperties, name, v)
	}
	if d.presence != "" {
		b.publish(d.topic("$state"), []byte(state(d.presence)), true)
	}
}

func (n *Node) props() map[string]*Property {
	if n == nil {
		return nil
	}
	return n.Properties
}

// value publishes a property value or an event of a described device.
func (b *Bridge) value(d *device, node, name string, v []byte) {
	if d.desc == nil {
		return
	}
	id := slug(name, 4)
	p := d.desc.property(node, id)
	if p == nil || p.name != name {
		return
	}
	payload, err := ToHomie(p, v)
	if err != nil {
		b.log.Warn().Err(err).Str("thing", d.thingID).Str(p.kind, name).Msg("value not published to Homie")
		return
	}
	retained := p.Retained == nil || *p.Retained
	qos := byte(1)
	if !retained {
		qos = 0 // Homie 5: non-retained values at QoS 0
	}
	if err := b.opts.Core.PublishOwn(twin.Message{Topic: d.topic(node + "/" + id), Payload: payload, Retain: retained, QoS: qos}); err != nil {
		b.log.Error().Err(err).Str("thing", d.thingID).Msg("cannot publish Homie value")
	}
}

// remove clears a deleted Thing's device: $state first, so that
// controllers drop it, then the rest (Homie 5, "Device Lifecycle").
func (b *Bridge) remove(thingID string) {
	d := b.things[thingID]
	delete(b.things, thingID)
	if d == nil || d.desc == nil {
		return
	}
	delete(b.devices, d.id)
	b.publish(d.topic("$state"), nil, true)
	b.publish(d.topic("$description"), nil, true)
	for id, p := range d.desc.Nodes[NodeProperties].props() {
		if p.Retained == nil || *p.Retained {
			b.publish(d.topic(NodeProperties+"/"+id), nil, true)
		}
	}
}

func (b *Bridge) publish(topic string, payload []byte, retain bool) {
	if err := b.opts.Core.PublishOwn(twin.Message{Topic: topic, Payload: payload, Retain: retain, QoS: 1}); err != nil {
		b.log.Error().Err(err).Str("topic", topic).Msg("cannot publish Homie topic")
	}
}

// command turns a controller's publish on homie/5/{device}/{node}/{property}/set
// into a request of the twin, sent by the controller's account and decided
// by its rights like a publish on the twin's own topic. Homie has no
// replies: the outcome shows in the property's value, and a refusal only
// in the hub's log.
func (b *Bridge) command(from authz.Identity, m twin.Message) {
	levels := strings.Split(strings.TrimPrefix(m.Topic, Root+"/"), "/")
	if len(levels) != 4 || levels[3] != "set" {
		return
	}
	thingID, ok := b.devices[levels[0]]
	d := b.things[thingID]
	if !ok || d == nil || d.desc == nil {
		b.log.Info().Str("topic", m.Topic).Str("from", from.ID).Msg("Homie command for no device of the hub")
		return
	}
	p := d.desc.property(levels[1], levels[2])
	if p == nil || !p.Settable {
		b.log.Info().Str("topic", m.Topic).Str("from", from.ID).Msg("Homie command for no settable property")
		return
	}
	input, err := FromHomie(p, m.Payload)
	if err != nil {
		b.log.Info().Err(err).Str("topic", m.Topic).Str("from", from.ID).Msg("Homie command refused")
		return
	}
	t := wire.Topic{Kind: wire.TopicPropertySet, ThingID: thingID, Name: p.name}
	op, perm := wire.OpWriteProperty, authz.OpWriteProperty
	if p.kind == "action" {
		t.Kind, op, perm = wire.TopicAction, wire.OpInvokeAction, authz.OpInvokeAction
	}
	if err := b.opts.Authz.Decide(from, perm, thingID); err != nil {
		b.log.Info().Err(err).Str("topic", m.Topic).Str("from", from.ID).Msg("Homie command refused")
		return
	}
	if _, err := b.opts.Core.Submit(context.Background(), from, t, op, input, twin.Submission{}); err != nil {
		b.log.Info().Err(err).Str("topic", m.Topic).Str("from", from.ID).Msg("Homie command refused")
	}
}

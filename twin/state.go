package twin

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"reflect"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/wire"
)

// PresenceEvent is the name of the event the hub adds to every twin TD
// (unless the agent's TD has an event of that name) for the Thing's
// presence, published retained on things/{id}/presence.
const PresenceEvent = "presence"

func agentRecord(agent string, online bool, remote string, now time.Time) presence.Agent {
	return presence.Agent{ID: agent, Online: online, LastSeen: now.UTC(), Remote: remote}
}

func outboxEvent(thingID, name string, value []byte, sender string) outbox.Record {
	return outbox.Record{Kind: wire.KindEvent, ThingID: thingID, Name: name, Value: value, Sender: sender}
}

// DesiredState and DeltaEntry are the wire records of desired state (see
// package wot).
type (
	DesiredState = wire.DesiredState
	DeltaEntry   = wire.DeltaEntry
)

// publishDesired publishes (or clears) the retained desired state of a
// property and the Thing's delta.
func (c *Core) publishDesired(ctx context.Context, thingID, name string) {
	d, ok, err := c.inbox.GetDesired(ctx, thingID, name)
	if err != nil {
		c.log.Error().Err(err).Str("thing", thingID).Str("name", name).Msg("cannot read desired state")
		return
	}
	topic := wire.Topic{Kind: wire.TopicPropertyDesired, ThingID: thingID, Name: name}.String()
	if !ok {
		c.publish(topic, nil, true, nil)
	} else {
		b, _ := json.Marshal(DesiredState{Value: d.Value, Time: d.Time, Version: d.Version, ActionID: d.ActionID})
		c.publish(topic, b, true, nil)
	}
	c.publishDelta(ctx, thingID)
}

// publishDelta publishes the retained delta of a Thing: every property
// whose desired state differs from its reported value ({} when none does).
func (c *Core) publishDelta(ctx context.Context, thingID string) {
	all, err := c.inbox.DesiredAll(ctx, thingID)
	if err != nil {
		c.log.Error().Err(err).Str("thing", thingID).Msg("cannot read desired state")
		return
	}
	delta := map[string]DeltaEntry{}
	for _, d := range all {
		e := DeltaEntry{Desired: d.Value, Version: d.Version, DesiredTime: d.Time}
		rep, ok, err := c.outbox.Latest(ctx, thingID, wire.KindProperty, d.Name)
		if err != nil {
			c.log.Error().Err(err).Str("thing", thingID).Msg("cannot read reported state")
			return
		}
		if ok {
			if jsonEqual(rep.Value, d.Value) {
				continue
			}
			e.Reported, e.ReportedTime = rep.Value, rep.Time
		}
		delta[d.Name] = e
	}
	b, _ := json.Marshal(delta)
	c.publish(wire.Topic{Kind: wire.TopicDelta, ThingID: thingID}.String(), b, true, nil)
}

// reported updates the desired state after the agent reported a property
// value. Conflict rule (docs/topics.md): the desired state ends when the
// agent reports that value, or reports any value after it completed the
// write that set it (the device has the last word on what it applied).
func (c *Core) reported(ctx context.Context, thingID, name string, value []byte) {
	d, ok, err := c.inbox.GetDesired(ctx, thingID, name)
	if err != nil || !ok {
		return
	}
	done := jsonEqual(d.Value, value)
	if !done {
		if r, err := c.inbox.Get(ctx, d.ActionID); err == nil && r.Status == wire.StatusCompleted {
			done = true
		}
	}
	if done {
		if _, err := c.inbox.ClearDesired(ctx, thingID, name, d.ActionID); err != nil {
			c.log.Error().Err(err).Str("thing", thingID).Str("name", name).Msg("cannot clear desired state")
		}
		c.publishDesired(ctx, thingID, name)
		return
	}
	c.publishDelta(ctx, thingID)
}

// jsonEqual compares two JSON documents by value: numbers by numeric
// value, objects regardless of member order.
func jsonEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, ok1 := decodeJSON(a)
	vb, ok2 := decodeJSON(b)
	return ok1 && ok2 && equalValues(va, vb)
}

func decodeJSON(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	return v, d.Decode(&v) == nil
}

func equalValues(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, ok1 := new(big.Float).SetString(string(x))
		fy, ok2 := new(big.Float).SetString(string(y))
		return ok1 && ok2 && fx.Cmp(fy) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalValues(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// presenceRecord is the retained payload of things/{id}/presence.
type presenceRecord = wire.PresenceState

// setPresence records and publishes a Thing's presence if it changed. The
// caller holds the agent's lock, so transitions of one agent's Things are
// published in the order they were decided.
func (c *Core) setPresence(ctx context.Context, thingID, agent string, state wire.Presence, byAgent bool) {
	p, changed, err := c.presence.Set(ctx, thingID, state, byAgent)
	if err != nil {
		c.log.Error().Err(err).Str("thing", thingID).Msg("cannot store presence")
		return
	}
	if !changed {
		return
	}
	b, _ := json.Marshal(presenceRecord{State: p.State, Since: p.Since, Seq: p.Seq})
	c.publish(wire.Topic{Kind: wire.TopicPresence, ThingID: thingID}.String(), b, true, stamp(agent, p.Since))
	if e, ok := c.dir.Get(thingID); ok && e.TD.Events[PresenceEvent] == nil {
		// The twin TD describes presence as its event "presence": keep it
		// in the event history like any other event, then publish it on the
		// event topic stamped with the stored record's time (its cursor,
		// which HTTP event streams resume from).
		rec, err := c.outbox.Append(ctx, outboxEvent(thingID, PresenceEvent, b, agent), outbox.RetainDefault)
		if err != nil {
			c.log.Error().Err(err).Str("thing", thingID).Msg("cannot store presence event")
			rec.Time = p.Since
		}
		c.publish(wire.EventTopic(thingID, PresenceEvent), b, false, stamp(agent, rec.Time))
	}
	c.log.Debug().Str("thing", thingID).Str("state", string(state)).Uint64("seq", p.Seq).Msg("presence")
}

// agentConnected and agentDisconnected follow an agent's connections:
// its Things are online while it has at least one, and offline (clean
// DISCONNECT) or lost (connection broken) after the last one ends.
func (c *Core) agentConnected(agent, remote string, first bool) {
	if !first || !c.enter() {
		return
	}
	defer c.leave()
	ctx := context.Background()
	mu := c.agentLock(agent)
	mu.Lock()
	defer mu.Unlock()
	if !c.conns.connected(agent) {
		return
	}
	things := c.dir.ByAgent(agent)
	if err := c.presence.SetAgent(ctx, agentRecord(agent, true, remote, c.opts.Now())); err != nil {
		c.log.Error().Err(err).Str("agent", agent).Msg("cannot store agent presence")
	}
	for _, e := range things {
		if !Proxied(e.TD) { // its presence follows the device
			c.setPresence(ctx, e.ThingID, agent, wire.PresenceOnline, false)
		}
	}
}

func (c *Core) agentDisconnected(agent, remote string, clean bool) {
	if !c.enter() {
		return
	}
	defer c.leave()
	ctx := context.Background()
	mu := c.agentLock(agent)
	mu.Lock()
	defer mu.Unlock()
	if c.conns.connected(agent) {
		return // another connection of the agent is still up
	}
	if err := c.presence.SetAgent(ctx, agentRecord(agent, false, remote, c.opts.Now())); err != nil {
		c.log.Error().Err(err).Str("agent", agent).Msg("cannot store agent presence")
	}
	state := wire.PresenceLost
	if clean {
		state = wire.PresenceOffline
	}
	for _, e := range c.dir.ByAgent(agent) {
		if !Proxied(e.TD) { // its presence follows the device
			c.setPresence(ctx, e.ThingID, agent, state, false)
		}
	}
}

// agentPresence handles an agent setting one Thing's presence (a gateway
// reporting a device behind it).
func (c *Core) agentPresence(ctx context.Context, who authz.Identity, t wire.Topic, pk *Message) error {
	if _, err := c.ownedThing(who, t.ThingID); err != nil {
		return err
	}
	id := who.ID
	var state wire.Presence
	if err := json.Unmarshal(pk.Payload, &state); err != nil || !state.Valid() {
		return wire.Errorf(wire.CodeInvalidPayload, "presence must be one of \"online\", \"offline\", \"lost\", \"sleeping\" (a JSON string)")
	}
	mu := c.agentLock(id)
	mu.Lock()
	defer mu.Unlock()
	c.setPresence(ctx, t.ThingID, id, state, true)
	return nil
}

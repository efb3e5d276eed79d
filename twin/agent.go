package twin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// RetentionMember is the TD member, on an event or property, that overrides
// the hub's history retention for it: a Go duration ("36h"), or "0" to keep
// only the latest value.
const RetentionMember = "wotmq:retention"

// RegisterTD registers or replaces the TD of a Thing as owner, like an
// agent's AgentUpdateTD on MQTT (an empty doc deletes the Thing): checked
// (TD, names, retention, quotas, the twin's size), stored, its twin TD
// published and its presence set.
func (c *Core) RegisterTD(ctx context.Context, owner authz.Identity, thingID string, doc []byte) error {
	return c.agentUpdateTD(ctx, owner, wire.Topic{Kind: wire.TopicAgentTD, AgentID: owner.ID, ThingID: thingID}, doc)
}

// agentUpdateTD handles AgentUpdateTD: register, replace or (empty
// payload) delete a Thing.
func (c *Core) agentUpdateTD(ctx context.Context, id authz.Identity, t wire.Topic, payload []byte) error {
	if len(payload) == 0 {
		return c.DeleteThing(ctx, id, t.ThingID)
	}
	thing, err := td.Parse(payload)
	if err != nil {
		return wire.Errorf(wire.CodeInvalidTD, "%v", err)
	}
	if thing.ID == "" {
		thing.ID = t.ThingID
	} else if thing.ID != t.ThingID {
		return wire.Errorf(wire.CodeInvalidTD, "$.id: %q differs from the Thing ID in the topic (%q)", thing.ID, t.ThingID)
	}
	if err := td.Validate(thing, td.ValidateOptions{FormsOptional: true}); err != nil {
		return wire.Errorf(wire.CodeInvalidTD, "%s", strings.TrimPrefix(err.Error(), "td: "))
	}
	if err := checkNames(thing); err != nil {
		return err
	}
	if err := checkRetention(thing); err != nil {
		return err
	}
	if err := c.checkProxyMix(id.ID, thing); err != nil {
		return err
	}
	if c.opts.CheckTD != nil {
		if err := c.opts.CheckTD(id, thing); err != nil {
			return wire.Errorf(wire.CodeInvalidTD, "%v", err)
		}
	}
	if err := c.checkThingQuota(id.ID, thing.ID); err != nil {
		return err
	}
	if err := c.checkAffordances(thing); err != nil {
		return err
	}
	raw, err := json.Marshal(thing)
	if err != nil {
		return fmt.Errorf("twin: encode TD: %w", err)
	}
	twin, err := c.TwinTD(thing)
	if err != nil {
		return err
	}
	if err := c.checkTwinSize(thing.ID, twin); err != nil {
		return err
	}
	e := &directory.Entry{ThingID: thing.ID, AgentID: id.ID, TD: thing, Updated: c.opts.Now().UTC()}
	prev, err := c.dir.Put(ctx, e, raw)
	if errors.Is(err, directory.ErrNotOwner) {
		return wire.Errorf(wire.CodeDenied, "Thing %q is registered by another agent", thing.ID)
	}
	if err != nil {
		return err
	}
	c.publish(wire.TDTopic(thing.ID), twin, true, nil)
	if prev != nil {
		c.clearRemoved(ctx, prev.TD, thing)
	}
	mu := c.agentLock(id.ID)
	mu.Lock()
	state := wire.PresenceOffline
	if c.conns.connected(id.ID) {
		state = wire.PresenceOnline
	}
	// A proxied device's presence follows the device (the proxy sets it),
	// not the connections of the account that registered it.
	if p, err := c.presence.Get(ctx, thing.ID); err == nil && (p.Seq == 0 || !p.ByAgent) && !Proxied(thing) {
		c.setPresence(ctx, thing.ID, id.ID, state, false)
	}
	mu.Unlock()
	ev := c.log.Info()
	if prev != nil {
		ev = c.log.Debug()
	}
	ev.Str("thing", thing.ID).Str("agent", id.ID).Bool("new", prev == nil).Msg("thing registered")
	return nil
}

// checkNames refuses affordance names that cannot stand in a topic level.
func checkNames(t *td.Thing) error {
	check := func(kind string, names func(yield func(string) bool)) error {
		for n := range names {
			if err := wire.ValidateID(n); err != nil {
				return wire.Errorf(wire.CodeInvalidTD, "$.%s[%q]: %s", kind, n, wire.CodeOf(err))
			}
		}
		return nil
	}
	if err := check("properties", keys(t.Properties)); err != nil {
		return err
	}
	if err := check("actions", keys(t.Actions)); err != nil {
		return err
	}
	return check("events", keys(t.Events))
}

func keys[V any](m map[string]V) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// clearRemoved clears the retained topics and stored latest values of the
// properties and actions that a TD update dropped.
func (c *Core) clearRemoved(ctx context.Context, old, cur *td.Thing) {
	for name := range old.Properties {
		if _, ok := cur.Properties[name]; !ok {
			c.publish(wire.PropertyTopic(old.ID, name), nil, true, nil)
		}
	}
	for name := range old.Actions {
		if _, ok := cur.Actions[name]; !ok {
			c.publish(wire.ActionStatusTopic(old.ID, name), nil, true, nil)
		}
	}
	if err := c.outbox.DeleteLatest(ctx, cur.ID, wire.KindProperty, func(n string) bool { _, ok := cur.Properties[n]; return ok }); err != nil {
		c.log.Error().Err(err).Str("thing", cur.ID).Msg("cannot drop values of removed properties")
	}
	if err := c.outbox.DeleteLatest(ctx, cur.ID, wire.KindEvent, func(n string) bool { _, ok := cur.Events[n]; return ok }); err != nil {
		c.log.Error().Err(err).Str("thing", cur.ID).Msg("cannot drop values of removed events")
	}
}

// DeleteThing removes a Thing its agent deleted: the directory entry, its
// retained topics, its stored values, and its unfinished requests (failed).
func (c *Core) DeleteThing(ctx context.Context, id authz.Identity, thingID string) error {
	e, err := c.dir.Delete(ctx, thingID, id.ID)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return wire.Errorf(wire.CodeUnknownThing, "no Thing %q to delete", thingID)
	case errors.Is(err, directory.ErrNotOwner):
		return wire.Errorf(wire.CodeDenied, "Thing %q is registered by another agent", thingID)
	case err != nil:
		return err
	}
	c.failThingRequests(ctx, id.ID, thingID)
	c.publish(wire.TDTopic(thingID), nil, true, nil)
	for name := range e.TD.Properties {
		c.publish(wire.PropertyTopic(thingID, name), nil, true, nil)
		c.publish(wire.Topic{Kind: wire.TopicPropertyDesired, ThingID: thingID, Name: name}.String(), nil, true, nil)
	}
	for name := range e.TD.Actions {
		c.publish(wire.ActionStatusTopic(thingID, name), nil, true, nil)
	}
	c.publish(wire.Topic{Kind: wire.TopicDelta, ThingID: thingID}.String(), nil, true, nil)
	c.publish(wire.Topic{Kind: wire.TopicPresence, ThingID: thingID}.String(), nil, true, nil)
	if err := c.outbox.DeleteThing(ctx, thingID); err != nil {
		c.log.Error().Err(err).Str("thing", thingID).Msg("cannot drop history of deleted thing")
	}
	if err := c.inbox.DeleteThing(ctx, thingID); err != nil {
		c.log.Error().Err(err).Str("thing", thingID).Msg("cannot drop requests of deleted thing")
	}
	if err := c.presence.Delete(ctx, thingID); err != nil {
		c.log.Error().Err(err).Str("thing", thingID).Msg("cannot drop presence of deleted thing")
	}
	c.log.Info().Str("thing", thingID).Str("agent", id.ID).Msg("thing deleted")
	return nil
}

// agentPublish handles AgentPublishEvent and AgentUpdateProperty: check,
// store, then fan out on the twin topic.
func (c *Core) agentPublish(ctx context.Context, id authz.Identity, t wire.Topic, kind wire.HistoryKind, pk *Message) error {
	return c.beginAgentPublish(ctx, id, t, relayTopic(t), kind, pk)()
}

// beginAgentPublish checks an agent's event or property value and queues
// its store (outbox.AppendLater); finish waits for the commit and sends
// the value on, on relay (relayTopic of t). A refusal is finish's error.
func (c *Core) beginAgentPublish(ctx context.Context, id authz.Identity, t wire.Topic, relay string, kind wire.HistoryKind, pk *Message) (finish func() error) {
	e, err := c.ownedThing(id, t.ThingID)
	if err != nil {
		return func() error { return err }
	}
	var schema *td.DataSchema
	var extra map[string]json.RawMessage
	if kind == wire.KindEvent {
		ev, ok := e.TD.Events[t.Name]
		if !ok {
			return func() error {
				return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no event %q", t.ThingID, t.Name)
			}
		}
		schema, extra = ev.Data, ev.Extra
	} else {
		p, ok := e.TD.Properties[t.Name]
		if !ok {
			return func() error {
				return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no property %q", t.ThingID, t.Name)
			}
		}
		schema, extra = &p.DataSchema, p.Extra
	}
	if err := checkValue(schema, pk.Payload, kind == wire.KindEvent); err != nil {
		return func() error { return err }
	}
	origin, seq, err := c.agentStamp(pk)
	if err != nil {
		return func() error { return err }
	}
	wait := c.outbox.AppendLater(ctx, outbox.Record{
		Kind: kind, ThingID: t.ThingID, Name: t.Name, Value: pk.Payload, Sender: id.ID, Origin: origin, Seq: seq,
	}, c.retention(t.Name, extra))
	return func() error {
		rec, err := wait()
		if errors.Is(err, outbox.ErrRepeat) {
			// Stored already: the agent sent it again because it missed the
			// acknowledgement. Acknowledged, neither stored nor relayed again.
			c.log.Debug().Str("thing", t.ThingID).Str("name", t.Name).Uint64("seq", seq).Msg("repeated publish ignored")
			return nil
		}
		if err != nil {
			return err
		}
		props := stamp(id.ID, rec.When())
		if kind == wire.KindEvent {
			payload, qos := pk.Payload, pk.QoS
			afterAck(ctx, func() { c.publishQoS(relay, payload, false, qos, props) })
		} else {
			// A property's retained value is in place before the PUBACK, so
			// that a subscription made after it gets the new value.
			c.publish(relay, pk.Payload, true, props)
			c.reported(ctx, t.ThingID, t.Name, pk.Payload)
		}
		return nil
	}
}

// maxFutureOrigin is how far ahead of the hub's clock an agent's time may
// be: clocks differ a little, but a value from the future is a mistake.
const maxFutureOrigin = time.Minute

// agentStamp reads the time and sequence an agent may give its event or
// property value (wire.PropTime, wire.PropSeq).
func (c *Core) agentStamp(pk *Message) (origin time.Time, seq uint64, err error) {
	if s := userProp(pk, wire.PropTime); s != "" {
		origin, err = time.Parse(time.RFC3339Nano, s)
		if err != nil || origin.Year() < 1970 {
			return origin, 0, wire.Errorf(wire.CodeInvalidPayload, "user property time %q: want an RFC 3339 time after 1970", s)
		}
		if origin.After(c.opts.Now().Add(maxFutureOrigin)) {
			return origin, 0, wire.Errorf(wire.CodeInvalidPayload, "user property time %q is in the future", s)
		}
		origin = origin.UTC()
	}
	if s := userProp(pk, wire.PropSeq); s != "" {
		seq, err = strconv.ParseUint(s, 10, 64)
		if err != nil || seq == 0 {
			return origin, 0, wire.Errorf(wire.CodeInvalidPayload, "user property seq %q: want a positive decimal integer", s)
		}
	}
	return origin, seq, nil
}

// ownedThing returns the directory entry of a Thing that agent id owns.
func (c *Core) ownedThing(id authz.Identity, thingID string) (*directory.Entry, error) {
	e, ok := c.dir.Get(thingID)
	if !ok {
		return nil, wire.Errorf(wire.CodeUnknownThing, "no Thing %q; publish its TD first", thingID)
	}
	if e.AgentID != id.ID {
		return nil, wire.Errorf(wire.CodeDenied, "Thing %q is registered by another agent", thingID)
	}
	return e, nil
}

// checkValue checks a payload against a data schema. An empty payload is
// allowed where no value is required (an event without data).
func checkValue(s *td.DataSchema, payload []byte, emptyOK bool) error {
	if len(payload) == 0 {
		if emptyOK && (s == nil || s.Type == "" || s.Type == "null") {
			return nil
		}
		return wire.Errorf(wire.CodeInvalidPayload, "empty payload; a JSON value is required")
	}
	if !utf8.Valid(payload) { // encoding/json would take it, with U+FFFD in place
		return wire.Errorf(wire.CodeInvalidPayload, "payload is not valid UTF-8 (JSON must be, RFC 8259)")
	}
	if s == nil {
		if !json.Valid(payload) {
			return wire.Errorf(wire.CodeInvalidPayload, "payload is not JSON")
		}
		return nil
	}
	if err := s.ValidateJSON(payload); err != nil {
		return wire.Errorf(wire.CodeInvalidPayload, "%s", strings.TrimPrefix(err.Error(), "td: "))
	}
	return nil
}

// retention is the history retention of an affordance: the hub's
// override for its name, else its RetentionMember (checkRetention made
// sure it parses), else the default.
func (c *Core) retention(name string, extra map[string]json.RawMessage) outbox.Retain {
	if d, ok := c.opts.RetentionOverrides[name]; ok {
		if d <= 0 {
			return outbox.RetainNone
		}
		return outbox.Retain(d)
	}
	r, _ := parseRetention(extra)
	return r
}

func parseRetention(extra map[string]json.RawMessage) (outbox.Retain, error) {
	raw, ok := extra[RetentionMember]
	if !ok {
		return outbox.RetainDefault, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return outbox.RetainDefault, fmt.Errorf("want a duration string such as \"36h\", or \"0\"")
	}
	if s == "0" {
		return outbox.RetainNone, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return outbox.RetainDefault, fmt.Errorf("%q is not a positive duration such as \"36h\", or \"0\"", s)
	}
	return outbox.Retain(d), nil
}

// checkRetention refuses a TD whose retention annotations do not parse.
func checkRetention(t *td.Thing) error {
	for name, p := range t.Properties {
		if _, err := parseRetention(p.Extra); err != nil {
			return wire.Errorf(wire.CodeInvalidTD, "$.properties[%q][%q]: %v", name, RetentionMember, err)
		}
	}
	for name, e := range t.Events {
		if _, err := parseRetention(e.Extra); err != nil {
			return wire.Errorf(wire.CodeInvalidTD, "$.events[%q][%q]: %v", name, RetentionMember, err)
		}
	}
	return nil
}

// stamp returns the user properties the hub adds to what it relays.
func stamp(sender string, t time.Time) []Property {
	return []Property{
		{Key: wire.PropSender, Value: sender},
		{Key: wire.PropTime, Value: t.UTC().Format(time.RFC3339Nano)},
	}
}

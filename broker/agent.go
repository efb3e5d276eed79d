package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// RetentionMember is the TD member, on an event or property, that overrides
// the hub's history retention for it: a Go duration ("36h"), or "0" to keep
// only the latest value.
const RetentionMember = "wotmq:retention"

// agentUpdateTD handles AgentUpdateTD: register, replace or (empty
// payload) delete a Thing.
func (h *Hub) agentUpdateTD(ctx context.Context, id authz.Identity, t wot.Topic, payload []byte) error {
	if len(payload) == 0 {
		return h.deleteThing(ctx, id, t.ThingID)
	}
	thing, err := td.Parse(payload)
	if err != nil {
		return wot.Errorf(wot.CodeInvalidTD, "%v", err)
	}
	if thing.ID == "" {
		thing.ID = t.ThingID
	} else if thing.ID != t.ThingID {
		return wot.Errorf(wot.CodeInvalidTD, "$.id: %q differs from the Thing ID in the topic (%q)", thing.ID, t.ThingID)
	}
	if err := td.Validate(thing, td.ValidateOptions{FormsOptional: true}); err != nil {
		return wot.Errorf(wot.CodeInvalidTD, "%s", strings.TrimPrefix(err.Error(), "td: "))
	}
	if err := checkNames(thing); err != nil {
		return err
	}
	if err := checkRetention(thing); err != nil {
		return err
	}
	if err := h.checkThingQuota(id.ID, thing.ID); err != nil {
		return err
	}
	if err := h.checkAffordances(thing); err != nil {
		return err
	}
	raw, err := json.Marshal(thing)
	if err != nil {
		return fmt.Errorf("broker: encode TD: %w", err)
	}
	twin, err := h.twinTD(thing)
	if err != nil {
		return err
	}
	if err := h.checkTwinSize(thing.ID, twin); err != nil {
		return err
	}
	e := &directory.Entry{ThingID: thing.ID, AgentID: id.ID, TD: thing, Updated: h.opts.Now().UTC()}
	prev, err := h.dir.Put(ctx, e, raw)
	if errors.Is(err, directory.ErrNotOwner) {
		return wot.Errorf(wot.CodeDenied, "Thing %q is registered by another agent", thing.ID)
	}
	if err != nil {
		return err
	}
	h.publish(wot.TDTopic(thing.ID), twin, true, nil)
	if prev != nil {
		h.clearRemoved(ctx, prev.TD, thing)
	}
	mu := h.agentLock(id.ID)
	mu.Lock()
	state := wot.PresenceOffline
	if h.conns.connected(id.ID) {
		state = wot.PresenceOnline
	}
	if p, err := h.presence.Get(ctx, thing.ID); err == nil && (p.Seq == 0 || !p.ByAgent) {
		h.setPresence(ctx, thing.ID, id.ID, state, false)
	}
	mu.Unlock()
	ev := h.log.Info()
	if prev != nil {
		ev = h.log.Debug()
	}
	ev.Str("thing", thing.ID).Str("agent", id.ID).Bool("new", prev == nil).Msg("thing registered")
	return nil
}

// checkNames refuses affordance names that cannot stand in a topic level.
func checkNames(t *td.Thing) error {
	check := func(kind string, names func(yield func(string) bool)) error {
		for n := range names {
			if err := wot.ValidateID(n); err != nil {
				return wot.Errorf(wot.CodeInvalidTD, "$.%s[%q]: %s", kind, n, wot.CodeOf(err))
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
func (h *Hub) clearRemoved(ctx context.Context, old, cur *td.Thing) {
	for name := range old.Properties {
		if _, ok := cur.Properties[name]; !ok {
			h.publish(wot.PropertyTopic(old.ID, name), nil, true, nil)
		}
	}
	for name := range old.Actions {
		if _, ok := cur.Actions[name]; !ok {
			h.publish(wot.ActionStatusTopic(old.ID, name), nil, true, nil)
		}
	}
	if err := h.outbox.DeleteLatest(ctx, cur.ID, wot.KindProperty, func(n string) bool { _, ok := cur.Properties[n]; return ok }); err != nil {
		h.log.Error().Err(err).Str("thing", cur.ID).Msg("cannot drop values of removed properties")
	}
	if err := h.outbox.DeleteLatest(ctx, cur.ID, wot.KindEvent, func(n string) bool { _, ok := cur.Events[n]; return ok }); err != nil {
		h.log.Error().Err(err).Str("thing", cur.ID).Msg("cannot drop values of removed events")
	}
}

// deleteThing removes a Thing its agent deleted: the directory entry, its
// retained topics, its stored values, and its unfinished requests (failed).
func (h *Hub) deleteThing(ctx context.Context, id authz.Identity, thingID string) error {
	e, err := h.dir.Delete(ctx, thingID, id.ID)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return wot.Errorf(wot.CodeUnknownThing, "no Thing %q to delete", thingID)
	case errors.Is(err, directory.ErrNotOwner):
		return wot.Errorf(wot.CodeDenied, "Thing %q is registered by another agent", thingID)
	case err != nil:
		return err
	}
	h.failThingRequests(ctx, id.ID, thingID)
	h.publish(wot.TDTopic(thingID), nil, true, nil)
	for name := range e.TD.Properties {
		h.publish(wot.PropertyTopic(thingID, name), nil, true, nil)
		h.publish(wot.Topic{Kind: wot.TopicPropertyDesired, ThingID: thingID, Name: name}.String(), nil, true, nil)
	}
	for name := range e.TD.Actions {
		h.publish(wot.ActionStatusTopic(thingID, name), nil, true, nil)
	}
	h.publish(wot.Topic{Kind: wot.TopicDelta, ThingID: thingID}.String(), nil, true, nil)
	h.publish(wot.Topic{Kind: wot.TopicPresence, ThingID: thingID}.String(), nil, true, nil)
	if err := h.outbox.DeleteThing(ctx, thingID); err != nil {
		h.log.Error().Err(err).Str("thing", thingID).Msg("cannot drop history of deleted thing")
	}
	if err := h.inbox.DeleteThing(ctx, thingID); err != nil {
		h.log.Error().Err(err).Str("thing", thingID).Msg("cannot drop requests of deleted thing")
	}
	if err := h.presence.Delete(ctx, thingID); err != nil {
		h.log.Error().Err(err).Str("thing", thingID).Msg("cannot drop presence of deleted thing")
	}
	h.log.Info().Str("thing", thingID).Str("agent", id.ID).Msg("thing deleted")
	return nil
}

// agentPublish handles AgentPublishEvent and AgentUpdateProperty: check,
// store, then fan out on the twin topic.
func (h *Hub) agentPublish(ctx context.Context, id authz.Identity, t wot.Topic, kind wot.HistoryKind, pk *twin.Message) error {
	e, err := h.ownedThing(id, t.ThingID)
	if err != nil {
		return err
	}
	var schema *td.DataSchema
	var extra map[string]json.RawMessage
	if kind == wot.KindEvent {
		ev, ok := e.TD.Events[t.Name]
		if !ok {
			return wot.Errorf(wot.CodeUnknownAffordance, "Thing %q has no event %q", t.ThingID, t.Name)
		}
		schema, extra = ev.Data, ev.Extra
	} else {
		p, ok := e.TD.Properties[t.Name]
		if !ok {
			return wot.Errorf(wot.CodeUnknownAffordance, "Thing %q has no property %q", t.ThingID, t.Name)
		}
		schema, extra = &p.DataSchema, p.Extra
	}
	if err := checkValue(schema, pk.Payload, kind == wot.KindEvent); err != nil {
		return err
	}
	rec, err := h.outbox.Append(ctx, outbox.Record{
		Kind: kind, ThingID: t.ThingID, Name: t.Name, Value: pk.Payload, Sender: id.ID,
	}, h.retention(t.Name, extra))
	if err != nil {
		return err
	}
	props := stamp(id.ID, rec.Time)
	if kind == wot.KindEvent {
		topic, payload, qos := wot.EventTopic(t.ThingID, t.Name), pk.Payload, pk.QoS
		afterAck(ctx, func() { h.publishQoS(topic, payload, false, qos, props) })
	} else {
		// A property's retained value is in place before the PUBACK, so
		// that a subscription made after it gets the new value.
		h.publish(wot.PropertyTopic(t.ThingID, t.Name), pk.Payload, true, props)
		h.reported(ctx, t.ThingID, t.Name, pk.Payload)
	}
	return nil
}

// ownedThing returns the directory entry of a Thing that agent id owns.
func (h *Hub) ownedThing(id authz.Identity, thingID string) (*directory.Entry, error) {
	e, ok := h.dir.Get(thingID)
	if !ok {
		return nil, wot.Errorf(wot.CodeUnknownThing, "no Thing %q; publish its TD first", thingID)
	}
	if e.AgentID != id.ID {
		return nil, wot.Errorf(wot.CodeDenied, "Thing %q is registered by another agent", thingID)
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
		return wot.Errorf(wot.CodeInvalidPayload, "empty payload; a JSON value is required")
	}
	if !utf8.Valid(payload) { // encoding/json would take it, with U+FFFD in place
		return wot.Errorf(wot.CodeInvalidPayload, "payload is not valid UTF-8 (JSON must be, RFC 8259)")
	}
	if s == nil {
		if !json.Valid(payload) {
			return wot.Errorf(wot.CodeInvalidPayload, "payload is not JSON")
		}
		return nil
	}
	if err := s.ValidateJSON(payload); err != nil {
		return wot.Errorf(wot.CodeInvalidPayload, "%s", strings.TrimPrefix(err.Error(), "td: "))
	}
	return nil
}

// retention is the history retention of an affordance: the hub's
// override for its name, else its RetentionMember (checkRetention made
// sure it parses), else the default.
func (h *Hub) retention(name string, extra map[string]json.RawMessage) outbox.Retain {
	if d, ok := h.opts.RetentionOverrides[name]; ok {
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
			return wot.Errorf(wot.CodeInvalidTD, "$.properties[%q][%q]: %v", name, RetentionMember, err)
		}
	}
	for name, e := range t.Events {
		if _, err := parseRetention(e.Extra); err != nil {
			return wot.Errorf(wot.CodeInvalidTD, "$.events[%q][%q]: %v", name, RetentionMember, err)
		}
	}
	return nil
}

// stamp returns the user properties the hub adds to what it relays.
func stamp(sender string, t time.Time) []twin.Property {
	return []twin.Property{
		{Key: wot.PropSender, Value: sender},
		{Key: wot.PropTime, Value: t.UTC().Format(time.RFC3339Nano)},
	}
}

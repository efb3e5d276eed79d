package wot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/td"
)

// ExposedThing is a Thing this client exposes through the hub as its
// agent. Make one with Client.Produce, register handlers, then Expose it.
// Its methods may be called concurrently.
type ExposedThing struct {
	c  *Client
	id string
	td *td.Thing // never modified after Produce

	mu      sync.RWMutex
	actions map[string]ActionHandler
	writes  map[string]WriteHandler
	exposed bool
}

// Produce prepares a Thing for exposing: t is copied, its ID is the Thing
// ID (required), and nothing is sent until Expose. Build t with NewThing or
// decode it with td.Parse; forms are optional (the hub writes them).
func (c *Client) Produce(t *td.Thing) (*ExposedThing, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: Produce: nil Thing", ErrInvalidInput)
	}
	if err := ValidateID(t.ID); err != nil {
		return nil, fmt.Errorf("Produce: Thing ID: %w", wireError(err.(*Error)))
	}
	return &ExposedThing{
		c:       c,
		id:      t.ID,
		td:      t.Clone(),
		actions: make(map[string]ActionHandler),
		writes:  make(map[string]WriteHandler),
	}, nil
}

// ID is the Thing ID.
func (e *ExposedThing) ID() string { return e.id }

// TD returns a copy of the Thing Description the agent publishes.
func (e *ExposedThing) TD() *td.Thing { return e.td.Clone() }

// HandleAction sets the handler of an action of the Thing, replacing any
// earlier one. It panics when the TD has no such action: that is a
// programming error, best found at start-up. Register handlers before
// Expose so that no request finds the Thing without one (requests without
// a handler fail with unknown_affordance).
func (e *ExposedThing) HandleAction(name string, h ActionHandler) {
	if _, ok := e.td.Actions[name]; !ok {
		panic(fmt.Sprintf("wot: HandleAction: Thing %q has no action %q", e.id, name))
	}
	e.mu.Lock()
	e.actions[name] = h
	e.mu.Unlock()
}

// HandleWrite sets the handler of writes of a property (the desired
// state), replacing any earlier one. It panics when the TD has no such
// property. Writes of a property without a handler fail with
// unknown_affordance.
func (e *ExposedThing) HandleWrite(name string, h WriteHandler) {
	if _, ok := e.td.Properties[name]; !ok {
		panic(fmt.Sprintf("wot: HandleWrite: Thing %q has no property %q", e.id, name))
	}
	e.mu.Lock()
	e.writes[name] = h
	e.mu.Unlock()
}

func (e *ExposedThing) actionHandler(name string) ActionHandler {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.actions[name]
}

func (e *ExposedThing) writeHandler(name string) WriteHandler {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.writes[name]
}

// Expose publishes the Thing's TD (AgentUpdateTD) and starts receiving its
// requests. The hub validates the TD; a refusal returns an error wrapping
// ErrInvalidInput with every problem in the *Error's message. The TD is
// published again after every reconnection. Exposing again republishes
// the TD.
func (e *ExposedThing) Expose(ctx context.Context) error {
	ctx, cancel := e.c.withTimeout(ctx)
	defer cancel()
	if err := e.publishTD(ctx); err != nil {
		return err
	}
	if err := e.c.agent.expose(ctx, e); err != nil {
		return err
	}
	e.mu.Lock()
	e.exposed = true
	e.mu.Unlock()
	return nil
}

func (e *ExposedThing) publishTD(ctx context.Context) error {
	doc, err := td.Marshal(e.td)
	if err != nil {
		return fmt.Errorf("%w: encode TD of %s: %w", ErrInvalidInput, e.id, err)
	}
	topic := Topic{Kind: TopicAgentTD, AgentID: e.c.agentID, ThingID: e.id}.String()
	if err := e.c.publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: doc}); err != nil {
		return fmt.Errorf("expose %s: %w", e.id, err)
	}
	return nil
}

// Destroy deletes the Thing from the hub (an empty AgentUpdateTD): its twin,
// retained values and history go, and its unfinished requests fail.
func (e *ExposedThing) Destroy(ctx context.Context) error {
	ctx, cancel := e.c.withTimeout(ctx)
	defer cancel()
	e.c.agent.forget(e.id)
	e.mu.Lock()
	e.exposed = false
	e.mu.Unlock()
	topic := Topic{Kind: TopicAgentTD, AgentID: e.c.agentID, ThingID: e.id}.String()
	if err := e.c.publish(ctx, &paho.Publish{Topic: topic, QoS: 1}); err != nil {
		return fmt.Errorf("destroy %s: %w", e.id, err)
	}
	return nil
}

// PublishEvent emits an event of the Thing (AgentPublishEvent): the hub
// checks data against the event's schema, stores it in the history and
// sends it to the event's subscribers. data is marshalled to JSON (nil for
// an event without data; a json.RawMessage is sent as it is). It returns
// once the hub stored the event.
func (e *ExposedThing) PublishEvent(ctx context.Context, name string, data any) error {
	return e.publishValue(ctx, TopicAgentEvent, name, data)
}

// UpdateProperty reports a property's current value (AgentUpdateProperty,
// the reported state): the hub checks it against the property's schema,
// stores it and publishes it retained to observers.
func (e *ExposedThing) UpdateProperty(ctx context.Context, name string, value any) error {
	return e.publishValue(ctx, TopicAgentProperty, name, value)
}

// UpdateProperties reports several property values, one message each, in
// name order. It tries every one and returns the errors joined.
func (e *ExposedThing) UpdateProperties(ctx context.Context, values map[string]any) error {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		errs = append(errs, e.UpdateProperty(ctx, n, values[n]))
	}
	return errors.Join(errs...)
}

// Stamp is what an agent may say about an event or property value it
// publishes beyond the value: when it happened, and its place in the
// agent's sequence of publishes for the Thing. An edge hub forwarding its
// history to a cloud hub (package upstream) sends both.
type Stamp struct {
	// Time is when the value happened (a reading the device kept while
	// offline); the hub relays and keeps it. Zero: when the hub accepts it.
	Time time.Time
	// Seq, when not zero, grows with each publish of the agent for the
	// Thing: the hub acknowledges one not above the newest it stored
	// without storing it again, so a publish sent again after a lost
	// acknowledgement is stored once.
	Seq uint64
}

// PublishEventStamped is PublishEvent with a Stamp.
func (e *ExposedThing) PublishEventStamped(ctx context.Context, name string, data any, st Stamp) error {
	return e.publishValue(ctx, TopicAgentEvent, name, data, st)
}

// UpdatePropertyStamped is UpdateProperty with a Stamp.
func (e *ExposedThing) UpdatePropertyStamped(ctx context.Context, name string, value any, st Stamp) error {
	return e.publishValue(ctx, TopicAgentProperty, name, value, st)
}

func (e *ExposedThing) publishValue(ctx context.Context, kind TopicKind, name string, v any, st ...Stamp) error {
	payload, err := encodeValue(v)
	if err != nil {
		return err
	}
	ctx, cancel := e.c.withTimeout(ctx)
	defer cancel()
	topic := Topic{Kind: kind, AgentID: e.c.agentID, ThingID: e.id, Name: name}.String()
	p := &paho.Publish{Topic: topic, QoS: 1, Payload: payload}
	if len(st) > 0 && (!st[0].Time.IsZero() || st[0].Seq > 0) {
		p.Properties = &paho.PublishProperties{}
		if !st[0].Time.IsZero() {
			p.Properties.User.Add(PropTime, st[0].Time.UTC().Format(time.RFC3339Nano))
		}
		if st[0].Seq > 0 {
			p.Properties.User.Add(PropSeq, strconv.FormatUint(st[0].Seq, 10))
		}
	}
	if err := e.c.publish(ctx, p); err != nil {
		return fmt.Errorf("%s %s of %s: %w", kind, name, e.id, err)
	}
	return nil
}

// SetPresence reports the Thing's presence, for an agent fronting devices
// that sleep or drop off (the hub itself follows the agent's own
// connection): it publishes p as a JSON string on
// agents/{agentID}/things/{id}/presence, and consumers read it retained on
// things/{id}/presence (ConsumedThing.ObservePresence).
func (e *ExposedThing) SetPresence(ctx context.Context, p Presence) error {
	if !p.Valid() {
		return fmt.Errorf("%w: presence %q: want online, offline, sleeping or lost", ErrInvalidInput, p)
	}
	ctx, cancel := e.c.withTimeout(ctx)
	defer cancel()
	topic := Topic{Kind: TopicAgentPresence, AgentID: e.c.agentID, ThingID: e.id}.String()
	if err := e.c.publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(`"` + string(p) + `"`)}); err != nil {
		return fmt.Errorf("presence of %s: %w", e.id, err)
	}
	return nil
}

package wot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/td"
)

// ConsumedThing is a twin as a consumer sees it: built from the twin TD the
// hub serves, it performs each operation on the topic the TD's MQTT forms
// name (the wotmq topic scheme where a form is missing).
type ConsumedThing struct {
	c  *Client
	id string
	td *td.Thing
}

// Thing fetches the twin TD of a Thing (retained on things/{id}/td) and
// returns the consumed Thing. A Thing the hub does not know fails with
// ErrNotFound.
func (c *Client) Thing(ctx context.Context, id string) (*ConsumedThing, error) {
	if err := ValidateID(id); err != nil {
		return nil, wireError(err.(*Error))
	}
	msgs, err := c.retained(ctx, TDTopic(id))
	if err != nil {
		return nil, err
	}
	for _, p := range slices.Backward(msgs) {
		if len(p.Payload) == 0 {
			break
		}
		t, err := td.Parse(p.Payload)
		if err != nil {
			return nil, fmt.Errorf("%w: twin TD of %s: %w", ErrInvalidInput, id, err)
		}
		return c.Consume(t), nil
	}
	return nil, wireError(Errorf(CodeUnknownThing, "no Thing %q", id))
}

// Consume returns the consumed Thing of a twin TD obtained otherwise (from
// Things or WatchThings, say). It does no I/O.
func (c *Client) Consume(t *td.Thing) *ConsumedThing {
	return &ConsumedThing{c: c, id: t.ID, td: t}
}

// Things returns the twin TD of every Thing in the hub's directory, by ID.
func (c *Client) Things(ctx context.Context) ([]*td.Thing, error) {
	msgs, err := c.retained(ctx, DirectoryFilter())
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*td.Thing)
	for _, p := range msgs {
		t, err := ParseTopic(p.Topic)
		if err != nil || t.Kind != TopicTD {
			continue
		}
		if len(p.Payload) == 0 {
			delete(byID, t.ThingID)
			continue
		}
		thing, err := td.Parse(p.Payload)
		if err != nil {
			c.log.Warn("skipping a twin TD that does not parse", "thing", t.ThingID, "err", err)
			continue
		}
		byID[t.ThingID] = thing
	}
	out := make([]*td.Thing, 0, len(byID))
	for _, t := range byID {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// WatchThings calls fn with every twin TD in the directory, then with every
// change: a new or updated Thing with its TD, a deleted one with a nil TD.
func (c *Client) WatchThings(ctx context.Context, fn func(id string, t *td.Thing)) (*Subscription, error) {
	return c.Subscribe(ctx, DirectoryFilter(), func(m Message) {
		if m.Kind != TopicTD {
			return
		}
		if len(m.Payload) == 0 {
			fn(m.ThingID, nil)
			return
		}
		t, err := td.Parse(m.Payload)
		if err != nil {
			c.log.Warn("skipping a twin TD that does not parse", "thing", m.ThingID, "err", err)
			return
		}
		fn(m.ThingID, t)
	})
}

// ID is the Thing ID.
func (t *ConsumedThing) ID() string { return t.id }

// TD is the twin TD the consumed Thing was built from. Do not modify it.
func (t *ConsumedThing) TD() *td.Thing { return t.td }

// notFound reports an affordance the twin TD does not have.
func (t *ConsumedThing) notFound(kind, name string) error {
	return wireError(Errorf(CodeUnknownAffordance, "Thing %q has no %s %q", t.id, kind, name))
}

// topic picks the topic for an operation: the MQTT form of the affordance
// (or of the Thing, for name "") with that op, else the wotmq topic
// scheme's. It fails when the TD has no such affordance.
func (t *ConsumedThing) topic(kind TopicKind, name, op string) (string, error) {
	var forms []td.Form
	switch kind {
	case TopicProperty, TopicPropertySet, TopicPropertyHistory, TopicPropertyDesired:
		p, ok := t.td.Properties[name]
		if !ok {
			return "", t.notFound("property", name)
		}
		forms = p.Forms
	case TopicEvent, TopicEventHistory:
		e, ok := t.td.Events[name]
		if !ok {
			return "", t.notFound("event", name)
		}
		forms = e.Forms
	case TopicAction, TopicActionStatus, TopicActionCancel, TopicActionHistory:
		a, ok := t.td.Actions[name]
		if !ok {
			return "", t.notFound("action", name)
		}
		forms = a.Forms
	default:
		forms = t.td.Forms
	}
	if op != "" {
		for _, f := range forms {
			if topic, ok := formTopic(t.td, f, op); ok {
				return topic, nil
			}
		}
	}
	return Topic{Kind: kind, ThingID: t.id, Name: name}.String(), nil
}

// formTopic returns the topic (publish) or filter (subscribe) that MQTT
// form f names for op. A form without mqv:controlPacket uses the MQTT
// binding's default for op (publish for writes and invokeaction, else
// subscribe; a hub's twin TD leaves it out where one form holds observe
// and unobserve). A form without mqv:topic or mqv:filter names its topic
// as the path of its href, resolved against the TD's base.
func formTopic(t *td.Thing, f td.Form, op string) (string, bool) {
	if !slices.Contains(f.Op, op) {
		return "", false
	}
	packet := f.MQTTControlPacket
	if packet == "" {
		packet = defaultPacket(op)
	}
	switch {
	case packet == td.MQTTPublish && f.MQTTTopic != "":
		return f.MQTTTopic, true
	case packet == td.MQTTSubscribe && f.MQTTFilter != "":
		return f.MQTTFilter, true
	case packet == td.MQTTUnsubscribe:
		return "", false
	}
	u, err := url.Parse(t.Href(f))
	if err != nil || (u.Scheme != "mqtt" && u.Scheme != "mqtts") || len(u.Path) < 2 {
		return "", false
	}
	return u.Path[1:], true
}

// defaultPacket is the MQTT binding's default control packet for op.
func defaultPacket(op string) string {
	switch op {
	case td.OpWriteProperty, td.OpInvokeAction, td.OpCancelAction, td.OpWriteAllProperties, td.OpWriteMultipleProperties:
		return td.MQTTPublish
	case td.OpUnobserveProperty, td.OpUnsubscribeEvent, td.OpUnobserveAllProperties, td.OpUnsubscribeAllEvents:
		return td.MQTTUnsubscribe
	}
	return td.MQTTSubscribe
}

// ReadProperty reads the property's current value (retained) into v; a
// *json.RawMessage takes it as it is. A property without a value yet fails
// with ErrNoValue.
func (t *ConsumedThing) ReadProperty(ctx context.Context, name string, v any) error {
	topic, err := t.topic(TopicProperty, name, td.OpReadProperty)
	if err != nil {
		return err
	}
	msgs, err := t.c.retained(ctx, topic)
	if err != nil {
		return err
	}
	if len(msgs) == 0 || len(msgs[len(msgs)-1].Payload) == 0 {
		return fmt.Errorf("%w: property %q of %s", ErrNoValue, name, t.id)
	}
	return newMessage(msgs[len(msgs)-1]).Decode(v)
}

// ReadAllProperties returns the current value of every property that has
// one, by name.
func (t *ConsumedThing) ReadAllProperties(ctx context.Context) (map[string]json.RawMessage, error) {
	filter := AllPropertiesFilter(t.id)
	for _, f := range t.td.Forms {
		if slices.Contains(f.Op, td.OpReadAllProperties) && f.MQTTFilter != "" {
			filter = f.MQTTFilter
			break
		}
	}
	msgs, err := t.c.retained(ctx, filter)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage)
	for _, p := range msgs {
		m := newMessage(p)
		if m.Kind == TopicProperty && len(m.Payload) > 0 {
			out[m.Name] = m.Payload
		}
	}
	return out, nil
}

// ObserveProperty calls fn with the property's current value (when it has
// one) and then with every new value.
func (t *ConsumedThing) ObserveProperty(ctx context.Context, name string, fn func(Message)) (*Subscription, error) {
	topic, err := t.topic(TopicProperty, name, td.OpObserveProperty)
	if err != nil {
		return nil, err
	}
	return t.c.Subscribe(ctx, topic, skipEmpty(fn))
}

// ObserveAllProperties calls fn with the current value of every property
// and then with every new value; Message.Name says which property.
func (t *ConsumedThing) ObserveAllProperties(ctx context.Context, fn func(Message)) (*Subscription, error) {
	filter := AllPropertiesFilter(t.id)
	for _, f := range t.td.Forms {
		if slices.Contains(f.Op, td.OpObserveAllProperties) && f.MQTTFilter != "" {
			filter = f.MQTTFilter
			break
		}
	}
	return t.c.Subscribe(ctx, filter, skipEmpty(fn))
}

// ObserveDesired calls fn with the desired state of a property (the
// newest write the agent has not reported yet; retained on
// things/{id}/properties/{name}/desired) and its changes; nil when it
// ends (the agent reported the value, or the write failed).
func (t *ConsumedThing) ObserveDesired(ctx context.Context, name string, fn func(*DesiredState)) (*Subscription, error) {
	topic, err := t.topic(TopicPropertyDesired, name, "")
	if err != nil {
		return nil, err
	}
	return t.c.Subscribe(ctx, topic, func(m Message) {
		if len(m.Payload) == 0 {
			fn(nil)
			return
		}
		var d DesiredState
		if m.Decode(&d) == nil {
			fn(&d)
		}
	})
}

// ObserveDelta calls fn with the Thing's delta (retained on
// things/{id}/delta): every property whose desired and reported values
// differ, by name; empty when none do.
func (t *ConsumedThing) ObserveDelta(ctx context.Context, fn func(map[string]DeltaEntry)) (*Subscription, error) {
	topic := Topic{Kind: TopicDelta, ThingID: t.id}.String()
	return t.c.Subscribe(ctx, topic, func(m Message) {
		d := map[string]DeltaEntry{}
		if len(m.Payload) == 0 || m.Decode(&d) == nil {
			fn(d)
		}
	})
}

// SubscribeEvent calls fn with every event of that name from now on.
func (t *ConsumedThing) SubscribeEvent(ctx context.Context, name string, fn func(Message)) (*Subscription, error) {
	topic, err := t.topic(TopicEvent, name, td.OpSubscribeEvent)
	if err != nil {
		return nil, err
	}
	return t.c.Subscribe(ctx, topic, fn)
}

// SubscribeAllEvents calls fn with every event of the Thing; Message.Name
// says which event.
func (t *ConsumedThing) SubscribeAllEvents(ctx context.Context, fn func(Message)) (*Subscription, error) {
	filter := AllEventsFilter(t.id)
	for _, f := range t.td.Forms {
		if slices.Contains(f.Op, td.OpSubscribeAllEvents) && f.MQTTFilter != "" {
			filter = f.MQTTFilter
			break
		}
	}
	return t.c.Subscribe(ctx, filter, fn)
}

// ObservePresence calls fn with the Thing's presence (retained on
// things/{id}/presence: online, offline, lost or sleeping) and every
// change, in order.
func (t *ConsumedThing) ObservePresence(ctx context.Context, fn func(PresenceState)) (*Subscription, error) {
	topic := Topic{Kind: TopicPresence, ThingID: t.id}.String()
	return t.c.Subscribe(ctx, topic, func(m Message) {
		var p PresenceState
		if len(m.Payload) > 0 && m.Decode(&p) == nil && p.State.Valid() {
			fn(p)
		}
	})
}

// ActionHistory returns the kept outcomes (finished requests) of an
// action, newest first.
func (t *ConsumedThing) ActionHistory(ctx context.Context, name string) ([]ActionStatus, error) {
	topic, err := t.topic(TopicActionHistory, name, "")
	if err != nil {
		return nil, err
	}
	p, err := t.c.request(ctx, topic, nil, false, "outcome history of "+name)
	if err != nil {
		return nil, err
	}
	out, err := outcome(p)
	if err != nil {
		return nil, err
	}
	var page ActionHistoryPage
	if err := json.Unmarshal(out, &page); err != nil {
		return nil, fmt.Errorf("%w: outcome history: %w", ErrInvalidInput, err)
	}
	return page.Items, nil
}

// QueryAction returns the status record of the newest request of an
// action (queryaction, retained). An action never invoked fails with
// ErrNoValue.
func (t *ConsumedThing) QueryAction(ctx context.Context, name string) (*ActionStatus, error) {
	topic, err := t.topic(TopicActionStatus, name, td.OpQueryAction)
	if err != nil {
		return nil, err
	}
	msgs, err := t.c.retained(ctx, topic)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 || len(msgs[len(msgs)-1].Payload) == 0 {
		return nil, fmt.Errorf("%w: action %q of %s has no status", ErrNoValue, name, t.id)
	}
	var st ActionStatus
	if err := newMessage(msgs[len(msgs)-1]).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// History returns a page of the Thing's stored events and property
// values, oldest first; pass page.Next as q.Cursor for the next page.
func (t *ConsumedThing) History(ctx context.Context, q HistoryQuery) (*HistoryPage, error) {
	return t.history(ctx, Topic{Kind: TopicThingHistory, ThingID: t.id}.String(), q)
}

// EventHistory is History for one event.
func (t *ConsumedThing) EventHistory(ctx context.Context, name string, q HistoryQuery) (*HistoryPage, error) {
	topic, err := t.topic(TopicEventHistory, name, "")
	if err != nil {
		return nil, err
	}
	return t.history(ctx, topic, q)
}

// PropertyHistory is History for one property.
func (t *ConsumedThing) PropertyHistory(ctx context.Context, name string, q HistoryQuery) (*HistoryPage, error) {
	topic, err := t.topic(TopicPropertyHistory, name, "")
	if err != nil {
		return nil, err
	}
	return t.history(ctx, topic, q)
}

func (t *ConsumedThing) history(ctx context.Context, topic string, q HistoryQuery) (*HistoryPage, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	p, err := t.c.request(ctx, topic, body, false, "history "+topic)
	if err != nil {
		return nil, err
	}
	out, err := outcome(p)
	if err != nil {
		return nil, err
	}
	var page HistoryPage
	if err := json.Unmarshal(out, &page); err != nil {
		return nil, fmt.Errorf("%w: history page: %w", ErrInvalidInput, err)
	}
	return &page, nil
}

// skipEmpty drops the empty retained messages that clear a value.
func skipEmpty(fn func(Message)) func(Message) {
	return func(m Message) {
		if len(m.Payload) > 0 {
			fn(m)
		}
	}
}

// request publishes a request with the client's ResponseTopic and waits
// for its final reply. finalOnly asks the hub for the outcome only
// (replies=final). The request's Message Expiry Interval is the time left
// before ctx's deadline, so the hub drops what nobody waits for.
func (c *Client) request(ctx context.Context, topic string, payload []byte, finalOnly bool, what string) (*paho.Publish, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	cl := c.calls.register(false, nil)
	defer c.calls.drop(cl, ErrClosed)
	if err := c.publish(ctx, c.requestPacket(ctx, topic, payload, cl, finalOnly)); err != nil {
		return nil, err
	}
	p, err := c.calls.wait(ctx, cl)
	if err != nil {
		return nil, c.callError(ctx, what, err)
	}
	return p, nil
}

// requestPacket builds a request publish.
func (c *Client) requestPacket(ctx context.Context, topic string, payload []byte, cl *call, finalOnly bool) *paho.Publish {
	props := &paho.PublishProperties{ResponseTopic: c.replyTopic, CorrelationData: cl.corr}
	if finalOnly {
		props.User.Add(PropReplies, RepliesFinal)
	}
	if dl, ok := ctx.Deadline(); ok {
		secs := uint32(max((time.Until(dl)+time.Second-1)/time.Second, 1))
		props.MessageExpiry = &secs
	}
	return &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: props}
}

// outcome returns the payload of a final reply, or its failure as an
// error.
func outcome(p *paho.Publish) (json.RawMessage, error) {
	if Status(userProp(p, PropStatus)) != StatusFailed {
		return json.RawMessage(p.Payload), nil
	}
	return nil, failure(p)
}

// failure reads the error of a failed reply: the error and message user
// properties, else the {"code","message"} payload.
func failure(p *paho.Publish) error {
	e := &Error{Code: Code(userProp(p, PropError)), Message: userProp(p, PropMessage)}
	if e.Code == "" {
		var pe Error
		if json.Unmarshal(p.Payload, &pe) == nil && pe.Code != "" {
			e = &pe
		}
	}
	return wireError(e)
}

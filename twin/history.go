package twin

import (
	"context"
	"errors"
	"strings"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// consumerHistory answers a history query on the consumer's ResponseTopic.
func (c *Core) consumerHistory(ctx context.Context, id authz.Identity, t wire.Topic, pk *Message) error {
	replyTo := pk.ResponseTopic
	if replyTo == "" {
		return wire.Errorf(wire.CodeInvalidPayload, "a history query needs a ResponseTopic to answer on")
	}
	if err := authz.ReplyTopicFor(id, replyTo); err != nil {
		return err
	}
	// From here on a refusal is also answered on the ResponseTopic (a
	// failed reply with the error code), not only in the PUBACK: a client
	// waiting for its reply learns why, and MQTT 3.1.1 has no reason codes.
	if err := c.mqttHistory(ctx, t, pk, replyTo); err != nil {
		return c.answer(replyTo, pk.CorrelationData, nil, err)
	}
	return nil
}

// mqttHistory answers a history query whose ResponseTopic was checked.
func (c *Core) mqttHistory(ctx context.Context, t wire.Topic, pk *Message, replyTo string) error {
	e, ok := c.dir.Get(t.ThingID)
	if !ok {
		return wire.Errorf(wire.CodeUnknownThing, "no Thing %q", t.ThingID)
	}
	var f outbox.Filter
	switch t.Kind {
	case wire.TopicEventHistory:
		if _, ok := e.TD.Events[t.Name]; !ok && t.Name != PresenceEvent {
			return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no event %q", t.ThingID, t.Name)
		}
		f = outbox.Filter{Kind: wire.KindEvent, Name: t.Name}
	case wire.TopicPropertyHistory:
		if _, ok := e.TD.Properties[t.Name]; !ok {
			return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no property %q", t.ThingID, t.Name)
		}
		f = outbox.Filter{Kind: wire.KindProperty, Name: t.Name}
	}
	q, err := outbox.ParseQuery(pk.Payload) // the bounds HTTP holds queries to
	if err != nil {
		return wire.Errorf(wire.CodeInvalidPayload, "history query: %s", strings.TrimPrefix(err.Error(), "outbox: bad history query: "))
	}
	if q.Latest {
		return c.latestValues(ctx, t.ThingID, f, replyTo, pk.CorrelationData)
	}
	page, err := c.outbox.History(ctx, t.ThingID, f, q)
	if errors.Is(err, outbox.ErrBadCursor) {
		return wire.Errorf(wire.CodeInvalidPayload, "%v", err)
	}
	if err != nil {
		return err
	}
	c.answer(replyTo, pk.CorrelationData, page, nil)
	return nil
}

// latestValues answers a history query with latest=true: the latest value
// of every matching event and property.
func (c *Core) latestValues(ctx context.Context, thingID string, f outbox.Filter, replyTo string, corr []byte) error {
	recs, err := c.outbox.LatestAll(ctx, thingID, f.Kind)
	if err != nil {
		return err
	}
	page := wire.HistoryPage{Items: []wire.HistoryItem{}}
	for _, r := range recs {
		if f.Name == "" || f.Name == r.Name {
			page.Items = append(page.Items, wire.HistoryItem{Kind: r.Kind, Name: r.Name, Value: r.Value, Time: r.When(), Sender: r.Sender, Cursor: r.Cursor()})
		}
	}
	return c.answer(replyTo, corr, page, nil)
}

// afterAckKey is the context key of the work list a publish handler may
// leave for after the acknowledgement (withAfterAck).
type afterAckKey struct{}

// withAfterAck returns a context under which afterAck appends to *after
// instead of running the work at once.
func withAfterAck(ctx context.Context, after *[]func()) context.Context {
	return context.WithValue(ctx, afterAckKey{}, after)
}

// afterAck runs fn once the publish being handled has been acknowledged,
// or at once when the handler runs outside an MQTT publish. An agent's
// event is stored before its PUBACK, as before, but fanned out after it:
// the agent's next publish does not wait for the deliveries, as in a plain
// broker, which acknowledges first too.
func afterAck(ctx context.Context, fn func()) {
	if after, ok := ctx.Value(afterAckKey{}).(*[]func()); ok {
		*after = append(*after, fn)
		return
	}
	fn()
}

package broker

import (
	"context"
	"errors"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// publish sends a QoS 1 message from the hub. An empty retained payload
// clears the retained message of the topic.
func (h *Hub) publish(topic string, payload []byte, retain bool, user []twin.Property) {
	h.publishQoS(topic, payload, retain, 1, user)
}

func (h *Hub) publishQoS(topic string, payload []byte, retain bool, qos byte, user []twin.Property) {
	h.inject(twin.Message{
		QoS:     qos,
		Retain:  retain,
		Topic:   topic,
		Payload: payload,
		User:    user,
	})
}

// inject publishes a message through the hub's inline client, which may
// set MQTT 5 properties (Server.Publish cannot) and bypasses the ACL.
func (h *Hub) inject(m twin.Message) {
	pk := toPacket(m)
	if pk.FixedHeader.Qos > 0 && pk.PacketID == 0 {
		pk.PacketID = 1 // unused for inline clients, but validated
	}
	h.ops.sent(pk.TopicName)
	if err := h.srv.InjectPacket(h.self, pk); err != nil {
		h.log.Error().Err(err).Str("topic", pk.TopicName).Msg("cannot publish")
	}
	h.bus.publish(twin.Message{Topic: m.Topic, Payload: m.Payload, Retain: m.Retain, User: m.User})
}

// consumerHistory answers a history query on the consumer's ResponseTopic.
func (h *Hub) consumerHistory(ctx context.Context, id authz.Identity, t wot.Topic, pk *twin.Message) error {
	replyTo := pk.ResponseTopic
	if replyTo == "" {
		return wot.Errorf(wot.CodeInvalidPayload, "a history query needs a ResponseTopic to answer on")
	}
	if err := authz.ReplyTopicFor(id, replyTo); err != nil {
		return err
	}
	// From here on a refusal is also answered on the ResponseTopic (a
	// failed reply with the error code), not only in the PUBACK: a client
	// waiting for its reply learns why, and MQTT 3.1.1 has no reason codes.
	if err := h.mqttHistory(ctx, t, pk, replyTo); err != nil {
		return h.answer(replyTo, pk.CorrelationData, nil, err)
	}
	return nil
}

// mqttHistory answers a history query whose ResponseTopic was checked.
func (h *Hub) mqttHistory(ctx context.Context, t wot.Topic, pk *twin.Message, replyTo string) error {
	e, ok := h.dir.Get(t.ThingID)
	if !ok {
		return wot.Errorf(wot.CodeUnknownThing, "no Thing %q", t.ThingID)
	}
	var f outbox.Filter
	switch t.Kind {
	case wot.TopicEventHistory:
		if _, ok := e.TD.Events[t.Name]; !ok && t.Name != PresenceEvent {
			return wot.Errorf(wot.CodeUnknownAffordance, "Thing %q has no event %q", t.ThingID, t.Name)
		}
		f = outbox.Filter{Kind: wot.KindEvent, Name: t.Name}
	case wot.TopicPropertyHistory:
		if _, ok := e.TD.Properties[t.Name]; !ok {
			return wot.Errorf(wot.CodeUnknownAffordance, "Thing %q has no property %q", t.ThingID, t.Name)
		}
		f = outbox.Filter{Kind: wot.KindProperty, Name: t.Name}
	}
	q, err := outbox.ParseQuery(pk.Payload) // the bounds HTTP holds queries to
	if err != nil {
		return wot.Errorf(wot.CodeInvalidPayload, "history query: %s", strings.TrimPrefix(err.Error(), "outbox: bad history query: "))
	}
	if q.Latest {
		return h.latestValues(ctx, t.ThingID, f, replyTo, pk.CorrelationData)
	}
	page, err := h.outbox.History(ctx, t.ThingID, f, q)
	if errors.Is(err, outbox.ErrBadCursor) {
		return wot.Errorf(wot.CodeInvalidPayload, "%v", err)
	}
	if err != nil {
		return err
	}
	h.answer(replyTo, pk.CorrelationData, page, nil)
	return nil
}

// latestValues answers a history query with latest=true: the latest value
// of every matching event and property.
func (h *Hub) latestValues(ctx context.Context, thingID string, f outbox.Filter, replyTo string, corr []byte) error {
	recs, err := h.outbox.LatestAll(ctx, thingID, f.Kind)
	if err != nil {
		return err
	}
	page := wot.HistoryPage{Items: []wot.HistoryItem{}}
	for _, r := range recs {
		if f.Name == "" || f.Name == r.Name {
			page.Items = append(page.Items, wot.HistoryItem{Kind: r.Kind, Name: r.Name, Value: r.Value, Time: r.Time, Sender: r.Sender, Cursor: r.Cursor()})
		}
	}
	return h.answer(replyTo, corr, page, nil)
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

// runAfterAck runs what the client's last handled publish left for after
// its acknowledgement. Once the hub is stopping, the work is dropped:
// what it would deliver is stored.
func (h *Hub) runAfterAck(cl *mqtt.Client) {
	v, ok := h.afterAck.LoadAndDelete(cl)
	if !ok || !h.enter() {
		return
	}
	defer h.leave()
	for _, fn := range v.([]func()) {
		fn()
	}
}

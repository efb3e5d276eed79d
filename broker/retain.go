package broker

import (
	"context"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/retained"
	"github.com/wotmq/wotmq/twin"
)

// Retained messages of free topics survive a restart (Stores.Retained):
// Mochi keeps retained messages in memory and tells the hook of each
// change (OnRetainMessage, on the publisher's goroutine before the
// acknowledgement), which the hub writes to Badger before Mochi answers;
// at Start they are put back into Mochi's index, with the expiry they had,
// before any client connects. The hub's own retained topics are rebuilt
// from its other stores (twin.Core.Start) and not kept here.

// keepRetained writes a change of a free topic's retained message. A
// failed write is logged: Mochi has no way left to refuse the publish.
func (h *Hub) keepRetained(pk packets.Packet, r int64) {
	if h.retained == nil || !twin.Free(pk.TopicName) {
		return
	}
	ctx := context.Background()
	var err error
	h.retainedTopics.set(pk.TopicName, r > 0 && len(pk.Payload) > 0)
	if r > 0 && len(pk.Payload) > 0 {
		err = h.retained.Put(ctx, toRetained(pk))
	} else {
		err = h.retained.Delete(ctx, pk.TopicName)
	}
	if err != nil {
		h.log.Error().Err(err).Str("topic", pk.TopicName).Msg("retained message not stored: it is lost at the next restart")
	}
}

// restoreRetained puts the stored retained messages back into Mochi's
// index (Start, before the listeners accept clients).
func (h *Hub) restoreRetained(ctx context.Context) error {
	if h.retained == nil {
		return nil
	}
	all, err := h.retained.All(ctx, time.Now().Unix())
	if err != nil {
		return err
	}
	for _, m := range all {
		h.srv.Topics.RetainMessage(fromRetained(m))
		h.retainedTopics.set(m.Topic, true)
	}
	if len(all) > 0 {
		h.log.Info().Int("messages", len(all)).Msg("retained messages of free topics restored")
	}
	return nil
}

// SetRetained sets (m not nil) or clears the retained message of a free
// topic in the broker, without delivering it: another node of a cluster
// changed it (package hub, cluster_retained.go). Subscribers from now on
// get what it set.
func (h *Hub) SetRetained(topic string, m *retained.Message) {
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, TopicName: topic}
	if m != nil {
		pk = fromRetained(*m)
	}
	h.retainedTopics.set(topic, m != nil)
	atomic.AddInt64(&h.srv.Info.Retained, h.srv.Topics.RetainMessage(pk))
}

func toRetained(pk packets.Packet) retained.Message {
	m := retained.Message{
		Topic: pk.TopicName, Payload: pk.Payload, QoS: pk.FixedHeader.Qos, Created: pk.Created, Expires: pk.Expiry,
		PayloadFormat: pk.Properties.PayloadFormat, PayloadFormatFlag: pk.Properties.PayloadFormatFlag,
		MessageExpiry: pk.Properties.MessageExpiryInterval, ContentType: pk.Properties.ContentType,
		ResponseTopic: pk.Properties.ResponseTopic, CorrelationData: pk.Properties.CorrelationData,
	}
	if m.Created == 0 {
		m.Created = time.Now().Unix()
	}
	for _, u := range pk.Properties.User {
		m.User = append(m.User, retained.Property{Key: u.Key, Value: u.Val})
	}
	return m
}

func fromRetained(m retained.Message) packets.Packet {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: m.QoS, Retain: true},
		TopicName:   m.Topic, Payload: m.Payload, Created: m.Created, Expiry: m.Expires,
		Properties: packets.Properties{
			PayloadFormat: m.PayloadFormat, PayloadFormatFlag: m.PayloadFormatFlag,
			MessageExpiryInterval: m.MessageExpiry, ContentType: m.ContentType,
			ResponseTopic: m.ResponseTopic, CorrelationData: m.CorrelationData,
		},
		ProtocolVersion: 5,
	}
	for _, u := range m.User {
		pk.Properties.User = append(pk.Properties.User, packets.UserProperty{Key: u.Key, Val: u.Value})
	}
	return pk
}

// OnRetainMessage keeps a free topic's retained message (keepRetained),
// except the hub's own (its inline client's: the bridges' configs and
// Homie devices, docs/bridges.md), which are rebuilt from the twins at
// every start; kept, they would outlive the bridge that published them.
func (k *hook) OnRetainMessage(cl *mqtt.Client, pk packets.Packet, r int64) {
	if cl != nil && cl.Net.Inline {
		return
	}
	k.h.keepRetained(pk, r)
}

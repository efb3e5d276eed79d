package broker

import (
	"context"
	"errors"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// The Will rule (docs/security.md): a client's Will is a publish by its
// account, made at the moment its connection ends without a normal
// DISCONNECT [MQTT-3.1.2-8].
//
//   - At CONNECT it is decided like a publish by that account on its topic
//     (the permission table, the topic scheme, payload size and UTF-8): a
//     Will the account could not publish refuses the CONNECT with the
//     reason code a publish refusal has (0x87 not authorized, 0x90 topic
//     name invalid, 0x97, 0x99; MQTT 3.1.1: 0x05) and a reason string
//     "will: ...".
//   - The hub takes the Will from Mochi, which would relay it as-is, and
//     sends it itself through handlePublish, as that account's publish:
//     routed, stored, stamped with the account as sender and fanned out
//     like the publish would be. The client's user properties never reach
//     anyone as the hub's. Decided again then (a role or a Thing may have
//     changed, the disk may be full), it may be refused: it is dropped,
//     with a log line.
//   - A Will Delay Interval is kept, capped by the session expiry; a new
//     connection to the session before it elapses cancels the Will
//     [MQTT-3.1.3-9]. Wills still waiting when the hub closes, and Wills of
//     the connections the closing hub ends, are dropped with a log line.

// willMsg is a Will the hub holds for a connection.
type willMsg struct {
	pk    packets.Packet // the publish: topic, payload, QoS, retain, properties
	delay uint32         // Will Delay Interval, seconds
}

// willRefusal is a Will that refuses its CONNECT.
type willRefusal struct{ err error }

func (w *willRefusal) Error() string { return "will: " + w.err.Error() }
func (w *willRefusal) Unwrap() error { return w.err }

// code is the CONNACK of the refusal: the reason code a publish refusal
// would get, each of which a CONNACK may carry too.
func (w *willRefusal) code() packets.Code {
	c := wot.CodeOf(w.err)
	msg := w.err.Error()
	var we *wot.Error
	if errors.As(w.err, &we) {
		msg = we.Message
	}
	if len(msg) > 400 {
		msg = msg[:397] + "..."
	}
	return packets.Code{Code: c.Reason(), Reason: "will: " + string(c) + ": " + msg}
}

// decideWill decides the Will of a CONNECT by id: nil without one.
func (h *Hub) decideWill(id authz.Identity, pk packets.Packet) (*willMsg, error) {
	if !pk.Connect.WillFlag {
		return nil, nil
	}
	w := &willMsg{pk: packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Publish, Qos: pk.Connect.WillQos, Retain: pk.Connect.WillRetain},
		ProtocolVersion: pk.ProtocolVersion,
		TopicName:       pk.Connect.WillTopic,
		Payload:         append([]byte(nil), pk.Connect.WillPayload...),
		Properties:      pk.Connect.WillProperties.Copy(false),
	}, delay: pk.Connect.WillProperties.WillDelayInterval}
	w.pk.Properties.WillDelayInterval = 0
	t, err := wot.ParseTopic(w.pk.TopicName)
	if err == nil {
		err = h.authz.CanPublish(id, w.pk.TopicName, t)
	}
	if err == nil {
		err = h.checkPayload(&w.pk, classify(w.pk.TopicName))
	}
	if err != nil {
		return nil, &willRefusal{err}
	}
	return w, nil
}

// sendWill sends cl's Will, now or after its delay, as a publish by id.
func (h *Hub) sendWill(cl *mqtt.Client, id authz.Identity) {
	v, ok := h.wills.LoadAndDelete(cl)
	if !ok {
		return
	}
	w := v.(*willMsg)
	own := clientID(cl)
	// Sent when the delay has passed or the session ends, whichever is
	// first [MQTT-3.1.2-8] [MQTT-3.1.3-9].
	delay := min(w.delay, cl.Properties.Props.SessionExpiryInterval)
	if cl.Properties.ProtocolVersion < 5 || delay == 0 {
		h.publishWill(own, id, w)
		return
	}
	if h.replacedBy(cl) != nil {
		h.log.Debug().Str("client", own).Str("account", id.ID).Msg("delayed will cancelled: a new connection took the session over")
		return
	}
	key := cl.ID
	h.willMu.Lock()
	defer h.willMu.Unlock()
	select {
	case <-h.stop:
		h.log.Info().Str("client", own).Str("account", id.ID).Str("topic", w.pk.TopicName).Msg("will dropped: the hub is closing")
		return
	default:
	}
	if h.willTimers == nil {
		h.willTimers = make(map[string]*time.Timer)
	}
	if old := h.willTimers[key]; old != nil {
		old.Stop()
	}
	var tm *time.Timer
	tm = time.AfterFunc(time.Duration(delay)*time.Second, func() {
		h.willMu.Lock()
		mine := h.willTimers[key] == tm
		if mine {
			delete(h.willTimers, key)
		}
		h.willMu.Unlock()
		if mine {
			h.publishWill(own, id, w)
		}
	})
	h.willTimers[key] = tm
}

// cancelDelayedWill cancels the delayed Will of a session whose client is
// back.
func (h *Hub) cancelDelayedWill(key string) {
	h.willMu.Lock()
	defer h.willMu.Unlock()
	if tm := h.willTimers[key]; tm != nil {
		tm.Stop()
		delete(h.willTimers, key)
	}
}

// dropDelayedWills drops the Wills still waiting for their delay when the
// hub closes.
func (h *Hub) dropDelayedWills() {
	h.willMu.Lock()
	defer h.willMu.Unlock()
	n := 0
	for key, tm := range h.willTimers {
		if tm.Stop() {
			n++
		}
		delete(h.willTimers, key)
	}
	if n > 0 {
		h.log.Info().Int("wills", n).Msg("delayed wills dropped: the hub is closing")
	}
}

// publishWill handles a Will as id's publish (handlePublish), or drops it
// with a log line.
func (h *Hub) publishWill(client string, id authz.Identity, w *willMsg) {
	pk := w.pk
	if !h.enter() {
		h.log.Info().Str("client", client).Str("account", id.ID).Str("topic", pk.TopicName).Msg("will dropped: the hub is closing")
		return
	}
	defer h.leave()
	kind := classify(pk.TopicName)
	h.ops.in[kind].Add(1)
	err := h.admitWrite(&pk, kind)
	if err == nil {
		err = h.admitRetained(&pk)
	}
	if err == nil {
		var after func()
		after, err = h.core.Publish(context.Background(), id, nil, fromPacket(&pk))
		if after != nil {
			after() // a Will has no acknowledgement to wait for
		}
	}
	if err == nil && twin.Free(pk.TopicName) {
		// Allowed on a free topic: delivered as the client sent it, every
		// property kept, each delivery decided by OnACLCheck.
		err = h.relayWill(client, pk)
	}
	if err == nil {
		h.log.Debug().Str("client", client).Str("account", id.ID).Str("topic", pk.TopicName).Msg("will sent")
		return
	}
	err = h.storageError(err)
	code := wot.CodeOf(err)
	h.ops.refusal(code)
	ev := h.log.Info()
	if code == wot.CodeInternal {
		ev = h.log.Error()
	}
	ev.Str("client", client).Str("account", id.ID).Str("topic", pk.TopicName).Str("code", string(code)).
		Str("reason", err.Error()).Msg("will dropped")
}

// relayWill delivers a Will on a free topic through the hub's inline
// client (the Will's sender is gone; retained Wills are kept like any
// retained message).
func (h *Hub) relayWill(client string, pk packets.Packet) error {
	if pk.FixedHeader.Qos > 0 && pk.PacketID == 0 {
		pk.PacketID = 1 // unused for inline clients, but validated
	}
	h.ops.sent(pk.TopicName)
	if err := h.srv.InjectPacket(h.self, pk); err != nil {
		return err
	}
	if pk.FixedHeader.Retain {
		// The hub's own client sent it, and what that client retains is
		// not kept (OnRetainMessage); a Will is the device's and is.
		r := int64(-1)
		if len(pk.Payload) > 0 {
			r = 1
		}
		h.keepRetained(pk, r)
	}
	if f := h.opts.Fanout; f != nil {
		f(*fromPacket(&pk)) // the other nodes of a cluster deliver it too, as a publish
	}
	return nil
}

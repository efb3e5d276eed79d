package broker

import (
	"context"
	"errors"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// hook adapts Mochi's hooks onto the hub. It is the only place where Mochi
// calls into wotmq.
type hook struct {
	mqtt.HookBase
	h *Hub
}

func (k *hook) ID() string { return "wotmq" }

// Provides is asked for every hook at every event Mochi dispatches (several
// per publish): a switch, not a search.
func (k *hook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish,
		mqtt.OnPublished, mqtt.OnSubscribe, mqtt.OnSubscribed, mqtt.OnUnsubscribe, mqtt.OnUnsubscribed,
		mqtt.OnSessionEstablished, mqtt.OnDisconnect, mqtt.OnClientExpired, mqtt.OnRetainMessage, mqtt.OnRetainedExpired:
		return true
	}
	return false
}

// OnConnect authenticates a client (see auth.go); a refusal has already
// been answered with a CONNACK.
func (k *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error { return k.h.authenticate(cl, pk) }

// OnConnectAuthenticate admits the clients OnConnect authenticated.
func (k *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	_, ok := k.h.sessions.Load(cl)
	return ok
}

// OnACLCheck decides subscriptions (filters, which may hold wildcards) and
// every delivery (topic names). Publishes are decided in OnPublish, where
// the refusal can carry a reason string.
func (k *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		return true
	}
	id, ok := k.h.identity(cl)
	if !ok {
		return false
	}
	if _, filter, ok := splitShared(topic); ok {
		topic = filter // a shared subscription is decided like its filter
	}
	if strings.ContainsAny(topic, "+#") {
		return k.h.authz.CanSubscribe(id, topic)
	}
	return k.h.authz.CanReceive(id, topic)
}

// OnPublish handles every client publish (twin.Core.Publish). A publish
// on a hub topic is never relayed as-is: what the hub accepts it
// publishes itself, stamped; QoS 0 and 1 ones go to the connection's
// pipeline (pipeline.go), which answers them. A publish on a free topic,
// and any QoS 2 publish, is decided here on the reader, after what the
// client published before it; an allowed free-topic publish is relayed by
// Mochi as sent.
func (k *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	h := k.h
	if pk.FixedHeader.Qos < 2 && !twin.Free(pk.TopicName) { // handled off the read goroutine, in order (pipeline.go)
		select {
		case <-h.stop:
			return pk, h.refuseClosing(cl, &pk)
		default:
		}
		id, ok := h.identity(cl)
		if !ok {
			return pk, h.refuse(cl, &pk, wot.Errorf(wot.CodeDenied, "not authenticated"))
		}
		if handled, ack := h.pipelineOf(cl).start(id, pk); handled {
			return pk, ack
		}
		return pk, errPiped // the pipeline answers it
	}
	h.drainPipeline(cl, false) // what the client published before is done first
	if !h.enter() {
		return pk, h.refuseClosing(cl, &pk)
	}
	defer h.leave()
	id, ok := h.identity(cl)
	if !ok {
		return pk, h.refuse(cl, &pk, wot.Errorf(wot.CodeDenied, "not authenticated"))
	}
	if pk.FixedHeader.Retain && len(pk.Payload) > 0 && twin.Free(pk.TopicName) && h.opts.Reserve != nil {
		// A free topic's retained message is written to disk (retain.go).
		if err := h.opts.Reserve.Spend(len(pk.Payload)); err != nil {
			return pk, h.refuse(cl, &pk, err)
		}
	}
	if err := h.admitRetained(&pk); err != nil {
		return pk, h.refuse(cl, &pk, err)
	}
	after, err := h.core.Publish(context.Background(), id, cl, fromPacket(&pk))
	if err != nil {
		return pk, h.refuse(cl, &pk, err)
	}
	if after != nil {
		h.afterAck.Store(cl, after)
	}
	if twin.Free(pk.TopicName) {
		// A free topic the rules allow: Mochi delivers it as any MQTT
		// broker would (retained, QoS, properties as sent); each delivery
		// is decided by OnACLCheck, on the other nodes of a cluster too.
		if f := h.opts.Fanout; f != nil {
			f(*fromPacket(&pk))
		}
		return pk, nil
	}
	return pk, packets.CodeSuccessIgnore // handled: acknowledged, not relayed
}

// OnPublished runs the work that waited for the acknowledgement of the
// client's publish (see afterAck). Mochi calls it on the client's
// read goroutine right after the PUBACK is written, before the client's
// next packet.
func (k *hook) OnPublished(cl *mqtt.Client, pk packets.Packet) { k.h.runAfterAck(cl) }

// errPiped is what OnPublish returns for a publish the pipeline answers:
// packets.ErrRejectPacket, boxed once (an error made of the Code value
// allocated for every publish).
var errPiped error = packets.ErrRejectPacket

// refuse logs a refused publish and returns what Mochi needs to answer it:
// an MQTT 5 PUBACK reason code with a reason string for QoS 1 and 2,
// otherwise a silent drop (QoS 0 has no acknowledgement; MQTT 3.1.1 has no
// reason codes, so the publish is acknowledged and dropped).
func (h *Hub) refuse(cl *mqtt.Client, pk *packets.Packet, err error) error {
	err = h.storageError(err)
	code := wot.CodeOf(err)
	h.ops.refusal(code)
	msg := err.Error()
	var we *wot.Error
	if errors.As(err, &we) {
		msg = we.Message
	}
	ev := h.log.Info()
	switch code {
	case wot.CodeInternal:
		ev = h.log.Error()
	case wot.CodeRateLimited:
		ev = h.rateLimitedEvent(cl) // summarised per client (limits.go)
	}
	ev.Str("client", clientID(cl)).Str("topic", pk.TopicName).Str("code", string(code)).
		Uint8("qos", pk.FixedHeader.Qos).Str("reason", msg).Msg("publish refused")
	switch {
	case pk.FixedHeader.Qos > 0 && cl.Properties.ProtocolVersion == 5:
		if len(msg) > 512 {
			msg = msg[:509] + "..."
		}
		if code == wot.CodeInternal {
			msg = "internal error; see the hub log"
		}
		rc := packets.Code{Code: code.Reason(), Reason: string(code) + ": " + msg}
		if pk.FixedHeader.Qos == 2 {
			// Mochi answers a refused QoS 2 publish with a PUBACK; the
			// protocol wants a PUBREC, which ends the exchange when its
			// reason code is an error [MQTT-4.3.3-2].
			_ = cl.WritePacket(packets.Packet{
				FixedHeader: packets.FixedHeader{Type: packets.Pubrec},
				PacketID:    pk.PacketID, ReasonCode: rc.Code,
				Properties: packets.Properties{ReasonString: rc.Reason},
			})
			return packets.ErrRejectPacket
		}
		return rc
	case pk.FixedHeader.Qos > 0:
		return packets.CodeSuccessIgnore
	}
	return packets.ErrRejectPacket
}

// refuseClosing answers a publish that arrives while the hub closes: it is
// neither handled nor relayed. (Mochi relays a publish as-is when a hook
// fails with an error it does not know as a refusal, for QoS 0 and for
// MQTT 3.1.1.) An MQTT 5 publish with QoS 1 or 2 gets 0x80 and a reason;
// other publishes are dropped unanswered, so that a 3.1.1 client does not
// take the drop for an acknowledgement.
func (h *Hub) refuseClosing(cl *mqtt.Client, pk *packets.Packet) error {
	if pk.FixedHeader.Qos == 0 || cl.Properties.ProtocolVersion < 5 {
		return packets.ErrRejectPacket
	}
	rc := packets.Code{Code: wot.ReasonUnspecified, Reason: "server shutting down: publish again after reconnecting"}
	if pk.FixedHeader.Qos == 2 { // a PUBREC, as in refuse [MQTT-4.3.3-2]
		_ = cl.WritePacket(packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Pubrec},
			PacketID:    pk.PacketID, ReasonCode: rc.Code,
			Properties: packets.Properties{ReasonString: rc.Reason},
		})
		return packets.ErrRejectPacket
	}
	return rc
}

// Shared subscriptions ($share/{group}/{filter}, MQTT 5 section 4.8.2)
// are decided like their filter and delivered like any subscription (each
// message is checked by CanReceive for the member it goes to). Their groups
// belong to an account: the hub puts the account into the group name Mochi
// sees, so a group of one account's consumers never shares its messages
// with another account's client that names the same group (a viewer could
// otherwise take a part of an operator's events away from it).

// splitShared splits a shared subscription filter into group and filter.
func splitShared(filter string) (group, rest string, ok bool) {
	first, after, ok := strings.Cut(filter, "/")
	if !ok || !strings.EqualFold(first, "$share") {
		return "", "", false
	}
	return strings.Cut(after, "/")
}

// shareScope is whose share groups a client's groups are: its account's;
// every anonymous development client's are the same ones (they are
// equally trusted, and each is an account of its own, named by its client
// ID: scoped by account, two of them could never share a group).
func shareScope(id authz.Identity) string {
	if id.Anonymous {
		return "" // no escaped account ID is empty
	}
	return wot.EscapeLevel(id.ID)
}

// accountGroups puts the account into the group of each shared filter:
// "$share/g/f" becomes "$share/{escaped ID}%%g/f". The escaped ID holds no
// "%%" (its every "%" starts an escape such as %2F), so no two accounts'
// groups can meet.
func (h *Hub) accountGroups(cl *mqtt.Client, filters packets.Subscriptions) packets.Subscriptions {
	id, ok := h.identity(cl)
	if !ok {
		return filters
	}
	out := filters
	copied := false
	for i, f := range filters {
		group, rest, ok := splitShared(f.Filter)
		if !ok {
			continue
		}
		if !copied { // the packet's slice stays as the client sent it
			out, copied = append(packets.Subscriptions(nil), filters...), true
		}
		out[i].Filter = "$share/" + shareScope(id) + "%%" + group + "/" + rest
	}
	return out
}

// OnSubscribe scopes shared subscription groups to the account.
func (k *hook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	pk.Filters = k.h.accountGroups(cl, pk.Filters)
	return pk
}

// OnUnsubscribe scopes shared subscription groups as OnSubscribe did.
func (k *hook) OnUnsubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	pk.Filters = k.h.accountGroups(cl, pk.Filters)
	return pk
}

// OnSubscribed notices an agent subscribing to its requests topic.
func (k *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	id, ok := k.h.identity(cl)
	if !ok {
		return
	}
	for i, f := range pk.Filters {
		if i < len(reasonCodes) && reasonCodes[i] < 0x80 && k.h.core.ReceivesRequests(id.ID, conn(cl), f.Filter, true) {
			k.h.core.AgentSubscribed(id.ID, conn(cl))
			return
		}
	}
}

// OnSessionEstablished notices a connection (presence) and an agent
// resuming a session that holds its requests subscription.
func (k *hook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	k.h.sessionBack(cl)
	k.h.watchToken(cl) // it ends when its token does (tokenends.go)
	id, ok := k.h.identity(cl)
	if !ok {
		return
	}
	k.h.core.AgentConnected(id.ID, conn(cl))
	if f := k.h.opts.SessionEstablished; f != nil && !cl.Net.Inline {
		f(cl.ID) // the session's key, {account}/{client ID} (clientid.go)
	}
	for _, sub := range cl.State.Subscriptions.GetAll() {
		if k.h.core.ReceivesRequests(id.ID, conn(cl), sub.Filter, false) {
			k.h.core.AgentSubscribed(id.ID, conn(cl))
			return
		}
	}
}

// OnUnsubscribed notices an agent dropping its requests subscription.
func (k *hook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	id, ok := k.h.identity(cl)
	if !ok {
		return
	}
	for _, sub := range cl.State.Subscriptions.GetAll() {
		if k.h.core.ReceivesRequests(id.ID, conn(cl), sub.Filter, false) {
			return
		}
	}
	k.h.core.AgentUnsubscribed(id.ID, conn(cl))
}

// OnDisconnect notices a connection ending: cleanly (DISCONNECT) or not.
func (k *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	k.h.drainPipeline(cl, true) // the Will and presence follow what the client published
	k.h.unwatchToken(cl)
	id, ok := k.h.identity(cl)
	if !ok {
		return
	}
	defer k.h.sessions.Delete(cl)
	if err != nil { // ended without a normal DISCONNECT [MQTT-3.1.2-8]
		k.h.sendWill(cl, id)
	} else {
		k.h.wills.Delete(cl) // [MQTT-3.1.2-10]
	}
	k.h.sessionAway(cl, id, expire)
	// A PUBACK that could not be written still acknowledged nothing, but
	// what the hub stored is delivered all the same.
	k.h.runAfterAck(cl)
	// A connection replaced by a newer one with its client ID (a takeover,
	// or a reconnect faster than Mochi's cleanup; links.go): that one is
	// about to count itself in, so the Things stay online (it may not have
	// been added yet when this runs).
	clean := err == nil || errors.Is(cl.StopCause(), packets.CodeDisconnect)
	k.h.core.ConnectionEnded(id.ID, conn(cl), clean, func() bool { return k.h.replacedBy(cl) != nil })
}

// OnClientExpired notices Mochi dropping a session whose client stayed
// away past its expiry.
func (k *hook) OnClientExpired(cl *mqtt.Client) { k.h.sessionExpired(cl) }

// isLegacy reports whether a connection speaks MQTT 3.1.1 (or older).
func isLegacy(cl *mqtt.Client) bool { return cl.Properties.ProtocolVersion < 5 }

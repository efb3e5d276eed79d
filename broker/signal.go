package broker

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// Real-time channel signalling: the hub introduces a consumer to the agent
// of a Thing (offer, answer, trickled ICE candidates, bye) and steps aside;
// the data flows peer to peer. Nothing is stored: sessions live in memory
// and end with bye, or after SessionIdle without signalling.

// SessionIdle ends a signalling session nobody used for this long.
const SessionIdle = 2 * time.Minute

// MaxSignal bounds one signalling message (SDP with many candidates fits).
const MaxSignal = 64 << 10

type session struct {
	id       string
	consumer string // account that opened it
	replyTo  string // the consumer's ResponseTopic
	corr     []byte
	thing    string
	agent    string
	last     time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session // by consumer + NUL + session ID
}

func sessionKey(consumer, id string) string { return consumer + "\x00" + id }

// channelSignal relays a consumer's signal to the agent of the Thing.
func (h *Hub) channelSignal(ctx context.Context, id authz.Identity, t wot.Topic, pk *twin.Message) error {
	replyTo := pk.ResponseTopic
	if replyTo == "" {
		return wot.Errorf(wot.CodeInvalidPayload, "channel signalling needs a ResponseTopic for the agent's answers")
	}
	if err := authz.ReplyTopicFor(id, replyTo); err != nil {
		return err
	}
	sig, err := parseSignal(pk.Payload)
	if err != nil {
		return err
	}
	e, ok := h.dir.Get(t.ThingID)
	if !ok {
		return wot.Errorf(wot.CodeUnknownThing, "no Thing %q", t.ThingID)
	}
	now := h.opts.Now()
	key := sessionKey(id.ID, sig.Session)
	h.signals.mu.Lock()
	if h.signals.m == nil {
		h.signals.m = map[string]*session{}
	}
	s := h.signals.m[key]
	switch {
	case sig.Type == wot.SignalOffer && s == nil:
		if !h.agents.isOnline(e.AgentID) {
			h.signals.mu.Unlock()
			return wot.Errorf(wot.CodeOffline, "the agent of Thing %q is offline; use hub messaging", t.ThingID)
		}
		s = &session{id: sig.Session, consumer: id.ID, replyTo: replyTo, corr: pk.CorrelationData, thing: t.ThingID, agent: e.AgentID}
		h.signals.m[key] = s
	case s == nil:
		h.signals.mu.Unlock()
		return wot.Errorf(wot.CodeUnknownAffordance, "no signalling session %q; start one with an offer", sig.Session)
	case s.thing != t.ThingID:
		h.signals.mu.Unlock()
		return wot.Errorf(wot.CodeInvalidPayload, "session %q is for Thing %q", sig.Session, s.thing)
	case sig.Type != wot.SignalCandidate && sig.Type != wot.SignalBye && sig.Type != wot.SignalOffer:
		h.signals.mu.Unlock()
		return wot.Errorf(wot.CodeInvalidPayload, "a consumer sends offer, candidate or bye, not %q", sig.Type)
	}
	s.last = now
	agent := s.agent
	if sig.Type == wot.SignalBye {
		delete(h.signals.m, key)
	}
	h.signals.mu.Unlock()
	h.inject(twin.Message{
		QoS:           1,
		Topic:         wot.RequestsTopic(agent),
		Payload:       pk.Payload,
		ResponseTopic: wot.Topic{Kind: wot.TopicAgentSignal, AgentID: agent}.String(),
		User: []twin.Property{
			{Key: wot.PropOp, Value: wot.OpSignal},
			{Key: wot.PropThing, Value: t.ThingID},
			{Key: wot.PropSession, Value: sig.Session},
			{Key: wot.PropSender, Value: id.ID},
			{Key: wot.PropTime, Value: now.UTC().Format(time.RFC3339Nano)},
		},
	})
	if sig.Type == wot.SignalOffer {
		h.log.Debug().Str("thing", t.ThingID).Str("consumer", id.ID).Str("session", sig.Session).Msg("channel offer relayed")
	}
	return nil
}

// agentSignal relays an agent's signal (answer, candidate, bye, error) to
// the consumer of the session. The agent names the session and its
// consumer (the sender user property of the offer it received).
func (h *Hub) agentSignal(ctx context.Context, id authz.Identity, pk *twin.Message) error {
	sig, err := parseSignal(pk.Payload)
	if err != nil {
		return err
	}
	consumer := userProp(pk, wot.PropSender)
	key := sessionKey(consumer, sig.Session)
	h.signals.mu.Lock()
	s := h.signals.m[key]
	if s == nil || s.agent != id.ID {
		h.signals.mu.Unlock()
		return wot.Errorf(wot.CodeUnknownAffordance, "no signalling session %q of %q with this agent", sig.Session, consumer)
	}
	s.last = h.opts.Now()
	if sig.Type == wot.SignalBye || sig.Type == wot.SignalError {
		delete(h.signals.m, key)
	}
	replyTo, corr := s.replyTo, s.corr
	h.signals.mu.Unlock()
	h.inject(twin.Message{
		QoS:             1,
		Topic:           replyTo,
		Payload:         pk.Payload,
		CorrelationData: corr,
		User: []twin.Property{
			{Key: wot.PropSession, Value: sig.Session},
			{Key: wot.PropSender, Value: id.ID},
		},
	})
	return nil
}

func parseSignal(b []byte) (wot.Signal, error) {
	var sig wot.Signal
	if len(b) > MaxSignal {
		return sig, wot.Errorf(wot.CodeInvalidPayload, "signal over %d bytes", MaxSignal)
	}
	if err := json.Unmarshal(b, &sig); err != nil {
		return sig, wot.Errorf(wot.CodeInvalidPayload, "signal: %v", err)
	}
	if sig.Session == "" || len(sig.Session) > 128 {
		return sig, wot.Errorf(wot.CodeInvalidPayload, "signal: session must be 1 to 128 characters")
	}
	switch sig.Type {
	case wot.SignalOffer, wot.SignalAnswer, wot.SignalCandidate, wot.SignalBye, wot.SignalError:
	default:
		return sig, wot.Errorf(wot.CodeInvalidPayload, "signal: unknown type %q", sig.Type)
	}
	return sig, nil
}

// sweepSessions ends signalling sessions idle for SessionIdle.
func (h *Hub) sweepSessions() {
	cutoff := h.opts.Now().Add(-SessionIdle)
	h.signals.mu.Lock()
	defer h.signals.mu.Unlock()
	for k, s := range h.signals.m {
		if s.last.Before(cutoff) {
			delete(h.signals.m, k)
		}
	}
}

package twin

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// Real-time channel signalling: the hub introduces a consumer to the agent
// of a Thing (offer, answer, trickled ICE candidates, bye) and steps aside;
// the data flows peer to peer. Nothing is stored: sessions live in memory
// and end with bye, or after SessionIdle without signalling.

// SessionIdle ends a signalling session nobody used for this long.
const SessionIdle = 2 * time.Minute

// MaxSignal bounds one signalling message (SDP with many candidates fits).
const MaxSignal = 64 << 10

// channelSession is one real-time channel being signalled: a consumer and
// the agent of a Thing.
type channelSession struct {
	id       string
	consumer string // account that opened it
	replyTo  string // the consumer's ResponseTopic
	corr     []byte
	thing    string
	agent    string
	last     time.Time
}

// channelSessions are the open signalling sessions.
type channelSessions struct {
	mu sync.Mutex
	m  map[string]*channelSession // by consumer + NUL + session ID
}

func channelKey(consumer, id string) string { return consumer + "\x00" + id }

// channelSignal relays a consumer's signal to the agent of the Thing.
func (c *Core) channelSignal(ctx context.Context, id authz.Identity, t wire.Topic, pk *Message) error {
	replyTo := pk.ResponseTopic
	if replyTo == "" {
		return wire.Errorf(wire.CodeInvalidPayload, "channel signalling needs a ResponseTopic for the agent's answers")
	}
	if err := authz.ReplyTopicFor(id, replyTo); err != nil {
		return err
	}
	sig, err := parseSignal(pk.Payload)
	if err != nil {
		return err
	}
	e, ok := c.dir.Get(t.ThingID)
	if !ok {
		return wire.Errorf(wire.CodeUnknownThing, "no Thing %q", t.ThingID)
	}
	now := c.opts.Now()
	key := channelKey(id.ID, sig.Session)
	c.channels.mu.Lock()
	if c.channels.m == nil {
		c.channels.m = map[string]*channelSession{}
	}
	s := c.channels.m[key]
	switch {
	case sig.Type == wire.SignalOffer && s == nil:
		if !c.agents.isOnline(e.AgentID) {
			c.channels.mu.Unlock()
			return wire.Errorf(wire.CodeOffline, "the agent of Thing %q is offline; use hub messaging", t.ThingID)
		}
		s = &channelSession{id: sig.Session, consumer: id.ID, replyTo: replyTo, corr: pk.CorrelationData, thing: t.ThingID, agent: e.AgentID}
		c.channels.m[key] = s
	case s == nil:
		c.channels.mu.Unlock()
		return wire.Errorf(wire.CodeUnknownAffordance, "no signalling session %q; start one with an offer", sig.Session)
	case s.thing != t.ThingID:
		c.channels.mu.Unlock()
		return wire.Errorf(wire.CodeInvalidPayload, "session %q is for Thing %q", sig.Session, s.thing)
	case sig.Type != wire.SignalCandidate && sig.Type != wire.SignalBye && sig.Type != wire.SignalOffer:
		c.channels.mu.Unlock()
		return wire.Errorf(wire.CodeInvalidPayload, "a consumer sends offer, candidate or bye, not %q", sig.Type)
	}
	s.last = now
	agent := s.agent
	if sig.Type == wire.SignalBye {
		delete(c.channels.m, key)
	}
	c.channels.mu.Unlock()
	c.send(Message{
		QoS:           1,
		Topic:         wire.RequestsTopic(agent),
		Payload:       pk.Payload,
		ResponseTopic: wire.Topic{Kind: wire.TopicAgentSignal, AgentID: agent}.String(),
		User: []Property{
			{Key: wire.PropOp, Value: wire.OpSignal},
			{Key: wire.PropThing, Value: t.ThingID},
			{Key: wire.PropSession, Value: sig.Session},
			{Key: wire.PropSender, Value: id.ID},
			{Key: wire.PropTime, Value: now.UTC().Format(time.RFC3339Nano)},
		},
	})
	if sig.Type == wire.SignalOffer {
		c.log.Debug().Str("thing", t.ThingID).Str("consumer", id.ID).Str("session", sig.Session).Msg("channel offer relayed")
	}
	return nil
}

// agentSignal relays an agent's signal (answer, candidate, bye, error) to
// the consumer of the session. The agent names the session and its
// consumer (the sender user property of the offer it received).
func (c *Core) agentSignal(ctx context.Context, id authz.Identity, pk *Message) error {
	sig, err := parseSignal(pk.Payload)
	if err != nil {
		return err
	}
	consumer := userProp(pk, wire.PropSender)
	key := channelKey(consumer, sig.Session)
	c.channels.mu.Lock()
	s := c.channels.m[key]
	if s == nil || s.agent != id.ID {
		c.channels.mu.Unlock()
		return wire.Errorf(wire.CodeUnknownAffordance, "no signalling session %q of %q with this agent", sig.Session, consumer)
	}
	s.last = c.opts.Now()
	if sig.Type == wire.SignalBye || sig.Type == wire.SignalError {
		delete(c.channels.m, key)
	}
	replyTo, corr := s.replyTo, s.corr
	c.channels.mu.Unlock()
	c.send(Message{
		QoS:             1,
		Topic:           replyTo,
		Payload:         pk.Payload,
		CorrelationData: corr,
		User: []Property{
			{Key: wire.PropSession, Value: sig.Session},
			{Key: wire.PropSender, Value: id.ID},
		},
	})
	return nil
}

func parseSignal(b []byte) (wire.Signal, error) {
	var sig wire.Signal
	if len(b) > MaxSignal {
		return sig, wire.Errorf(wire.CodeInvalidPayload, "signal over %d bytes", MaxSignal)
	}
	if err := json.Unmarshal(b, &sig); err != nil {
		return sig, wire.Errorf(wire.CodeInvalidPayload, "signal: %v", err)
	}
	if sig.Session == "" || len(sig.Session) > 128 {
		return sig, wire.Errorf(wire.CodeInvalidPayload, "signal: session must be 1 to 128 characters")
	}
	switch sig.Type {
	case wire.SignalOffer, wire.SignalAnswer, wire.SignalCandidate, wire.SignalBye, wire.SignalError:
	default:
		return sig, wire.Errorf(wire.CodeInvalidPayload, "signal: unknown type %q", sig.Type)
	}
	return sig, nil
}

// sweepChannelSessions ends signalling sessions idle for SessionIdle.
func (c *Core) sweepChannelSessions() {
	cutoff := c.opts.Now().Add(-SessionIdle)
	c.channels.mu.Lock()
	defer c.channels.mu.Unlock()
	for k, s := range c.channels.m {
		if s.last.Before(cutoff) {
			delete(c.channels.m, k)
		}
	}
}

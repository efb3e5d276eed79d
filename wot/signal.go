package wot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/wire"
)

// Real-time channel signalling, the half that needs no WebRTC: sending a
// Signal to a Thing's agent, and receiving consumers' signals as an agent
// (docs/channels.md). Package wot/rtc builds WebRTC DataChannels on it, so
// that programs that do not open channels do not link a WebRTC stack.

// Signal is the payload of real-time channel signalling: a WebRTC session
// description (offer, answer), an ICE candidate, or the end of a session
// (wire.Signal has the fields). It is a type of its own rather than an
// alias of wire.Signal for its Err method, which reports an error signal
// as the SDK's sentinel errors; convert with wire.Signal(s) and Signal(w).
type Signal wire.Signal

// maxSignalQueue bounds the signals an agent holds for its signal handlers;
// more are dropped (and logged): the consumer's setup then times out.
const maxSignalQueue = 1024

// SignalRequest is a real-time channel signal that a consumer sent to a
// Thing this client exposes, as the hub relayed it: an offer, a candidate
// or bye. Answer it with Reply.
type SignalRequest struct {
	Signal
	// ThingID is the Thing the consumer signals.
	ThingID string
	// Sender is the consumer (its account ID), stamped by the hub. A
	// session is named by Sender and Session together.
	Sender string
	// Time is when the hub accepted the signal.
	Time time.Time

	c       *Client
	replyTo string
}

// Reply sends a signal to the consumer of the request's session: an
// answer, a candidate, bye, or an error that refuses the session. Its
// Session is set to the request's. It returns once the hub took it; the
// hub refuses signals for sessions that ended (ErrNotFound).
func (r *SignalRequest) Reply(ctx context.Context, sig Signal) error {
	sig.Session = r.Session
	payload, err := json.Marshal(sig)
	if err != nil {
		return fmt.Errorf("%w: signal: %w", ErrInvalidInput, err)
	}
	props := &paho.PublishProperties{}
	props.User.Add(PropSender, r.Sender)
	ctx, cancel := r.c.withTimeout(ctx)
	defer cancel()
	if err := r.c.publish(ctx, &paho.Publish{Topic: r.replyTo, QoS: 1, Payload: payload, Properties: props}); err != nil {
		return fmt.Errorf("%s signal to %s: %w", sig.Type, r.Sender, err)
	}
	return nil
}

// SignalHandler receives the channel signals for a Thing. The signals of
// every Thing of a Client are handed over on one goroutine, one at a time,
// in the order they arrived: a handler must return quickly and leave
// slow work (and Reply) to goroutines of its own.
type SignalHandler func(*SignalRequest)

// HandleSignals sets the handler of the Thing's channel signalling,
// replacing any earlier one; nil removes it. Offers for a Thing without a
// handler are refused with an error signal (unknown_affordance), so the
// consumer learns at once that the Thing takes no channels. Package
// wot/rtc's Serve sets it.
func (e *ExposedThing) HandleSignals(h SignalHandler) {
	a := e.c.agent
	a.mu.Lock()
	defer a.mu.Unlock()
	if h == nil {
		delete(a.sig.handlers, e.id)
		return
	}
	if a.sig.handlers == nil {
		a.sig.handlers = make(map[string]SignalHandler)
	}
	a.sig.handlers[e.id] = h
}

// SendSignal sends a channel signal to the agent of a Thing: topic is the
// Thing's signalling topic (the twin TD's wotmq:channel member, or
// Topic{Kind: TopicChannel, ThingID: id}.String()), and the agent's
// signals come to replyTo, a topic at or below RepliesTopic that the
// caller subscribed to first. It returns once the hub took the signal; a
// refusal is an error: ErrDenied without the openchannel permission,
// ErrOffline when the agent is not connected, ErrNotFound for an unknown
// Thing or session.
func (c *Client) SendSignal(ctx context.Context, topic, replyTo string, sig Signal) error {
	payload, err := json.Marshal(sig)
	if err != nil {
		return fmt.Errorf("%w: signal: %w", ErrInvalidInput, err)
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	p := &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: &paho.PublishProperties{ResponseTopic: replyTo}}
	if err := c.publish(ctx, p); err != nil {
		return fmt.Errorf("%s signal on %s: %w", sig.Type, topic, err)
	}
	return nil
}

// Err returns the error an error signal reports, wrapping the sentinel of
// its code (ErrNotFound, ErrBusy, ...) and the *Error; nil for the other
// signal types.
func (s Signal) Err() error {
	if s.Type != SignalError {
		return nil
	}
	e := &Error{Code: CodeInternal, Message: "an error signal without an error"}
	if s.Error != nil {
		e = &Error{Code: s.Error.Code, Message: s.Error.Message}
	}
	return wireError(e)
}

// RepliesTopic is the client's ResponseTopic, replies/{AgentID}/{ClientID}
// (see Options.AccountID). The topics below it are the client's too: only
// its account may subscribe there.
func (c *Client) RepliesTopic() string { return c.replyTopic }

// signalState is an agent's signal handlers and the signals waiting for
// them. Guarded by agent.mu.
type signalState struct {
	handlers map[string]SignalHandler // by Thing ID
	queue    []*paho.Publish
	draining bool // a goroutine is handing the queue over
}

// signal takes a signal request from the hub (paho's handler goroutine:
// it only queues it).
func (a *agent) signal(p *paho.Publish) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if len(a.sig.queue) >= maxSignalQueue {
		a.c.log.Warn("too many channel signals waiting; dropping one", "thing", userProp(p, PropThing), "session", userProp(p, PropSession))
		return
	}
	a.sig.queue = append(a.sig.queue, p)
	if !a.sig.draining {
		a.sig.draining = true
		a.wg.Add(1)
		go a.drainSignals()
	}
}

// drainSignals hands the queued signals to their handlers, in order, and
// returns when the queue is empty.
func (a *agent) drainSignals() {
	defer a.wg.Done()
	for {
		a.mu.Lock()
		if len(a.sig.queue) == 0 || a.closed {
			a.sig.queue = nil
			a.sig.draining = false
			a.mu.Unlock()
			return
		}
		p := a.sig.queue[0]
		a.sig.queue[0] = nil
		a.sig.queue = a.sig.queue[1:]
		h := a.sig.handlers[userProp(p, PropThing)]
		a.mu.Unlock()
		a.deliverSignal(h, p)
	}
}

// deliverSignal hands one signal to h, or refuses an offer nobody takes.
func (a *agent) deliverSignal(h SignalHandler, p *paho.Publish) {
	r := &SignalRequest{
		ThingID: userProp(p, PropThing),
		Sender:  userProp(p, PropSender),
		c:       a.c,
		replyTo: p.Properties.ResponseTopic,
	}
	if r.replyTo == "" {
		r.replyTo = Topic{Kind: TopicAgentSignal, AgentID: a.c.agentID}.String()
	}
	r.Time, _ = time.Parse(time.RFC3339Nano, userProp(p, PropTime))
	if err := json.Unmarshal(p.Payload, &r.Signal); err != nil || r.Session == "" {
		a.c.log.Warn("dropping a channel signal that does not parse", "thing", r.ThingID, "sender", r.Sender, "err", err)
		return
	}
	if h == nil {
		if r.Type == SignalOffer {
			a.wg.Add(1) // drainSignals holds the group open
			go func() {
				defer a.wg.Done()
				ctx, cancel := context.WithTimeout(a.c.life, a.c.opts.Timeout)
				defer cancel()
				e := Errorf(CodeUnknownAffordance, "Thing %q does not take real-time channels; use hub messaging", r.ThingID)
				if err := r.Reply(ctx, Signal{Type: SignalError, Error: e}); err != nil {
					a.c.log.Info("cannot refuse a channel offer", "thing", r.ThingID, "err", err)
				}
			}()
		}
		return
	}
	defer func() {
		if v := recover(); v != nil {
			a.c.log.Error("signal handler panicked", "thing", r.ThingID, "session", r.Session, "panic", v)
		}
	}()
	h(r)
}

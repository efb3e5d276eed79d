package twin

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// consumerRequest handles invokeaction and writeproperty published over
// MQTT.
func (c *Core) consumerRequest(ctx context.Context, id authz.Identity, t wire.Topic, op string, pk *Message) error {
	sub := Submission{
		ReplyTo:     pk.ResponseTopic,
		Correlation: pk.CorrelationData,
		FinalOnly:   userProp(pk, wire.PropReplies) == wire.RepliesFinal,
	}
	if exp := pk.Expiry; exp > 0 {
		sub.Expiry = time.Duration(exp) * time.Second
	}
	_, err := c.Submit(ctx, id, t, op, pk.Payload, sub)
	return err
}

// Submission says how a request was made and who hears of its progress.
type Submission struct {
	// ReplyTo and Correlation are an MQTT consumer's ResponseTopic and
	// CorrelationData ("" for none).
	ReplyTo     string
	Correlation []byte
	// FinalOnly sends only the outcome to ReplyTo.
	FinalOnly bool
	// Expiry bounds how long the request may wait; the hub default when 0.
	Expiry time.Duration
	// Watch, when set, is called with every status of the request, in
	// order, from the first (under the agent's lock or on its line,
	// line.go: it must not block or call the core). It is removed after
	// the final status or by Unwatch.
	Watch func(*inbox.Request)
}

// Submit runs the request pipeline for every binding: check, apply the
// inbox rules, store as pending, then deliver at once if the agent is
// online. A refusal returns a *wire.Error (and is reported as a failed
// status to ReplyTo and Watch).
func (c *Core) Submit(ctx context.Context, id authz.Identity, t wire.Topic, op string, payload []byte, sub Submission) (*inbox.Request, error) {
	r := &inbox.Request{
		ActionStatus: wire.ActionStatus{ThingID: t.ThingID, Name: t.Name, Op: op, Sender: id.ID},
		ReplyTo:      sub.ReplyTo,
		Correlation:  sub.Correlation,
		FinalOnly:    sub.FinalOnly,
	}
	refuse := func(err error) (*inbox.Request, error) {
		err = c.refuseRequest(r, err)
		if sub.Watch != nil {
			sub.Watch(r)
		}
		return r, err
	}
	if sub.ReplyTo != "" {
		if err := authz.ReplyTopicFor(id, sub.ReplyTo); err != nil {
			r.ReplyTo = "" // never publish on a topic the client may not use
			return refuse(err)
		}
	}
	if err := c.checkRequest(t, op, payload, r); err != nil {
		return refuse(err)
	}
	if len(payload) > 0 {
		r.Input = json.RawMessage(payload)
	}
	if sub.Expiry > 0 {
		r.Expires = c.opts.Now().UTC().Add(sub.Expiry)
	}

	mu := c.agentLock(r.AgentID)
	mu.Lock()
	online := c.agents.isOnline(r.AgentID)
	replace, err := c.applyRules(ctx, r, online)
	if err != nil {
		mu.Unlock()
		return refuse(err)
	}
	// An online agent with nothing waiting and room in its delivery
	// window gets the request at once: it is stored as delivered in one
	// commit instead of pending, then delivered (two commits), and the
	// order of its requests still holds.
	delivered, waiting := c.inbox.Outstanding(r.AgentID)
	direct := online && !waiting && delivered < c.window
	if direct {
		r.Status = wire.StatusDelivered
	}
	// Staged (line.go): the request is in the agent's queue now, for the
	// next decision under the lock; its commit is awaited after the lock
	// is released, and what it lets out follows the commit.
	superseded, commit, err := c.inbox.ReplaceLater(ctx, r, replace, wire.Errorf(wire.CodeSuperseded, "a newer request replaced this one"))
	if err != nil {
		mu.Unlock()
		return r, err
	}
	var unwatch func()
	if sub.Watch != nil {
		unwatch = c.Watch(r.ID, sub.Watch)
	}
	failed := func(err error) (*inbox.Request, error) {
		if unwatch != nil {
			unwatch()
		}
		return r, err
	}
	endOld := func() {
		for _, old := range superseded {
			c.finished(ctx, old)
		}
	}
	if op == wire.OpWriteProperty {
		// The desired state is stored apart, once the write is: this
		// rarer path keeps its commit under the lock.
		if err := c.await(c.stage(r.AgentID, commit, endOld)); err != nil {
			mu.Unlock()
			return failed(err)
		}
		commit, endOld = nil, func() {}
		if _, err := c.inbox.SetDesired(ctx, r.ThingID, r.Name, r.Input, r.ID); err != nil {
			mu.Unlock()
			return failed(err)
		}
		c.publishDesired(ctx, r.ThingID, r.Name)
	}
	var st *step
	switch {
	case direct:
		st = c.stage(r.AgentID, commit, func() {
			endOld()
			c.notify(r, true)
			c.sendRequest(r, false)
		})
	case online:
		st = c.stage(r.AgentID, commit, endOld)
		c.drainLocked(ctx, r.AgentID)
		if cur, err := c.inbox.Get(ctx, r.ID); err == nil && cur.Status == wire.StatusPending {
			// Behind others in the agent's delivery window.
			c.stage(r.AgentID, nil, func() {
				if st.err == nil {
					c.notify(cur, true)
				}
			})
		}
	default:
		st = c.stage(r.AgentID, commit, func() {
			endOld()
			c.notify(r, true)
		})
		c.log.Debug().Str("id", r.ID).Str("thing", r.ThingID).Str("name", r.Name).Str("agent", r.AgentID).Msg("request queued for offline agent")
	}
	tail := c.tail(r.AgentID)
	mu.Unlock()
	err = c.await(st)
	_ = c.await(tail)
	if err != nil {
		return failed(err)
	}
	return r, nil
}

// refuseRequest answers a refused request: the consumer also gets a failed
// status, so a client that only listens on its ResponseTopic learns why.
func (c *Core) refuseRequest(r *inbox.Request, err error) error {
	r.Status, r.Error = wire.StatusFailed, AsWire(err)
	r.Requested, r.Updated = c.opts.Now().UTC(), c.opts.Now().UTC()
	c.notify(r, false)
	return err
}

// applyRules applies the inbox rules (docs/topics.md, "Inbox rules") to a
// new request and returns the unfinished requests it replaces. The caller
// holds the agent's lock.
//   - A safe action is never queued: refused (offline) when the agent is
//     offline, else delivered at once beside any others.
//   - An unsafe action replaces a pending request for the same action and
//     is refused (busy) while one is delivered and unfinished.
//   - A property write replaces every unfinished write of that property:
//     only the newest desired value matters.
//   - An agent's queue holds at most MaxQueue unfinished requests (quota).
func (c *Core) applyRules(ctx context.Context, r *inbox.Request, online bool) ([]string, error) {
	if r.Safe && !online {
		return nil, wire.Errorf(wire.CodeOffline, "agent of Thing %q is offline and %q is a safe action, which is not queued", r.ThingID, r.Name)
	}
	q, err := c.inbox.Queue(ctx, r.AgentID)
	if err != nil {
		return nil, err
	}
	var replace []string
	for _, e := range q {
		if r.Safe || e.Safe || e.ThingID != r.ThingID || e.Name != r.Name || e.Op != r.Op {
			continue
		}
		if r.Op == wire.OpWriteProperty || e.Status == wire.StatusPending {
			replace = append(replace, e.ID)
			continue
		}
		return nil, wire.Errorf(wire.CodeBusy, "request %s for %q is %s and not finished; try again when it is", e.ID, r.Name, e.Status)
	}
	queued := 0 // safe actions are not queued, so they do not count
	for _, e := range q {
		if !e.Safe {
			queued++
		}
	}
	if !r.Safe && queued-len(replace) >= c.opts.MaxQueue {
		return nil, wire.Errorf(wire.CodeQuota, "agent %q has %d unfinished requests, the most the hub queues", r.AgentID, queued-len(replace))
	}
	return replace, nil
}

// checkRequest checks a request against the directory and fills in the
// agent it goes to.
func (c *Core) checkRequest(t wire.Topic, op string, payload []byte, r *inbox.Request) error {
	e, ok := c.dir.Get(t.ThingID)
	if !ok {
		return wire.Errorf(wire.CodeUnknownThing, "no Thing %q", t.ThingID)
	}
	r.AgentID = e.AgentID
	if op == wire.OpInvokeAction {
		a, ok := e.TD.Actions[t.Name]
		if !ok {
			return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no action %q", t.ThingID, t.Name)
		}
		r.Safe = a.Safe
		return checkValue(a.Input, payload, true)
	}
	p, ok := e.TD.Properties[t.Name]
	if !ok {
		return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no property %q", t.ThingID, t.Name)
	}
	if p.ReadOnly {
		return wire.Errorf(wire.CodeReadOnly, "property %q of Thing %q is read-only", t.Name, t.ThingID)
	}
	return checkValue(&p.DataSchema, payload, false)
}

// AsWire is the wire error a client is answered with for err: err itself
// when it is a *wire.Error, else internal (the details stay in the log).
func AsWire(err error) *wire.Error {
	var we *wire.Error
	if errors.As(err, &we) {
		return we
	}
	return &wire.Error{Code: wire.CodeInternal, Message: "internal error; see the hub log"}
}

func userProp(pk *Message, key string) string {
	for _, u := range pk.User {
		if u.Key == key {
			return u.Value
		}
	}
	return ""
}

// agentOnline is called when a connection of agent subscribes to its
// requests; the agent's waiting requests are then delivered (after the
// SUBACK, hence the goroutine).
func (c *Core) agentOnline(agent string, conn ConnID, legacy bool, client, remote string) {
	if !c.enter() {
		return
	}
	mu := c.agentLock(agent)
	mu.Lock()
	// The requests delivered before the agent came (back) online are the
	// ones to deliver again; those delivered on this connection are not.
	q, _ := c.inbox.Queue(context.Background(), agent)
	first := c.agents.add(agent, conn, legacy, c.sentSeq.tick())
	mu.Unlock()
	again := map[string]bool{}
	if first {
		for _, e := range q {
			if e.Status != wire.StatusPending {
				again[e.ID] = true
			}
		}
		c.log.Info().Str("agent", agent).Str("client", client).Str("remote", remote).Msg("agent online")
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		defer c.leave()
		mu.Lock()
		defer c.unlock(agent, mu) // and wait for the deliveries staged
		c.redeliverLocked(context.Background(), agent, again)
	}()
}

// agentOffline is called when a connection of agent stops receiving
// requests. When it was the last one, the agent's unfinished safe actions
// fail: safe actions are never queued.
func (c *Core) agentOffline(agent string, conn ConnID, client string) {
	was, offline := c.agents.remove(agent, conn)
	if !was {
		return
	}
	if offline {
		c.log.Info().Str("agent", agent).Str("client", client).Msg("agent offline")
	}
	if !c.enter() {
		return
	}
	defer c.leave()
	mu := c.agentLock(agent)
	mu.Lock()
	defer c.unlock(agent, mu) // and wait for what was staged
	if c.agents.isOnline(agent) {
		// Its other connections (or one that came back meanwhile) get
		// what none of them received (handover.go).
		c.handOverLocked(context.Background(), agent)
		return
	}
	c.failSafeLocked(context.Background(), agent)
}

// failSafeLocked fails an offline agent's unfinished safe actions.
func (c *Core) failSafeLocked(ctx context.Context, agent string) {
	q, err := c.inbox.Queue(ctx, agent)
	if err != nil {
		c.log.Error().Err(err).Str("agent", agent).Msg("cannot read requests")
		return
	}
	for _, e := range q {
		if e.Safe {
			_ = c.finishLocked(ctx, e.ID, wire.StatusFailed, nil, wire.Errorf(wire.CodeOffline, "the agent went offline before it answered a safe action"))
		}
	}
}

// redeliverLocked hands an agent that came online its unfinished requests
// in order: pending ones for the first time, and the delivered ones named
// in again a second time (the agent may not have received them before its
// connection dropped). Requests it reported running or waiting are left
// alone; safe actions delivered before are failed, never repeated. The
// caller holds the agent's lock.
func (c *Core) redeliverLocked(ctx context.Context, agent string, again map[string]bool) {
	reqs, err := c.inbox.Unfinished(ctx, agent)
	if err != nil {
		c.log.Error().Err(err).Str("agent", agent).Msg("cannot read requests")
		return
	}
	// Delivered requests go out again first; pending ones follow, as far
	// as the delivery window allows (the rest as answers come in).
	for _, r := range reqs {
		switch {
		case r.Status == wire.StatusPending:
		case !again[r.ID]:
		case r.Safe:
			// Delivered before the agent dropped (or the hub restarted):
			// safe actions are never delivered twice.
			_ = c.finishLocked(ctx, r.ID, wire.StatusFailed, nil, wire.Errorf(wire.CodeOffline, "the agent went offline before it answered a safe action"))
		case r.Status == wire.StatusDelivered:
			c.deliverLocked(ctx, r)
		}
	}
	c.drainLocked(ctx, agent)
}

// drainLocked delivers an online agent's pending requests in order, as
// far as its delivery window allows. The caller holds the agent's lock.
func (c *Core) drainLocked(ctx context.Context, agent string) {
	delivered, waiting := c.inbox.Outstanding(agent)
	if !waiting || delivered >= c.window {
		return
	}
	reqs, err := c.inbox.Pending(ctx, agent)
	if err != nil {
		c.log.Error().Err(err).Str("agent", agent).Msg("cannot read pending requests")
		return
	}
	for _, r := range reqs {
		if delivered >= c.window {
			return
		}
		if c.deliverLocked(ctx, r) {
			delivered++
			continue
		}
		if c.opts.StoreRetry > 0 && !c.retryDelivery(ctx, r) {
			// In order or not at all: the rest wait for the next drain
			// (an answer, a reconnect, another node's request).
			return
		}
	}
}

// drainOnline delivers what waits for an agent once one of its delivered
// requests was answered or ended, if the agent is online. The caller holds
// the agent's lock.
func (c *Core) drainOnline(ctx context.Context, agent string) {
	if c.agents.isOnline(agent) {
		c.drainLocked(ctx, agent)
	}
}

// deliverLocked hands one request to its agent. It records delivered and
// tells the consumer before the agent can see the request, so the agent's
// reply always finds it delivered and the consumer sees statuses in order.
// Both follow the commit on the agent's line (line.go). It reports whether
// the request was recorded delivered (not when it had expired).
func (c *Core) deliverLocked(ctx context.Context, r *inbox.Request) bool {
	now := c.opts.Now()
	if !r.Expires.IsZero() && !now.Before(r.Expires) {
		c.finishLocked(ctx, r.ID, wire.StatusFailed, nil, wire.Errorf(wire.CodeExpired, "the request expired before the agent took it"))
		return false
	}
	redelivery := r.Status == wire.StatusDelivered
	id := r.ID
	r, commit, err := c.inbox.TransitionLater(ctx, id, wire.StatusDelivered, nil, nil)
	if err != nil {
		c.log.Error().Err(err).Str("id", id).Msg("cannot record delivery")
		return false
	}
	c.stage(r.AgentID, commit, func() {
		if !redelivery {
			c.notify(r, true)
		}
		c.sendRequest(r, redelivery)
	})
	return true
}

// sendRequest publishes a request recorded as delivered to its agent, on
// the agent's line once that record is committed (line.go).
func (c *Core) sendRequest(r *inbox.Request, redelivery bool) {
	user := []Property{
		{Key: wire.PropOp, Value: r.Op},
		{Key: wire.PropThing, Value: r.ThingID},
		{Key: wire.PropName, Value: r.Name},
		{Key: wire.PropActionID, Value: r.ID},
		{Key: wire.PropSender, Value: r.Sender},
		{Key: wire.PropTime, Value: r.Requested.Format(time.RFC3339Nano)},
	}
	if redelivery {
		user = append(user, Property{Key: wire.PropRedelivered, Value: strconv.Itoa(r.Deliveries - 1)})
	}
	pk := Message{
		QoS:             1,
		Topic:           wire.RequestsTopic(r.AgentID),
		Payload:         r.Input,
		ResponseTopic:   wire.RepliesTopic(r.AgentID),
		CorrelationData: []byte(r.ID),
		User:            user,
	}
	if left := r.Expires.Sub(c.opts.Now()); !r.Expires.IsZero() && left > 0 {
		pk.Expiry = uint32((left + time.Second - 1) / time.Second)
	}
	c.sentSeq.record(r.ID) // before it goes out: a receiver added after missed it
	c.send(pk)
	c.sendLegacy(r, r.Op, r.Input)
}

// agentReply handles an agent's progress report or outcome for a request:
// the CorrelationData is the request ID the hub gave it.
func (c *Core) agentReply(ctx context.Context, id authz.Identity, t wire.Topic, pk *Message) error {
	return c.beginAgentReply(ctx, id, t, pk)()
}

// beginAgentReply checks an agent's reply and stages the request's new
// status, and the deliveries it makes room for (line.go); finish waits for
// their commits and what follows them. A refusal is finish's error. The
// replies of one connection may be begun one after the other before the
// first is finished (Begin): they then share commits.
func (c *Core) beginAgentReply(ctx context.Context, id authz.Identity, t wire.Topic, pk *Message) (finish func() error) {
	refused := func(err error) func() error { return func() error { return err } }
	// An MQTT 3.1.1 agent names the request and its status in the topic
	// (agents/{agent}/replies/{actionID}[/{status}]).
	actionID := t.ActionID
	if actionID == "" {
		actionID = string(pk.CorrelationData)
	}
	if actionID == "" {
		// Tools that cannot echo CorrelationData (shell scripts) may name
		// the request by its action-id user property instead.
		actionID = userProp(pk, wire.PropActionID)
	}
	if actionID == "" {
		return refused(wire.Errorf(wire.CodeInvalidPayload, "a reply needs the CorrelationData of the request (or its action-id user property)"))
	}
	status := wire.Status(userProp(pk, wire.PropStatus))
	if t.ActionID != "" {
		status = wire.Status(t.Status)
	}
	if status == "" {
		status = wire.StatusCompleted
	}
	switch status {
	case wire.StatusRunning, wire.StatusWaiting, wire.StatusCompleted, wire.StatusFailed:
	default:
		return refused(wire.Errorf(wire.CodeInvalidPayload, "status %q: an agent reports running, waiting, completed or failed", status))
	}
	r, err := c.inbox.Get(ctx, actionID)
	if errors.Is(err, inbox.ErrNotFound) {
		return refused(wire.Errorf(wire.CodeUnknownAffordance, "no request %q", actionID))
	}
	if err != nil {
		return refused(err)
	}
	if r.AgentID != id.ID {
		return refused(wire.Errorf(wire.CodeDenied, "request %q was not sent to %q", actionID, id.ID))
	}
	var out json.RawMessage
	var werr *wire.Error
	switch status {
	case wire.StatusFailed:
		werr = agentError(pk)
	default:
		if len(pk.Payload) > 0 {
			if !json.Valid(pk.Payload) {
				return refused(wire.Errorf(wire.CodeInvalidPayload, "reply payload is not JSON"))
			}
			out = json.RawMessage(pk.Payload)
		}
		if status == wire.StatusCompleted && r.Op == wire.OpInvokeAction {
			if e, ok := c.dir.Get(r.ThingID); ok {
				if a, ok := e.TD.Actions[r.Name]; ok {
					if err := checkValue(a.Output, pk.Payload, true); err != nil {
						return refused(err)
					}
				}
			}
		}
	}
	mu := c.agentLock(r.AgentID)
	mu.Lock()
	st, err := c.finishStaged(ctx, actionID, status, out, werr)
	if err != nil {
		mu.Unlock()
		return refused(err)
	}
	c.drainOnline(ctx, r.AgentID)
	tail := c.tail(r.AgentID)
	mu.Unlock()
	return func() error {
		err := c.await(st)
		_ = c.await(tail)
		return err
	}
}

// agentError reads the error of a failed reply: a wire.Error JSON object,
// a JSON string, or plain text; the error user property may set the code.
func agentError(pk *Message) *wire.Error {
	e := &wire.Error{Code: wire.CodeAgentError}
	var obj wire.Error
	var s string
	switch {
	case json.Unmarshal(pk.Payload, &obj) == nil && (obj.Code != "" || obj.Message != ""):
		e.Message = obj.Message
		if obj.Code != "" {
			e.Code = obj.Code
		}
	case json.Unmarshal(pk.Payload, &s) == nil:
		e.Message = s
	default:
		e.Message = string(pk.Payload)
	}
	if c := userProp(pk, wire.PropError); c != "" {
		e.Code = wire.Code(c)
	}
	if m := userProp(pk, wire.PropMessage); m != "" && e.Message == "" {
		e.Message = m
	}
	return e
}

// finishLocked moves a request to a new status and tells the consumer,
// and returns once both are done. The caller holds the agent's lock.
func (c *Core) finishLocked(ctx context.Context, id string, status wire.Status, out json.RawMessage, e *wire.Error) error {
	st, err := c.finishStaged(ctx, id, status, out, e)
	if err != nil {
		return err
	}
	return c.await(st)
}

// finishStaged moves a request to a new status, staged: the consumer is
// told once it is committed (line.go). The caller holds the agent's lock.
func (c *Core) finishStaged(ctx context.Context, id string, status wire.Status, out json.RawMessage, e *wire.Error) (*step, error) {
	r, commit, err := c.inbox.TransitionLater(ctx, id, status, out, e)
	if errors.Is(err, inbox.ErrFinished) {
		return nil, wire.Errorf(wire.CodeFinished, "request %s already ended %s", id, r.Status)
	}
	if errors.Is(err, inbox.ErrTransition) {
		return nil, wire.Errorf(wire.CodeInvalidPayload, "request %s is %s; it cannot become %s", id, r.Status, status)
	}
	if err != nil {
		return nil, err
	}
	return c.stage(r.AgentID, commit, func() {
		c.finished(ctx, r)
		if status == wire.StatusFailed {
			c.log.Info().Str("id", r.ID).Str("thing", r.ThingID).Str("name", r.Name).
				Str("code", string(e.Code)).Str("reason", e.Message).Msg("request failed")
		}
	}), nil
}

// finished tells the consumer about a request's new status and, when a
// property write failed, ends the desired state it set.
func (c *Core) finished(ctx context.Context, r *inbox.Request) {
	if r.Status.Final() {
		c.sentSeq.forget(r.ID)
	}
	c.notify(r, true)
	if r.Op == wire.OpWriteProperty && r.Status == wire.StatusFailed {
		cleared, err := c.inbox.ClearDesired(ctx, r.ThingID, r.Name, r.ID)
		if err != nil {
			c.log.Error().Err(err).Str("thing", r.ThingID).Str("name", r.Name).Msg("cannot clear desired state")
		}
		if cleared {
			c.publishDesired(ctx, r.ThingID, r.Name)
		}
	}
}

// notify tells the consumer about a request's status on its ResponseTopic
// (with its CorrelationData) and, for actions, updates the retained
// queryaction topic when retain is set.
func (c *Core) notify(r *inbox.Request, retain bool) {
	if r.ID != "" && r.Status.Final() {
		c.observe(r.Op, r.Status, r.Updated.Sub(r.Requested))
	}
	c.watchers.call(r)
	// The queryable status first: a consumer that queries right after the
	// reply sees this status or a later one.
	if retain && r.Op == wire.OpInvokeAction && r.ID != "" {
		st := inbox.StatusJSON(r)
		c.publish(wire.ActionStatusTopic(r.ThingID, r.Name), st, true, nil)
	}
	if r.ReplyTo != "" && (!r.FinalOnly || r.Status.Final()) {
		user := []Property{
			{Key: wire.PropStatus, Value: string(r.Status)},
			{Key: wire.PropTime, Value: r.Updated.Format(time.RFC3339Nano)},
		}
		if r.ID != "" { // a refused request never got one
			user = append(user, Property{Key: wire.PropActionID, Value: r.ID})
		}
		var payload []byte
		switch r.Status {
		case wire.StatusCompleted, wire.StatusRunning, wire.StatusWaiting:
			payload = r.Output
		case wire.StatusFailed:
			user = append(user, Property{Key: wire.PropError, Value: string(r.Error.Code)},
				Property{Key: wire.PropMessage, Value: r.Error.Message})
			payload, _ = json.Marshal(r.Error)
		}
		c.send(Message{
			QoS:             1,
			Topic:           r.ReplyTo,
			Payload:         payload,
			CorrelationData: r.Correlation,
			User:            user,
		})
	}
}

// failThingRequests fails the unfinished requests for a deleted Thing.
func (c *Core) failThingRequests(ctx context.Context, agent, thingID string) {
	mu := c.agentLock(agent)
	mu.Lock()
	defer c.unlock(agent, mu) // and wait for what was staged
	reqs, err := c.inbox.Unfinished(ctx, agent)
	if err != nil {
		c.log.Error().Err(err).Str("agent", agent).Msg("cannot read requests")
		return
	}
	for _, r := range reqs {
		if r.ThingID == thingID {
			_ = c.finishLocked(ctx, r.ID, wire.StatusFailed, nil, wire.Errorf(wire.CodeUnknownThing, "Thing %q was deleted", thingID))
		}
	}
	c.drainOnline(ctx, agent) // the agent's other Things may have requests waiting
}

// sweepLoop fails requests whose expiry has passed.
func (c *Core) sweepLoop() {
	defer c.bg.Done()
	t := time.NewTicker(c.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.sweep(context.Background())
			c.sweepChannelSessions()
		}
	}
}

// sweep fails every unfinished request whose expiry has passed. A request
// it cannot fail (the store refuses the write) stays expired and would be
// found again at once: the sweep then stops until its next run instead of
// looping, which would also keep Close waiting for it forever.
func (c *Core) sweep(ctx context.Context) {
	const batch = 256
	for {
		ids, err := c.inbox.ExpiredBefore(ctx, c.opts.Now(), batch)
		if err != nil {
			c.log.Error().Err(err).Msg("cannot read expired requests")
			return
		}
		var stuck int
		var last error
		for _, id := range ids {
			r, err := c.inbox.Get(ctx, id)
			if err != nil {
				c.log.Error().Err(err).Str("id", id).Msg("cannot read expired request")
				return
			}
			mu := c.agentLock(r.AgentID)
			mu.Lock()
			if err := c.finishLocked(ctx, id, wire.StatusFailed, nil, wire.Errorf(wire.CodeExpired, "no outcome before the request expired (%s after it was made)", r.Expires.Sub(r.Requested).Round(time.Second))); err != nil {
				stuck, last = stuck+1, err
			}
			c.drainOnline(ctx, r.AgentID)
			c.unlock(r.AgentID, mu)
		}
		if stuck > 0 {
			c.log.Error().Err(last).Int("requests", stuck).Msg("cannot fail expired requests; trying again at the next sweep")
			return
		}
		if len(ids) < batch {
			return
		}
		select {
		case <-c.stop:
			return // the rest at the next start
		default:
		}
	}
}

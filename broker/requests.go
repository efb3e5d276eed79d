package broker

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// consumerRequest handles invokeaction and writeproperty published over
// MQTT.
func (h *Hub) consumerRequest(ctx context.Context, id authz.Identity, t wot.Topic, op string, pk *twin.Message) error {
	sub := Submission{
		ReplyTo:     pk.ResponseTopic,
		Correlation: pk.CorrelationData,
		FinalOnly:   userProp(pk, wot.PropReplies) == wot.RepliesFinal,
	}
	if exp := pk.Expiry; exp > 0 {
		sub.Expiry = time.Duration(exp) * time.Second
	}
	_, err := h.submit(ctx, id, t, op, pk.Payload, sub)
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
	// order, from the first (the hub holds the agent's lock: it must not
	// block). It is removed after the final status or by Unwatch.
	Watch func(*inbox.Request)
}

// submit runs the request pipeline for every binding: check, apply the
// inbox rules, store as pending, then deliver at once if the agent is
// online. A refusal returns a *wot.Error (and is reported as a failed
// status to ReplyTo and Watch).
func (h *Hub) submit(ctx context.Context, id authz.Identity, t wot.Topic, op string, payload []byte, sub Submission) (*inbox.Request, error) {
	r := &inbox.Request{
		ActionStatus: wot.ActionStatus{ThingID: t.ThingID, Name: t.Name, Op: op, Sender: id.ID},
		ReplyTo:      sub.ReplyTo,
		Correlation:  sub.Correlation,
		FinalOnly:    sub.FinalOnly,
	}
	refuse := func(err error) (*inbox.Request, error) {
		err = h.refuseRequest(r, err)
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
	if err := h.checkRequest(t, op, payload, r); err != nil {
		return refuse(err)
	}
	if len(payload) > 0 {
		r.Input = json.RawMessage(payload)
	}
	if sub.Expiry > 0 {
		r.Expires = h.opts.Now().UTC().Add(sub.Expiry)
	}

	mu := h.agentLock(r.AgentID)
	mu.Lock()
	defer mu.Unlock()
	online := h.agents.isOnline(r.AgentID)
	replace, err := h.applyRules(ctx, r, online)
	if err != nil {
		return refuse(err)
	}
	// An online agent with nothing waiting and room in its delivery
	// window gets the request at once: it is stored as delivered in one
	// commit instead of pending, then delivered (two commits), and the
	// order of its requests still holds.
	delivered, waiting := h.inbox.Outstanding(r.AgentID)
	direct := online && !waiting && delivered < h.window
	if direct {
		r.Status = wot.StatusDelivered
	}
	superseded, err := h.inbox.Replace(ctx, r, replace, wot.Errorf(wot.CodeSuperseded, "a newer request replaced this one"))
	if err != nil {
		return r, err
	}
	if sub.Watch != nil {
		h.watch(r.ID, sub.Watch)
	}
	for _, old := range superseded {
		h.finished(ctx, old)
	}
	if op == wot.OpWriteProperty {
		if _, err := h.inbox.SetDesired(ctx, r.ThingID, r.Name, r.Input, r.ID); err != nil {
			return r, err
		}
		h.publishDesired(ctx, r.ThingID, r.Name)
	}
	switch {
	case direct:
		h.notify(r, true)
		h.sendLocked(r, false)
		return r, nil
	case online:
		h.drainLocked(ctx, r.AgentID)
		if cur, err := h.inbox.Get(ctx, r.ID); err == nil && cur.Status == wot.StatusPending {
			h.notify(cur, true) // behind others in the agent's delivery window
		}
		return r, nil
	}
	h.notify(r, true)
	h.log.Debug().Str("id", r.ID).Str("thing", r.ThingID).Str("name", r.Name).Str("agent", r.AgentID).Msg("request queued for offline agent")
	return r, nil
}

// refuseRequest answers a refused request: the consumer also gets a failed
// status, so a client that only listens on its ResponseTopic learns why.
func (h *Hub) refuseRequest(r *inbox.Request, err error) error {
	r.Status, r.Error = wot.StatusFailed, asWire(err)
	r.Requested, r.Updated = h.opts.Now().UTC(), h.opts.Now().UTC()
	h.notify(r, false)
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
func (h *Hub) applyRules(ctx context.Context, r *inbox.Request, online bool) ([]string, error) {
	if r.Safe && !online {
		return nil, wot.Errorf(wot.CodeOffline, "agent of Thing %q is offline and %q is a safe action, which is not queued", r.ThingID, r.Name)
	}
	q, err := h.inbox.Queue(ctx, r.AgentID)
	if err != nil {
		return nil, err
	}
	var replace []string
	for _, e := range q {
		if r.Safe || e.Safe || e.ThingID != r.ThingID || e.Name != r.Name || e.Op != r.Op {
			continue
		}
		if r.Op == wot.OpWriteProperty || e.Status == wot.StatusPending {
			replace = append(replace, e.ID)
			continue
		}
		return nil, wot.Errorf(wot.CodeBusy, "request %s for %q is %s and not finished; try again when it is", e.ID, r.Name, e.Status)
	}
	queued := 0 // safe actions are not queued, so they do not count
	for _, e := range q {
		if !e.Safe {
			queued++
		}
	}
	if !r.Safe && queued-len(replace) >= h.opts.MaxQueue {
		return nil, wot.Errorf(wot.CodeQuota, "agent %q has %d unfinished requests, the most the hub queues", r.AgentID, queued-len(replace))
	}
	return replace, nil
}

// checkRequest checks a request against the directory and fills in the
// agent it goes to.
func (h *Hub) checkRequest(t wot.Topic, op string, payload []byte, r *inbox.Request) error {
	e, ok := h.dir.Get(t.ThingID)
	if !ok {
		return wot.Errorf(wot.CodeUnknownThing, "no Thing %q", t.ThingID)
	}
	r.AgentID = e.AgentID
	if op == wot.OpInvokeAction {
		a, ok := e.TD.Actions[t.Name]
		if !ok {
			return wot.Errorf(wot.CodeUnknownAffordance, "Thing %q has no action %q", t.ThingID, t.Name)
		}
		r.Safe = a.Safe
		return checkValue(a.Input, payload, true)
	}
	p, ok := e.TD.Properties[t.Name]
	if !ok {
		return wot.Errorf(wot.CodeUnknownAffordance, "Thing %q has no property %q", t.ThingID, t.Name)
	}
	if p.ReadOnly {
		return wot.Errorf(wot.CodeReadOnly, "property %q of Thing %q is read-only", t.Name, t.ThingID)
	}
	return checkValue(&p.DataSchema, payload, false)
}

func asWire(err error) *wot.Error {
	var we *wot.Error
	if errors.As(err, &we) {
		return we
	}
	return &wot.Error{Code: wot.CodeInternal, Message: "internal error; see the hub log"}
}

func userProp(pk *twin.Message, key string) string {
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
func (h *Hub) agentOnline(agent string, conn twin.ConnID, legacy bool, client, remote string) {
	if !h.enter() {
		return
	}
	mu := h.agentLock(agent)
	mu.Lock()
	// The requests delivered before the agent came (back) online are the
	// ones to deliver again; those delivered on this connection are not.
	q, _ := h.inbox.Queue(context.Background(), agent)
	first := h.agents.add(agent, conn, legacy)
	mu.Unlock()
	again := map[string]bool{}
	if first {
		for _, e := range q {
			if e.Status != wot.StatusPending {
				again[e.ID] = true
			}
		}
		h.log.Info().Str("agent", agent).Str("client", client).Str("remote", remote).Msg("agent online")
	}
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		defer h.leave()
		mu.Lock()
		defer mu.Unlock()
		h.redeliverLocked(context.Background(), agent, again)
	}()
}

// agentOffline is called when a connection of agent stops receiving
// requests. When it was the last one, the agent's unfinished safe actions
// fail: safe actions are never queued.
func (h *Hub) agentOffline(agent string, conn twin.ConnID, client string) {
	if !h.agents.remove(agent, conn) {
		return
	}
	h.log.Info().Str("agent", agent).Str("client", client).Msg("agent offline")
	if !h.enter() {
		return
	}
	defer h.leave()
	mu := h.agentLock(agent)
	mu.Lock()
	defer mu.Unlock()
	if h.agents.isOnline(agent) {
		return // it came back meanwhile
	}
	h.failSafeLocked(context.Background(), agent)
}

// failSafeLocked fails an offline agent's unfinished safe actions.
func (h *Hub) failSafeLocked(ctx context.Context, agent string) {
	q, err := h.inbox.Queue(ctx, agent)
	if err != nil {
		h.log.Error().Err(err).Str("agent", agent).Msg("cannot read requests")
		return
	}
	for _, e := range q {
		if e.Safe {
			_ = h.finishLocked(ctx, e.ID, wot.StatusFailed, nil, wot.Errorf(wot.CodeOffline, "the agent went offline before it answered a safe action"))
		}
	}
}

// redeliverLocked hands an agent that came online its unfinished requests
// in order: pending ones for the first time, and the delivered ones named
// in again a second time (the agent may not have received them before its
// connection dropped). Requests it reported running or waiting are left
// alone; safe actions delivered before are failed, never repeated. The
// caller holds the agent's lock.
func (h *Hub) redeliverLocked(ctx context.Context, agent string, again map[string]bool) {
	reqs, err := h.inbox.Unfinished(ctx, agent)
	if err != nil {
		h.log.Error().Err(err).Str("agent", agent).Msg("cannot read requests")
		return
	}
	// Delivered requests go out again first; pending ones follow, as far
	// as the delivery window allows (the rest as answers come in).
	for _, r := range reqs {
		switch {
		case r.Status == wot.StatusPending:
		case !again[r.ID]:
		case r.Safe:
			// Delivered before the agent dropped (or the hub restarted):
			// safe actions are never delivered twice.
			_ = h.finishLocked(ctx, r.ID, wot.StatusFailed, nil, wot.Errorf(wot.CodeOffline, "the agent went offline before it answered a safe action"))
		case r.Status == wot.StatusDelivered:
			h.deliverLocked(ctx, r)
		}
	}
	h.drainLocked(ctx, agent)
}

// drainLocked delivers an online agent's pending requests in order, as
// far as its delivery window allows. The caller holds the agent's lock.
func (h *Hub) drainLocked(ctx context.Context, agent string) {
	delivered, waiting := h.inbox.Outstanding(agent)
	if !waiting || delivered >= h.window {
		return
	}
	reqs, err := h.inbox.Pending(ctx, agent)
	if err != nil {
		h.log.Error().Err(err).Str("agent", agent).Msg("cannot read pending requests")
		return
	}
	for _, r := range reqs {
		if delivered >= h.window {
			return
		}
		if h.deliverLocked(ctx, r) {
			delivered++
		}
	}
}

// drainOnline delivers what waits for an agent once one of its delivered
// requests was answered or ended, if the agent is online. The caller holds
// the agent's lock.
func (h *Hub) drainOnline(ctx context.Context, agent string) {
	if h.agents.isOnline(agent) {
		h.drainLocked(ctx, agent)
	}
}

// deliverLocked hands one request to its agent. It records delivered and
// tells the consumer before the agent can see the request, so the agent's
// reply always finds it delivered and the consumer sees statuses in order.
// It reports whether the request went out (not when it had expired).
func (h *Hub) deliverLocked(ctx context.Context, r *inbox.Request) bool {
	now := h.opts.Now()
	if !r.Expires.IsZero() && !now.Before(r.Expires) {
		h.finishLocked(ctx, r.ID, wot.StatusFailed, nil, wot.Errorf(wot.CodeExpired, "the request expired before the agent took it"))
		return false
	}
	redelivery := r.Status == wot.StatusDelivered
	id := r.ID
	r, err := h.inbox.Transition(ctx, id, wot.StatusDelivered, nil, nil)
	if err != nil {
		h.log.Error().Err(err).Str("id", id).Msg("cannot record delivery")
		return false
	}
	if !redelivery {
		h.notify(r, true)
	}
	h.sendLocked(r, redelivery)
	return true
}

// sendLocked publishes a request recorded as delivered to its agent. The
// caller holds the agent's lock.
func (h *Hub) sendLocked(r *inbox.Request, redelivery bool) {
	user := []twin.Property{
		{Key: wot.PropOp, Value: r.Op},
		{Key: wot.PropThing, Value: r.ThingID},
		{Key: wot.PropName, Value: r.Name},
		{Key: wot.PropActionID, Value: r.ID},
		{Key: wot.PropSender, Value: r.Sender},
		{Key: wot.PropTime, Value: r.Requested.Format(time.RFC3339Nano)},
	}
	if redelivery {
		user = append(user, twin.Property{Key: wot.PropRedelivered, Value: strconv.Itoa(r.Deliveries - 1)})
	}
	pk := twin.Message{
		QoS:             1,
		Topic:           wot.RequestsTopic(r.AgentID),
		Payload:         r.Input,
		ResponseTopic:   wot.RepliesTopic(r.AgentID),
		CorrelationData: []byte(r.ID),
		User:            user,
	}
	if left := r.Expires.Sub(h.opts.Now()); !r.Expires.IsZero() && left > 0 {
		pk.Expiry = uint32((left + time.Second - 1) / time.Second)
	}
	h.inject(pk)
	h.sendLegacy(r, r.Op, r.Input)
}

// agentReply handles an agent's progress report or outcome for a request:
// the CorrelationData is the request ID the hub gave it.
func (h *Hub) agentReply(ctx context.Context, id authz.Identity, t wot.Topic, pk *twin.Message) error {
	// An MQTT 3.1.1 agent names the request and its status in the topic
	// (agents/{agent}/replies/{actionID}[/{status}]).
	actionID := t.ActionID
	if actionID == "" {
		actionID = string(pk.CorrelationData)
	}
	if actionID == "" {
		// Tools that cannot echo CorrelationData (shell scripts) may name
		// the request by its action-id user property instead.
		actionID = userProp(pk, wot.PropActionID)
	}
	if actionID == "" {
		return wot.Errorf(wot.CodeInvalidPayload, "a reply needs the CorrelationData of the request (or its action-id user property)")
	}
	status := wot.Status(userProp(pk, wot.PropStatus))
	if t.ActionID != "" {
		status = wot.Status(t.Status)
	}
	if status == "" {
		status = wot.StatusCompleted
	}
	switch status {
	case wot.StatusRunning, wot.StatusWaiting, wot.StatusCompleted, wot.StatusFailed:
	default:
		return wot.Errorf(wot.CodeInvalidPayload, "status %q: an agent reports running, waiting, completed or failed", status)
	}
	r, err := h.inbox.Get(ctx, actionID)
	if errors.Is(err, inbox.ErrNotFound) {
		return wot.Errorf(wot.CodeUnknownAffordance, "no request %q", actionID)
	}
	if err != nil {
		return err
	}
	if r.AgentID != id.ID {
		return wot.Errorf(wot.CodeDenied, "request %q was not sent to %q", actionID, id.ID)
	}
	var out json.RawMessage
	var werr *wot.Error
	switch status {
	case wot.StatusFailed:
		werr = agentError(pk)
	default:
		if len(pk.Payload) > 0 {
			if !json.Valid(pk.Payload) {
				return wot.Errorf(wot.CodeInvalidPayload, "reply payload is not JSON")
			}
			out = json.RawMessage(pk.Payload)
		}
		if status == wot.StatusCompleted && r.Op == wot.OpInvokeAction {
			if e, ok := h.dir.Get(r.ThingID); ok {
				if a, ok := e.TD.Actions[r.Name]; ok {
					if err := checkValue(a.Output, pk.Payload, true); err != nil {
						return err
					}
				}
			}
		}
	}
	mu := h.agentLock(r.AgentID)
	mu.Lock()
	defer mu.Unlock()
	if err := h.finishLocked(ctx, actionID, status, out, werr); err != nil {
		return err
	}
	h.drainOnline(ctx, r.AgentID)
	return nil
}

// agentError reads the error of a failed reply: a wot.Error JSON object,
// a JSON string, or plain text; the error user property may set the code.
func agentError(pk *twin.Message) *wot.Error {
	e := &wot.Error{Code: wot.CodeAgentError}
	var obj wot.Error
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
	if c := userProp(pk, wot.PropError); c != "" {
		e.Code = wot.Code(c)
	}
	if m := userProp(pk, wot.PropMessage); m != "" && e.Message == "" {
		e.Message = m
	}
	return e
}

// finishLocked moves a request to a new status and tells the consumer. The
// caller holds the agent's lock.
func (h *Hub) finishLocked(ctx context.Context, id string, status wot.Status, out json.RawMessage, e *wot.Error) error {
	r, err := h.inbox.Transition(ctx, id, status, out, e)
	if errors.Is(err, inbox.ErrFinished) {
		return wot.Errorf(wot.CodeFinished, "request %s already ended %s", id, r.Status)
	}
	if errors.Is(err, inbox.ErrTransition) {
		return wot.Errorf(wot.CodeInvalidPayload, "request %s is %s; it cannot become %s", id, r.Status, status)
	}
	if err != nil {
		return err
	}
	h.finished(ctx, r)
	if status == wot.StatusFailed {
		h.log.Info().Str("id", r.ID).Str("thing", r.ThingID).Str("name", r.Name).
			Str("code", string(e.Code)).Str("reason", e.Message).Msg("request failed")
	}
	return nil
}

// finished tells the consumer about a request's new status and, when a
// property write failed, ends the desired state it set.
func (h *Hub) finished(ctx context.Context, r *inbox.Request) {
	h.notify(r, true)
	if r.Op == wot.OpWriteProperty && r.Status == wot.StatusFailed {
		cleared, err := h.inbox.ClearDesired(ctx, r.ThingID, r.Name, r.ID)
		if err != nil {
			h.log.Error().Err(err).Str("thing", r.ThingID).Str("name", r.Name).Msg("cannot clear desired state")
		}
		if cleared {
			h.publishDesired(ctx, r.ThingID, r.Name)
		}
	}
}

// notify tells the consumer about a request's status on its ResponseTopic
// (with its CorrelationData) and, for actions, updates the retained
// queryaction topic when retain is set.
func (h *Hub) notify(r *inbox.Request, retain bool) {
	if r.ID != "" && r.Status.Final() {
		h.ops.observe(r.Op, r.Status, r.Updated.Sub(r.Requested))
	}
	h.watchers.call(r)
	// The queryable status first: a consumer that queries right after the
	// reply sees this status or a later one.
	if retain && r.Op == wot.OpInvokeAction && r.ID != "" {
		st, _ := json.Marshal(r.ActionStatus)
		h.publish(wot.ActionStatusTopic(r.ThingID, r.Name), st, true, nil)
	}
	if r.ReplyTo != "" && (!r.FinalOnly || r.Status.Final()) {
		user := []twin.Property{
			{Key: wot.PropStatus, Value: string(r.Status)},
			{Key: wot.PropTime, Value: r.Updated.Format(time.RFC3339Nano)},
		}
		if r.ID != "" { // a refused request never got one
			user = append(user, twin.Property{Key: wot.PropActionID, Value: r.ID})
		}
		var payload []byte
		switch r.Status {
		case wot.StatusCompleted, wot.StatusRunning, wot.StatusWaiting:
			payload = r.Output
		case wot.StatusFailed:
			user = append(user, twin.Property{Key: wot.PropError, Value: string(r.Error.Code)},
				twin.Property{Key: wot.PropMessage, Value: r.Error.Message})
			payload, _ = json.Marshal(r.Error)
		}
		h.inject(twin.Message{
			QoS:             1,
			Topic:           r.ReplyTo,
			Payload:         payload,
			CorrelationData: r.Correlation,
			User:            user,
		})
	}
}

// failThingRequests fails the unfinished requests for a deleted Thing.
func (h *Hub) failThingRequests(ctx context.Context, agent, thingID string) {
	mu := h.agentLock(agent)
	mu.Lock()
	defer mu.Unlock()
	reqs, err := h.inbox.Unfinished(ctx, agent)
	if err != nil {
		h.log.Error().Err(err).Str("agent", agent).Msg("cannot read requests")
		return
	}
	for _, r := range reqs {
		if r.ThingID == thingID {
			_ = h.finishLocked(ctx, r.ID, wot.StatusFailed, nil, wot.Errorf(wot.CodeUnknownThing, "Thing %q was deleted", thingID))
		}
	}
	h.drainOnline(ctx, agent) // the agent's other Things may have requests waiting
}

// sweepLoop fails requests whose expiry has passed.
func (h *Hub) sweepLoop() {
	defer h.bg.Done()
	t := time.NewTicker(h.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.sweep(context.Background())
			h.sweepSessions()
		}
	}
}

// sweep fails every unfinished request whose expiry has passed. A request
// it cannot fail (the store refuses the write) stays expired and would be
// found again at once: the sweep then stops until its next run instead of
// looping, which would also keep Close waiting for it forever.
func (h *Hub) sweep(ctx context.Context) {
	const batch = 256
	for {
		ids, err := h.inbox.ExpiredBefore(ctx, h.opts.Now(), batch)
		if err != nil {
			h.log.Error().Err(err).Msg("cannot read expired requests")
			return
		}
		var stuck int
		var last error
		for _, id := range ids {
			r, err := h.inbox.Get(ctx, id)
			if err != nil {
				h.log.Error().Err(err).Str("id", id).Msg("cannot read expired request")
				return
			}
			mu := h.agentLock(r.AgentID)
			mu.Lock()
			if err := h.finishLocked(ctx, id, wot.StatusFailed, nil, wot.Errorf(wot.CodeExpired, "no outcome before the request expired (%s after it was made)", r.Expires.Sub(r.Requested).Round(time.Second))); err != nil {
				stuck, last = stuck+1, err
			}
			h.drainOnline(ctx, r.AgentID)
			mu.Unlock()
		}
		if stuck > 0 {
			h.log.Error().Err(last).Int("requests", stuck).Msg("cannot fail expired requests; trying again at the next sweep")
			return
		}
		if len(ids) < batch {
			return
		}
		select {
		case <-h.stop:
			return // the rest at the next start
		default:
		}
	}
}

package twin

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// cancelAction handles cancelaction: a pending request fails at once
// (cancelled); a delivered one is cancelled with the agent, which then
// reports the outcome; when the agent is offline it fails at once too. The
// payload names the request (its ID as a JSON string); empty means the
// newest unfinished request of the action. Only the consumer that made a
// request may cancel it.
func (c *Core) cancelAction(ctx context.Context, id authz.Identity, t wire.Topic, pk *Message) error {
	replyTo := pk.ResponseTopic
	if replyTo != "" {
		if err := authz.ReplyTopicFor(id, replyTo); err != nil {
			return err
		}
	}
	st, err := c.Cancel(ctx, id, t, pk.Payload)
	if replyTo == "" {
		return err
	}
	var out any
	if st != nil {
		out = st
	}
	return c.answer(replyTo, pk.CorrelationData, out, err)
}

// Cancel is cancelaction for every binding: it returns the request's
// status record after the cancel.
func (c *Core) Cancel(ctx context.Context, id authz.Identity, t wire.Topic, payload []byte) (*wire.ActionStatus, error) {
	e, ok := c.dir.Get(t.ThingID)
	if !ok {
		return nil, wire.Errorf(wire.CodeUnknownThing, "no Thing %q", t.ThingID)
	}
	if _, ok := e.TD.Actions[t.Name]; !ok {
		return nil, wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no action %q", t.ThingID, t.Name)
	}
	mu := c.agentLock(e.AgentID)
	mu.Lock()
	defer c.unlock(e.AgentID, mu) // and wait for what was staged
	r, err := c.cancelTarget(ctx, e.AgentID, t, payload)
	if err != nil {
		return nil, err
	}
	if r.Sender != id.ID {
		return nil, wire.Errorf(wire.CodeDenied, "request %s was made by another client", r.ID)
	}
	if r.Status.Final() {
		return nil, wire.Errorf(wire.CodeFinished, "request %s already ended %s", r.ID, r.Status)
	}
	if r.Status != wire.StatusPending && c.agents.isOnline(r.AgentID) {
		// On the agent's line: after the request itself (line.go).
		c.stage(r.AgentID, nil, func() { c.forwardCancel(r, id) })
		c.log.Debug().Str("id", r.ID).Msg("cancel forwarded to agent")
		return &r.ActionStatus, nil
	}
	if err := c.finishLocked(ctx, r.ID, wire.StatusFailed, nil, wire.Errorf(wire.CodeCancelled, "cancelled by %s", id.ID)); err != nil {
		return nil, err
	}
	if r, err = c.inbox.Get(ctx, r.ID); err != nil {
		return nil, err
	}
	return &r.ActionStatus, nil
}

// forwardCancel sends a cancel of a delivered request to its agent.
func (c *Core) forwardCancel(r *inbox.Request, id authz.Identity) {
	c.send(Message{
		QoS:             1,
		Topic:           wire.RequestsTopic(r.AgentID),
		CorrelationData: []byte(r.ID),
		User: []Property{
			{Key: wire.PropOp, Value: wire.OpCancelAction},
			{Key: wire.PropThing, Value: r.ThingID},
			{Key: wire.PropName, Value: r.Name},
			{Key: wire.PropActionID, Value: r.ID},
			{Key: wire.PropSender, Value: id.ID},
			{Key: wire.PropTime, Value: c.opts.Now().UTC().Format(time.RFC3339Nano)},
		},
	})
	c.sendLegacy(r, wire.OpCancelAction, nil)
}

// cancelTarget finds the request a cancel names.
func (c *Core) cancelTarget(ctx context.Context, agent string, t wire.Topic, payload []byte) (*inbox.Request, error) {
	if len(payload) == 0 {
		q, err := c.inbox.Queue(ctx, agent)
		if err != nil {
			return nil, err
		}
		for i := len(q) - 1; i >= 0; i-- {
			if q[i].ThingID == t.ThingID && q[i].Name == t.Name && q[i].Op == wire.OpInvokeAction {
				return c.inbox.Get(ctx, q[i].ID)
			}
		}
		return nil, wire.Errorf(wire.CodeUnknownAffordance, "no unfinished request of action %q to cancel", t.Name)
	}
	var id string
	if err := json.Unmarshal(payload, &id); err != nil {
		return nil, wire.Errorf(wire.CodeInvalidPayload, "a cancel names the request by its action ID as a JSON string, or is empty")
	}
	r, err := c.inbox.Get(ctx, id)
	if errors.Is(err, inbox.ErrNotFound) || (err == nil && (r.ThingID != t.ThingID || r.Name != t.Name || r.Op != wire.OpInvokeAction)) {
		return nil, wire.Errorf(wire.CodeUnknownAffordance, "no request %q of action %q", id, t.Name)
	}
	return r, err
}

// ActionHistory is the reply to an action history query: the kept
// outcomes, newest first.
type ActionHistory = wire.ActionHistoryPage

// actionHistory answers a query for the last outcomes of an action.
func (c *Core) actionHistory(ctx context.Context, id authz.Identity, t wire.Topic, pk *Message) error {
	replyTo := pk.ResponseTopic
	if replyTo == "" {
		return wire.Errorf(wire.CodeInvalidPayload, "an action history query needs a ResponseTopic to answer on")
	}
	if err := authz.ReplyTopicFor(id, replyTo); err != nil {
		return err
	}
	// A refusal is answered on the ResponseTopic too, as for history.
	fail := func(err error) error { return c.answer(replyTo, pk.CorrelationData, nil, err) }
	e, ok := c.dir.Get(t.ThingID)
	if !ok {
		return fail(wire.Errorf(wire.CodeUnknownThing, "no Thing %q", t.ThingID))
	}
	if _, ok := e.TD.Actions[t.Name]; !ok {
		return fail(wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no action %q", t.ThingID, t.Name))
	}
	reqs, err := c.inbox.Outcomes(ctx, t.ThingID, wire.OpInvokeAction, t.Name)
	if err != nil {
		return fail(err)
	}
	out := ActionHistory{Items: make([]wire.ActionStatus, 0, len(reqs))}
	for _, r := range reqs {
		out.Items = append(out.Items, r.ActionStatus)
	}
	return c.answer(replyTo, pk.CorrelationData, out, nil)
}

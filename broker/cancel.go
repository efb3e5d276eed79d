package broker

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// cancelAction handles cancelaction: a pending request fails at once
// (cancelled); a delivered one is cancelled with the agent, which then
// reports the outcome; when the agent is offline it fails at once too. The
// payload names the request (its ID as a JSON string); empty means the
// newest unfinished request of the action. Only the consumer that made a
// request may cancel it.
func (h *Hub) cancelAction(ctx context.Context, id authz.Identity, t wot.Topic, pk *twin.Message) error {
	replyTo := pk.ResponseTopic
	if replyTo != "" {
		if err := authz.ReplyTopicFor(id, replyTo); err != nil {
			return err
		}
	}
	st, err := h.cancel(ctx, id, t, pk.Payload)
	if replyTo == "" {
		return err
	}
	var out any
	if st != nil {
		out = st
	}
	return h.answer(replyTo, pk.CorrelationData, out, err)
}

// cancel is cancelaction for every binding: it returns the request's
// status record after the cancel.
func (h *Hub) cancel(ctx context.Context, id authz.Identity, t wot.Topic, payload []byte) (*wot.ActionStatus, error) {
	e, ok := h.dir.Get(t.ThingID)
	if !ok {
		return nil, wot.Errorf(wot.CodeUnknownThing, "no Thing %q", t.ThingID)
	}
	if _, ok := e.TD.Actions[t.Name]; !ok {
		return nil, wot.Errorf(wot.CodeUnknownAffordance, "Thing %q has no action %q", t.ThingID, t.Name)
	}
	mu := h.agentLock(e.AgentID)
	mu.Lock()
	defer mu.Unlock()
	r, err := h.cancelTarget(ctx, e.AgentID, t, payload)
	if err != nil {
		return nil, err
	}
	if r.Sender != id.ID {
		return nil, wot.Errorf(wot.CodeDenied, "request %s was made by another client", r.ID)
	}
	if r.Status.Final() {
		return nil, wot.Errorf(wot.CodeFinished, "request %s already ended %s", r.ID, r.Status)
	}
	if r.Status != wot.StatusPending && h.agents.isOnline(r.AgentID) {
		h.inject(twin.Message{
			QoS:             1,
			Topic:           wot.RequestsTopic(r.AgentID),
			CorrelationData: []byte(r.ID),
			User: []twin.Property{
				{Key: wot.PropOp, Value: wot.OpCancelAction},
				{Key: wot.PropThing, Value: r.ThingID},
				{Key: wot.PropName, Value: r.Name},
				{Key: wot.PropActionID, Value: r.ID},
				{Key: wot.PropSender, Value: id.ID},
				{Key: wot.PropTime, Value: h.opts.Now().UTC().Format(time.RFC3339Nano)},
			},
		})
		h.sendLegacy(r, wot.OpCancelAction, nil)
		h.log.Debug().Str("id", r.ID).Msg("cancel forwarded to agent")
		return &r.ActionStatus, nil
	}
	if err := h.finishLocked(ctx, r.ID, wot.StatusFailed, nil, wot.Errorf(wot.CodeCancelled, "cancelled by %s", id.ID)); err != nil {
		return nil, err
	}
	if r, err = h.inbox.Get(ctx, r.ID); err != nil {
		return nil, err
	}
	return &r.ActionStatus, nil
}

// cancelTarget finds the request a cancel names.
func (h *Hub) cancelTarget(ctx context.Context, agent string, t wot.Topic, payload []byte) (*inbox.Request, error) {
	if len(payload) == 0 {
		q, err := h.inbox.Queue(ctx, agent)
		if err != nil {
			return nil, err
		}
		for i := len(q) - 1; i >= 0; i-- {
			if q[i].ThingID == t.ThingID && q[i].Name == t.Name && q[i].Op == wot.OpInvokeAction {
				return h.inbox.Get(ctx, q[i].ID)
			}
		}
		return nil, wot.Errorf(wot.CodeUnknownAffordance, "no unfinished request of action %q to cancel", t.Name)
	}
	var id string
	if err := json.Unmarshal(payload, &id); err != nil {
		return nil, wot.Errorf(wot.CodeInvalidPayload, "a cancel names the request by its action ID as a JSON string, or is empty")
	}
	r, err := h.inbox.Get(ctx, id)
	if errors.Is(err, inbox.ErrNotFound) || (err == nil && (r.ThingID != t.ThingID || r.Name != t.Name || r.Op != wot.OpInvokeAction)) {
		return nil, wot.Errorf(wot.CodeUnknownAffordance, "no request %q of action %q", id, t.Name)
	}
	return r, err
}

// ActionHistory is the reply to an action history query: the kept
// outcomes, newest first.
type ActionHistory = wot.ActionHistoryPage

// actionHistory answers a query for the last outcomes of an action.
func (h *Hub) actionHistory(ctx context.Context, id authz.Identity, t wot.Topic, pk *twin.Message) error {
	replyTo := pk.ResponseTopic
	if replyTo == "" {
		return wot.Errorf(wot.CodeInvalidPayload, "an action history query needs a ResponseTopic to answer on")
	}
	if err := authz.ReplyTopicFor(id, replyTo); err != nil {
		return err
	}
	// A refusal is answered on the ResponseTopic too, as for history.
	fail := func(err error) error { return h.answer(replyTo, pk.CorrelationData, nil, err) }
	e, ok := h.dir.Get(t.ThingID)
	if !ok {
		return fail(wot.Errorf(wot.CodeUnknownThing, "no Thing %q", t.ThingID))
	}
	if _, ok := e.TD.Actions[t.Name]; !ok {
		return fail(wot.Errorf(wot.CodeUnknownAffordance, "Thing %q has no action %q", t.ThingID, t.Name))
	}
	reqs, err := h.inbox.Outcomes(ctx, t.ThingID, wot.OpInvokeAction, t.Name)
	if err != nil {
		return fail(err)
	}
	out := ActionHistory{Items: make([]wot.ActionStatus, 0, len(reqs))}
	for _, r := range reqs {
		out.Items = append(out.Items, r.ActionStatus)
	}
	return h.answer(replyTo, pk.CorrelationData, out, nil)
}

package wot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/td"
)

// InvokeAction invokes an action and waits for its outcome: input is
// marshalled to JSON (nil for none, a json.RawMessage as it is) and the
// output is unmarshalled into output (nil to ignore it; a *json.RawMessage
// takes it as it is).
//
// It waits until ctx's deadline, or Options.Timeout (10 s by default) when
// ctx has none; then it fails with ErrTimeout, and the request, which
// carries that deadline as its MQTT message expiry, expires in the hub too.
// A refused or failed request returns an error that wraps a sentinel
// (ErrNotFound, ErrInvalidInput, ErrBusy, ErrAgent...) and the *Error the
// hub or the agent reported.
func (t *ConsumedThing) InvokeAction(ctx context.Context, name string, input, output any) error {
	topic, err := t.topic(TopicAction, name, td.OpInvokeAction)
	if err != nil {
		return err
	}
	payload, err := encodeValue(input)
	if err != nil {
		return err
	}
	p, err := t.c.request(ctx, topic, payload, true, fmt.Sprintf("invoke %s of %s", name, t.id))
	if err != nil {
		return err
	}
	out, err := outcome(p)
	if err != nil {
		return err
	}
	return decodeOutput(out, output)
}

func decodeOutput(out json.RawMessage, output any) error {
	if output == nil || len(out) == 0 {
		return nil
	}
	if err := json.Unmarshal(out, output); err != nil {
		return fmt.Errorf("wot: decode output: %w", err)
	}
	return nil
}

// WriteProperty writes a property (the desired state) and waits until the
// agent applied it, like InvokeAction.
func (t *ConsumedThing) WriteProperty(ctx context.Context, name string, value any) error {
	topic, err := t.topic(TopicPropertySet, name, td.OpWriteProperty)
	if err != nil {
		return err
	}
	payload, err := encodeValue(value)
	if err != nil {
		return err
	}
	p, err := t.c.request(ctx, topic, payload, true, fmt.Sprintf("write %s of %s", name, t.id))
	if err != nil {
		return err
	}
	_, err = outcome(p)
	return err
}

// Emit sends a fire-and-forget request to the Thing's action: it goes
// through the hub's inbox like any invocation (the agent gets it, also
// when it connects later), but no status comes back. It returns once the
// hub stored the request.
func (t *ConsumedThing) Emit(ctx context.Context, name string, input any) error {
	topic, err := t.topic(TopicAction, name, td.OpInvokeAction)
	if err != nil {
		return err
	}
	payload, err := encodeValue(input)
	if err != nil {
		return err
	}
	ctx, cancel := t.c.withTimeout(ctx)
	defer cancel()
	return t.c.publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
}

// CancelAction cancels a request of an action, by its action ID ("" for
// the newest unfinished one), and returns the request's status record
// after the cancel. A pending request (or one whose agent is offline) ends
// failed with code cancelled at once; a delivered one is forwarded to the
// agent, whose handler's context is cancelled: the request's own outcome
// tells how it ended. Only the consumer that made a request may cancel it
// (ErrDenied); a finished one fails with ErrExpired (code finished).
func (t *ConsumedThing) CancelAction(ctx context.Context, name, actionID string) (*ActionStatus, error) {
	topic, err := t.topic(TopicActionCancel, name, td.OpCancelAction)
	if err != nil {
		return nil, err
	}
	var payload []byte
	if actionID != "" {
		if payload, err = json.Marshal(actionID); err != nil {
			return nil, err
		}
	}
	p, err := t.c.request(ctx, topic, payload, true, fmt.Sprintf("cancel %s of %s", name, t.id))
	if err != nil {
		return nil, err
	}
	out, err := outcome(p)
	if err != nil {
		return nil, err
	}
	var st ActionStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("%w: status record: %w", ErrInvalidInput, err)
	}
	return &st, nil
}

// ActionUpdate is one status of an asynchronous invocation.
type ActionUpdate struct {
	Status   Status
	ActionID string    // the hub's ID of the request
	Time     time.Time // when the status changed, by the hub's clock
	// Payload is the progress on running, the output on completed.
	Payload json.RawMessage
	// Err is set on failed: it wraps a sentinel and the *Error, like the
	// errors of InvokeAction.
	Err error
}

func newUpdate(p *paho.Publish) ActionUpdate {
	u := ActionUpdate{
		Status:   Status(userProp(p, PropStatus)),
		ActionID: userProp(p, PropActionID),
		Payload:  json.RawMessage(p.Payload),
	}
	u.Time, _ = time.Parse(time.RFC3339Nano, userProp(p, PropTime))
	if u.Status == "" {
		u.Status = StatusCompleted
	}
	if u.Status == StatusFailed {
		u.Payload = nil
		u.Err = failure(p)
	}
	return u
}

// Invocation is an action invoked with InvokeActionAsync.
type Invocation struct {
	t    *ConsumedThing
	name string
	cl   *call
}

// InvokeActionAsync invokes an action and returns at once when the hub has
// stored the request. Its statuses (pending, delivered, running with
// progress, waiting, then completed or failed) come on Updates.
//
// The invocation lasts until its outcome or until ctx ends (its deadline,
// or Options.Timeout when it has none), which ends it with a failed update
// whose Err wraps ErrTimeout (or ctx's error).
func (t *ConsumedThing) InvokeActionAsync(ctx context.Context, name string, input any) (*Invocation, error) {
	topic, err := t.topic(TopicAction, name, td.OpInvokeAction)
	if err != nil {
		return nil, err
	}
	payload, err := encodeValue(input)
	if err != nil {
		return nil, err
	}
	c := t.c
	// life bounds the invocation; the outcome cancels it, which runs the
	// AfterFunc: a no-op then. The publish has a context of its own: a
	// refusal's failed status may end the invocation before the PUBACK
	// comes.
	life, cancel := c.withTimeout(ctx)
	pctx, pcancel := c.withTimeout(ctx)
	defer pcancel()
	what := fmt.Sprintf("invoke %s of %s", name, t.id)
	cl := c.calls.register(true, cancel)
	context.AfterFunc(life, func() { c.calls.drop(cl, c.callError(life, what, life.Err())) })
	if err := c.publish(pctx, c.requestPacket(life, topic, payload, cl, false)); err != nil {
		c.calls.drop(cl, err)
		return nil, err
	}
	return &Invocation{t: t, name: name, cl: cl}, nil
}

// Updates delivers every status in order and is closed after the final
// one (completed or failed), which is always delivered. Back-pressure: it
// holds 32 updates for a reader that lags; beyond that, intermediate
// statuses are dropped.
func (i *Invocation) Updates() <-chan ActionUpdate { return i.cl.updates }

// Done is closed when the invocation has ended.
func (i *Invocation) Done() <-chan struct{} { return i.cl.done }

// ActionID is the hub's ID of the request, once a status has told it ("" until then).
func (i *Invocation) ActionID() string { return i.t.c.calls.idOf(i.cl) }

// Wait waits for the outcome and unmarshals the output into output (nil
// to ignore it), like InvokeAction. If ctx ends first, Wait returns
// ErrTimeout or ctx's error, and the invocation goes on.
func (i *Invocation) Wait(ctx context.Context, output any) error {
	select {
	case <-i.cl.done:
	case <-ctx.Done():
		return i.t.c.callError(ctx, "wait for "+i.name, ctx.Err())
	}
	if i.cl.final == nil {
		return i.cl.err
	}
	out, err := outcome(i.cl.final)
	if err != nil {
		return err
	}
	return decodeOutput(out, output)
}

// Cancel asks the hub to cancel the request (CancelAction); its outcome
// comes on Updates and Wait as usual. It fails with ErrNoValue when no
// status has told the action ID yet.
func (i *Invocation) Cancel(ctx context.Context) error {
	id := i.ActionID()
	if id == "" {
		return fmt.Errorf("%w: the hub has not told the action ID yet", ErrNoValue)
	}
	_, err := i.t.CancelAction(ctx, i.name, id)
	return err
}

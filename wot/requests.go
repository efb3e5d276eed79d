package wot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Bounds of the agent's bookkeeping.
const (
	// maxParked is how many requests for Things not exposed (yet) an agent
	// holds; more are left to the hub, which delivers them again on the
	// next connection.
	maxParked = 1024
	// maxFinished is how many finished requests an agent remembers, to
	// answer a redelivered one again instead of running it twice.
	maxFinished = 4096
)

// ActionHandler performs an action. input is in req.Input (req.Decode
// unmarshals it); the output it returns is marshalled to JSON (nil for
// none, a json.RawMessage as it is) and must fit the action's output
// schema. An error fails the request: a *Error (wot.Errorf) keeps its code,
// any other error is reported as agent_error with its text. ctx is
// cancelled when the request is cancelled, expires or the Client closes.
// Handlers run concurrently, each on a goroutine of its own.
type ActionHandler func(ctx context.Context, req *Request) (output any, err error)

// WriteHandler applies a property write (the desired state) in req.Input.
// On success the agent reports value as the property's new value
// (UpdateProperty) and then completes the write; a nil value reports the
// value that was asked for, AlreadyReported none.
type WriteHandler func(ctx context.Context, req *Request) (value any, err error)

// AlreadyReported is the value a WriteHandler returns when the new value
// reaches the hub another way (an edge hub forwards the device's own
// report from its history): the write completes, nothing is reported.
var AlreadyReported any = alreadyReported{}

type alreadyReported struct{}

// ActionFunc adapts a typed function to an ActionHandler: the input is
// unmarshalled into In (a malformed input fails with invalid_payload) and
// the Out returned is the output. RequestFromContext gives the Request,
// e.g. for progress reports.
func ActionFunc[In, Out any](f func(ctx context.Context, in In) (Out, error)) ActionHandler {
	return func(ctx context.Context, req *Request) (any, error) {
		var in In
		if len(req.Input) > 0 {
			if err := json.Unmarshal(req.Input, &in); err != nil {
				return nil, Errorf(CodeInvalidPayload, "input of %s: %v", req.Name, err)
			}
		}
		return f(ctx, in)
	}
}

// Request is an action invocation or property write the hub handed to the
// agent.
type Request struct {
	Op       string // OpInvokeAction or OpWriteProperty
	ThingID  string
	Name     string // the action or property
	ActionID string // the hub's ID of the request
	Sender   string // the consumer that made it
	Time     time.Time
	// Redelivered counts earlier deliveries: the hub delivers again a
	// request left unanswered when the agent's connection dropped. The
	// agent answers a repeat of a request it finished without running it
	// again; a repeat after the agent process restarted runs again.
	Redelivered int
	// Expires is when the hub stops waiting for the outcome (zero when
	// the request did not say).
	Expires time.Time
	Input   json.RawMessage

	a       *agent
	replyTo string
	corr    []byte
}

type requestKey struct{}

// RequestFromContext returns the Request a handler's context belongs to,
// or nil.
func RequestFromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// Decode unmarshals the input (or the value to write) into v.
func (r *Request) Decode(v any) error {
	if len(r.Input) == 0 {
		return Errorf(CodeInvalidPayload, "%s of %s has no input", r.Name, r.ThingID)
	}
	if err := json.Unmarshal(r.Input, v); err != nil {
		return Errorf(CodeInvalidPayload, "input of %s: %v", r.Name, err)
	}
	return nil
}

// Progress reports that the request is running, with optional progress
// (marshalled to JSON; nil for none). The consumer sees status running.
func (r *Request) Progress(ctx context.Context, progress any) error {
	return r.report(ctx, StatusRunning, progress)
}

// Waiting reports that the request is accepted but waits for a device
// that is asleep or unreachable behind the agent (status waiting); the
// outcome follows later.
func (r *Request) Waiting(ctx context.Context, detail any) error {
	return r.report(ctx, StatusWaiting, detail)
}

func (r *Request) report(ctx context.Context, st Status, v any) error {
	payload, err := encodeValue(v)
	if err != nil {
		return err
	}
	ctx, cancel := r.a.c.withTimeout(ctx)
	defer cancel()
	return r.a.c.publish(ctx, r.reply(st, payload, nil))
}

// reply builds an answer to the request.
func (r *Request) reply(st Status, payload []byte, e *Error) *paho.Publish {
	props := &paho.PublishProperties{CorrelationData: r.corr}
	props.User.Add(PropStatus, string(st))
	props.User.Add(PropActionID, r.ActionID)
	if e != nil {
		props.User.Add(PropError, string(e.Code))
		props.User.Add(PropMessage, e.Message)
		payload, _ = json.Marshal(e)
	}
	return &paho.Publish{Topic: r.replyTo, QoS: 1, Payload: payload, Properties: props}
}

// agent is a client's agent side: its exposed Things and the requests
// they are handling.
type agent struct {
	c        *Client
	exposeMu sync.Mutex // serialises Expose

	mu       sync.Mutex
	closed   bool
	things   map[string]*ExposedThing
	requests *sub            // the requests subscription, once a Thing is exposed
	parked   []*paho.Publish // requests for Things not exposed yet
	running  map[string]*running
	finished map[string]*paho.Publish // final answers by action ID
	order    []string                 // finished action IDs, oldest first
	wg       sync.WaitGroup
	repeats  atomic.Uint64 // requests delivered again that were not run again
	sig      signalState   // channel signalling (signal.go)
}

// running is a request being handled.
type running struct {
	cancel context.CancelCauseFunc
}

func newAgent(c *Client) *agent {
	return &agent{
		c:        c,
		things:   make(map[string]*ExposedThing),
		running:  make(map[string]*running),
		finished: make(map[string]*paho.Publish),
	}
}

// expose registers e and makes sure the agent receives its requests.
func (a *agent) expose(ctx context.Context, e *ExposedThing) error {
	a.exposeMu.Lock()
	defer a.exposeMu.Unlock()
	a.mu.Lock()
	a.things[e.id] = e
	s := a.requests
	if s == nil {
		s = &sub{filter: RequestsTopic(a.c.agentID), sink: a.receive}
		a.requests = s
	}
	a.mu.Unlock()
	if !a.c.subs.has(s.filter) {
		if err := a.c.subscribe(ctx, s); err != nil {
			a.mu.Lock()
			delete(a.things, e.id)
			a.requests = nil
			a.mu.Unlock()
			return fmt.Errorf("expose %s: receive requests: %w", e.id, err)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	kept := a.parked[:0]
	for _, p := range a.parked {
		if userProp(p, PropThing) == e.id {
			a.startLocked(e, p)
		} else {
			kept = append(kept, p)
		}
	}
	clear(a.parked[len(kept):])
	a.parked = kept
	return nil
}

// forget stops handling a Thing's requests.
func (a *agent) forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.things, id)
}

// restore publishes the TD of every exposed Thing again on a new
// connection (the hub may have lost it, e.g. a fresh data directory).
func (a *agent) restore(ctx context.Context) {
	a.mu.Lock()
	things := make([]*ExposedThing, 0, len(a.things))
	for _, e := range a.things {
		things = append(things, e)
	}
	a.mu.Unlock()
	for _, e := range things {
		if err := e.publishTD(ctx); err != nil {
			a.c.log.Warn("cannot publish TD again", "thing", e.id, "err", err)
		}
	}
}

// receive takes a request from the hub. It runs on paho's handler
// goroutine: it only books the request and starts its handler goroutine.
func (a *agent) receive(p *paho.Publish) {
	if p.Properties == nil {
		return
	}
	if userProp(p, PropOp) == OpSignal { // channel signalling: no action ID
		a.signal(p)
		return
	}
	id := userProp(p, PropActionID)
	if id == "" {
		id = string(p.Properties.CorrelationData)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || id == "" {
		return
	}
	if userProp(p, PropOp) == OpCancelAction {
		if r := a.running[id]; r != nil {
			r.cancel(ErrCancelled)
		}
		return
	}
	if _, ok := a.running[id]; ok {
		a.repeats.Add(1)
		return // delivered again while running: the outcome will answer both
	}
	if ans := a.finished[id]; ans != nil {
		a.repeats.Add(1)
		a.wg.Add(1)
		go func() { // answered already; the answer may have been lost
			defer a.wg.Done()
			a.answer(ans)
		}()
		return
	}
	e := a.things[userProp(p, PropThing)]
	if e == nil {
		if len(a.parked) < maxParked {
			a.parked = append(a.parked, p)
		} else {
			a.c.log.Warn("too many requests for Things not exposed; leaving this one to the hub", "thing", userProp(p, PropThing), "id", id)
		}
		return
	}
	a.startLocked(e, p)
}

// startLocked starts handling a request. The caller holds a.mu.
func (a *agent) startLocked(e *ExposedThing, p *paho.Publish) {
	r := &Request{
		Op:       userProp(p, PropOp),
		ThingID:  e.id,
		Name:     userProp(p, PropName),
		ActionID: userProp(p, PropActionID),
		Sender:   userProp(p, PropSender),
		Input:    json.RawMessage(p.Payload),
		a:        a,
		replyTo:  p.Properties.ResponseTopic,
		corr:     p.Properties.CorrelationData,
	}
	if r.ActionID == "" {
		r.ActionID = string(r.corr)
	}
	if r.replyTo == "" {
		r.replyTo = RepliesTopic(a.c.agentID)
	}
	r.Time, _ = time.Parse(time.RFC3339Nano, userProp(p, PropTime))
	r.Redelivered, _ = strconv.Atoi(userProp(p, PropRedelivered))
	ctx, cancel := context.WithCancelCause(a.c.life)
	if exp := p.Properties.MessageExpiry; exp != nil && *exp > 0 {
		r.Expires = time.Now().Add(time.Duration(*exp) * time.Second)
		var stop context.CancelFunc
		ctx, stop = context.WithDeadline(ctx, r.Expires)
		prev := cancel
		cancel = func(cause error) { prev(cause); stop() }
	}
	a.running[r.ActionID] = &running{cancel: cancel}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel(nil)
		ans := a.handle(context.WithValue(ctx, requestKey{}, r), e, r)
		a.mu.Lock()
		delete(a.running, r.ActionID)
		if errors.Is(context.Cause(ctx), ErrClosed) {
			// The client closes: a handler stopped by it has no outcome to
			// tell. The hub delivers the request again when the agent comes
			// back (Client.Close); answering "failed" here would end it.
			a.mu.Unlock()
			return
		}
		a.rememberLocked(r.ActionID, ans)
		a.mu.Unlock()
		a.answer(ans)
	}()
}

// rememberLocked keeps a final answer for redeliveries, forgetting the
// oldest beyond maxFinished. The caller holds a.mu.
func (a *agent) rememberLocked(id string, ans *paho.Publish) {
	if _, ok := a.finished[id]; !ok {
		a.order = append(a.order, id)
	}
	a.finished[id] = ans
	if len(a.order) > maxFinished {
		delete(a.finished, a.order[0])
		a.order = a.order[1:]
	}
}

// handle runs the handler and returns the final answer.
func (a *agent) handle(ctx context.Context, e *ExposedThing, r *Request) (ans *paho.Publish) {
	defer func() {
		if v := recover(); v != nil {
			a.c.log.Error("request handler panicked", "thing", r.ThingID, "name", r.Name, "panic", v)
			ans = r.reply(StatusFailed, nil, Errorf(CodeAgentError, "the handler of %s panicked: %v", r.Name, v))
		}
	}()
	switch r.Op {
	case OpInvokeAction:
		h := e.actionHandler(r.Name)
		if h == nil {
			return r.reply(StatusFailed, nil, Errorf(CodeUnknownAffordance, "the agent has no handler for action %q", r.Name))
		}
		out, err := h(ctx, r)
		if err != nil {
			return r.reply(StatusFailed, nil, handlerError(ctx, err))
		}
		payload, err := encodeValue(out)
		if err != nil {
			return r.reply(StatusFailed, nil, Errorf(CodeAgentError, "output of %s: %v", r.Name, err))
		}
		return r.reply(StatusCompleted, payload, nil)
	case OpWriteProperty:
		h := e.writeHandler(r.Name)
		if h == nil {
			return r.reply(StatusFailed, nil, Errorf(CodeUnknownAffordance, "the agent has no handler for writes of property %q", r.Name))
		}
		v, err := h(ctx, r)
		if err != nil {
			return r.reply(StatusFailed, nil, handlerError(ctx, err))
		}
		if v == AlreadyReported {
			return r.reply(StatusCompleted, nil, nil)
		}
		if v == nil {
			v = r.Input
		}
		if err := e.UpdateProperty(context.WithoutCancel(ctx), r.Name, v); err != nil {
			return r.reply(StatusFailed, nil, Errorf(CodeOf(err), "report the written value: %v", err))
		}
		return r.reply(StatusCompleted, nil, nil)
	}
	return r.reply(StatusFailed, nil, Errorf(CodeInvalidPayload, "the agent does not support operation %q", r.Op))
}

// handlerError turns a handler's error into the wire error of the failed
// answer.
func handlerError(ctx context.Context, err error) *Error {
	var we *Error
	switch {
	case errors.As(err, &we):
		return we
	case errors.Is(context.Cause(ctx), ErrCancelled):
		return Errorf(CodeCancelled, "%v", err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return Errorf(CodeExpired, "%v", err)
	}
	return &Error{Code: CodeAgentError, Message: err.Error()}
}

// answer publishes a final answer. An output the hub refuses (it does not
// fit the action's output schema) becomes a failure, so the consumer is
// not left waiting.
func (a *agent) answer(ans *paho.Publish) {
	ctx, cancel := context.WithTimeout(a.c.life, a.c.opts.Timeout)
	defer cancel()
	err := a.c.publish(ctx, ans)
	var we *Error
	if errors.As(err, &we) && errors.Is(err, ErrInvalidInput) && Status(userProp(ans, PropStatus)) == StatusCompleted {
		r := &Request{replyTo: ans.Topic, corr: ans.Properties.CorrelationData, ActionID: userProp(ans, PropActionID)}
		failed := r.reply(StatusFailed, nil, Errorf(CodeAgentError, "the hub refused the agent's output: %s", we.Message))
		a.mu.Lock()
		if _, ok := a.finished[r.ActionID]; ok {
			a.finished[r.ActionID] = failed
		}
		a.mu.Unlock()
		err = a.c.publish(ctx, failed)
	}
	if err != nil && !errors.Is(err, ErrClosed) {
		// expired: the hub gave up already; a lost connection: the hub
		// delivers the request again and the answer is sent again.
		a.c.log.Info("answer not taken", "topic", ans.Topic, "id", userProp(ans, PropActionID), "err", err)
	}
}

// close cancels every running handler.
func (a *agent) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for _, r := range a.running {
		r.cancel(ErrClosed)
	}
	a.parked = nil
}

// wait waits for every handler and answer to finish.
func (a *agent) wait() { a.wg.Wait() }

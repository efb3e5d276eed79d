package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
	"github.com/wotmq/wotmq/wot"
)

// handleRequest runs a request the cloud hub handed to the edge (an action
// or a property write for an exported Thing): it is submitted to the edge's
// own inbox, where it waits for a device that sleeps like any local
// request, and its statuses go back to the cloud: pending at the edge as
// waiting (the device is not reached yet), running and waiting as they
// are, the outcome as the answer. A request the cloud hands over again
// (the edge restarted, or the link dropped before the answer) is found in
// the edge's inbox by its cloud action ID and followed, not submitted
// twice.
func (b *Bridge) handleRequest(ctx context.Context, req *wot.Request) (any, error) {
	t := wire.Topic{Kind: wire.TopicAction, ThingID: req.ThingID, Name: req.Name}
	if req.Op == wot.OpWriteProperty {
		t.Kind = wire.TopicPropertySet
	}
	who := authz.Identity{ID: SenderPrefix + req.Sender}
	w := &follower{ch: make(chan struct{}, 1)}
	r, err := b.findRequest(ctx, req, who)
	if err != nil {
		return nil, err
	}
	if r != nil {
		unwatch := b.opts.Core.Watch(r.ID, w.set)
		defer unwatch()
		if cur, err := b.opts.Inbox.Get(ctx, r.ID); err == nil {
			w.set(cur)
		}
	} else {
		sub := twin.Submission{Correlation: []byte(req.ActionID), Watch: w.set}
		if !req.Expires.IsZero() {
			sub.Expiry = time.Until(req.Expires)
			if sub.Expiry <= 0 {
				return nil, wot.Errorf(wot.CodeExpired, "the request expired on its way to the edge")
			}
		}
		var payload []byte
		if len(req.Input) > 0 {
			payload = req.Input
		}
		if _, err := b.opts.Core.Submit(ctx, who, t, req.Op, payload, sub); err != nil {
			we := twin.AsWire(err)
			return nil, &wot.Error{Code: we.Code, Message: we.Message}
		}
	}
	return b.follow(ctx, req, t, who, w)
}

// findRequest looks for the edge's request made for this cloud request: the
// newest one of its action or property, else one of the finished ones the
// edge keeps (--outcome-recall).
func (b *Bridge) findRequest(ctx context.Context, req *wot.Request, who authz.Identity) (*inbox.Request, error) {
	if req.Redelivered == 0 {
		return nil, nil
	}
	ours := func(r *inbox.Request) bool {
		return r != nil && r.Sender == who.ID && string(r.Correlation) == req.ActionID
	}
	r, err := b.opts.Inbox.Latest(ctx, req.ThingID, req.Op, req.Name)
	if err != nil && !errors.Is(err, inbox.ErrNotFound) {
		return nil, err
	}
	if ours(r) {
		return r, nil
	}
	done, err := b.opts.Inbox.Outcomes(ctx, req.ThingID, req.Op, req.Name)
	if err != nil && !errors.Is(err, inbox.ErrNotFound) {
		return nil, err
	}
	for _, r := range done {
		if ours(r) {
			return r, nil
		}
	}
	return nil, nil
}

// follow relays the edge request's statuses to the cloud until its outcome.
// A cancel from the cloud cancels it at the edge, and the edge's outcome
// is still the answer.
func (b *Bridge) follow(ctx context.Context, req *wot.Request, t wire.Topic, who authz.Identity, w *follower) (any, error) {
	var said wire.Status
	var saidOut string
	for {
		if r := w.get(); r != nil && (r.Status != said || string(r.Output) != saidOut) {
			said, saidOut = r.Status, string(r.Output)
			var err error
			switch r.Status {
			case wire.StatusPending:
				err = req.Waiting(ctx, nil) // held at the edge: the device is not reached yet
			case wire.StatusRunning:
				err = req.Progress(ctx, raw(r.Output))
			case wire.StatusWaiting:
				err = req.Waiting(ctx, raw(r.Output))
			case wire.StatusCompleted:
				if req.Op == wot.OpWriteProperty {
					return wot.AlreadyReported, nil // the device's report comes through the history
				}
				return raw(r.Output), nil
			case wire.StatusFailed:
				e := r.Error
				if e == nil {
					e = wire.Errorf(wire.CodeInternal, "failed at the edge")
				}
				return nil, &wot.Error{Code: e.Code, Message: e.Message}
			}
			if err != nil && ctx.Err() == nil {
				b.log.Debug().Err(err).Str("id", req.ActionID).Msg("cannot relay a status upstream")
			}
		}
		select {
		case <-w.ch:
		case <-ctx.Done():
			if !errors.Is(context.Cause(ctx), wot.ErrCancelled) {
				return nil, context.Cause(ctx) // the bridge closes: no answer, the cloud hands it over again
			}
			if r := w.get(); r != nil && t.Kind == wire.TopicAction {
				id, _ := json.Marshal(r.ID)
				_, err := b.opts.Core.Cancel(b.life, who, wire.Topic{Kind: wire.TopicActionCancel, ThingID: t.ThingID, Name: t.Name}, id)
				if err != nil {
					b.log.Debug().Err(err).Str("id", r.ID).Msg("cancel at the edge")
				}
			}
			ctx = b.life // the edge's outcome, cancelled or not, answers the request
		}
	}
}

// raw is a stored JSON value for the SDK (nil: none).
func raw(v json.RawMessage) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// follower holds the newest status of an edge request; set is a
// twin.Submission.Watch, called under the agent's lock or on its line, so it only
// stores and signals.
type follower struct {
	mu  sync.Mutex
	cur *inbox.Request
	ch  chan struct{}
}

func (f *follower) set(r *inbox.Request) {
	f.mu.Lock()
	if f.cur == nil || (!f.cur.Status.Final() && !r.Updated.Before(f.cur.Updated)) {
		f.cur = r
	}
	f.mu.Unlock()
	select {
	case f.ch <- struct{}{}:
	default:
	}
}

func (f *follower) get() *inbox.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

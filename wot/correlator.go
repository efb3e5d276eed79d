package wot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/eclipse/paho.golang/paho"
)

// updatesBuffer is how many status updates an Invocation holds for a reader
// that lags behind.
const updatesBuffer = 32

// correlator matches replies on the client's ResponseTopic to the calls
// waiting for them, by CorrelationData.
//
// A call is registered before its request is published, so a reply that
// arrives before the caller waits is kept, never dropped. It leaves the
// table when its final reply arrives, or when the caller gives up
// (timeout, cancelled context, failed publish): nothing stays behind.
// deliver runs on paho's handler goroutine and never blocks.
type correlator struct {
	prefix string // random per correlator, so replies meant for an earlier process never match
	seq    atomic.Uint64
	late   atomic.Uint64 // replies for calls no longer waiting

	mu    sync.Mutex
	calls map[string]*call
}

// call is one request waiting for its reply or replies.
type call struct {
	id   string
	corr []byte
	// stream calls get every status on updates (bounded, see deliver);
	// others only the final reply.
	stream  bool
	updates chan ActionUpdate
	done    chan struct{} // closed when final is set or the call was dropped
	final   *paho.Publish // the final reply; nil if the call was dropped
	err     error         // why the call was dropped
	// actionID is the hub's ID of the request, from the first reply that
	// carries it. Guarded by the correlator's lock.
	actionID string
	// onDone, if set, runs once the call has ended (under the correlator's
	// lock: it must not block).
	onDone func()
}

func newCorrelator() *correlator {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &correlator{prefix: hex.EncodeToString(b[:]) + "-", calls: make(map[string]*call)}
}

// register adds a call and returns it; its corr goes into the request's
// CorrelationData. onDone (may be nil) runs when the call ends.
func (c *correlator) register(stream bool, onDone func()) *call {
	id := c.prefix + strconv.FormatUint(c.seq.Add(1), 36)
	cl := &call{id: id, corr: []byte(id), stream: stream, done: make(chan struct{}), onDone: onDone}
	if stream {
		cl.updates = make(chan ActionUpdate, updatesBuffer)
	}
	c.mu.Lock()
	c.calls[id] = cl
	c.mu.Unlock()
	return cl
}

// isFinal reports whether a reply ends its call: a final status, or no
// status at all (history pages and the SDK's own sync markers).
func isFinal(p *paho.Publish) bool {
	st := Status(userProp(p, PropStatus))
	return st == "" || st.Final()
}

// deliver hands a reply to its call. It never blocks: a stream call's
// buffer that is full drops the newest intermediate status, and makes room
// for the final one by dropping the oldest intermediate. It reports whether
// a call was waiting for the reply.
func (c *correlator) deliver(p *paho.Publish) bool {
	if p.Properties == nil || len(p.Properties.CorrelationData) == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.calls[string(p.Properties.CorrelationData)]
	if cl == nil {
		c.late.Add(1)
		return false
	}
	if cl.actionID == "" {
		cl.actionID = userProp(p, PropActionID)
	}
	if !isFinal(p) {
		if cl.stream {
			select {
			case cl.updates <- newUpdate(p):
			default: // reader lagging: drop this intermediate status
			}
		}
		return true
	}
	delete(c.calls, cl.id)
	cl.final = p
	if cl.stream {
		cl.push(newUpdate(p))
		close(cl.updates)
	}
	close(cl.done)
	if cl.onDone != nil {
		cl.onDone()
	}
	return true
}

// push queues p on a stream call's updates, dropping the oldest queued
// update when the buffer is full. The caller holds the correlator's lock,
// which makes it the only sender, so the send after a drop cannot block.
func (cl *call) push(u ActionUpdate) {
	select {
	case cl.updates <- u:
		return
	default:
	}
	select {
	case <-cl.updates:
	default:
	}
	cl.updates <- u
}

// drop removes a call that is no longer waited for, because of err. A
// stream call gets a last, failed update with err. It reports whether the
// call was still registered; false means its final reply won the race.
func (c *correlator) drop(cl *call, err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls[cl.id] != cl {
		return false
	}
	delete(c.calls, cl.id)
	cl.err = err
	if cl.stream {
		cl.push(ActionUpdate{Status: StatusFailed, ActionID: cl.actionID, Err: err})
		close(cl.updates)
	}
	close(cl.done)
	if cl.onDone != nil {
		cl.onDone()
	}
	return true
}

// idOf returns the hub's action ID of a call, once a reply told it.
func (c *correlator) idOf(cl *call) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cl.actionID
}

// wait blocks until the call's final reply arrives or ctx ends; then the
// call is gone from the table either way.
func (c *correlator) wait(ctx context.Context, cl *call) (*paho.Publish, error) {
	select {
	case <-cl.done:
	case <-ctx.Done():
		if c.drop(cl, ctx.Err()) {
			return nil, ctx.Err()
		}
	}
	if cl.final == nil {
		return nil, cl.err
	}
	return cl.final, nil
}

// dropAll ends every call (the client is closing).
func (c *correlator) dropAll() {
	c.mu.Lock()
	calls := make([]*call, 0, len(c.calls))
	for _, cl := range c.calls {
		calls = append(calls, cl)
	}
	c.mu.Unlock()
	for _, cl := range calls {
		c.drop(cl, ErrClosed)
	}
}

// len is the number of calls waiting.
func (c *correlator) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

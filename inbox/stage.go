package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/wire"
)

// Staged writes. The twin core decides on an agent's requests under that
// agent's lock; when it also held the lock across each commit, the requests
// of one agent (every consumer of its Things, and its own answers) never
// shared a commit, and an agent's round trips ran one commit at a time
// (issue 15). ReplaceLater and TransitionLater make their change visible to
// the store's readers at once (Get, Queue, Outstanding, Pending and the
// rest read the in-memory index) and queue its commit with the group
// commit; the returned Commit waits for it. So the caller can release its
// lock before the commit, and the next decision already sees this one.
//
// The caller must let nothing out of the hub that depends on the change (an
// acknowledgement, a status, the request to its agent) before Commit
// returned nil: until then a crash loses the change. Commits finish in the
// order they were staged (one group commit, batches in order). Should a
// commit fail, the store reads the requests it touched back from Badger,
// so that memory says again what is stored, and Commit returns the error.

// Commit waits for a staged write's commit and returns its error. It may be
// called more than once (later calls return the first result).
type Commit func() error

// write is what one store call writes: its Badger operations, planned
// before its transaction so that a transaction shared with other writes,
// or run again alone, writes exactly them; and its in-memory changes.
type write struct {
	ops      []op
	ch       changes
	ids      []string   // the requests it touches
	finished []*Request // the requests it finishes (committing until the commit is over)
}

// op is one Badger operation of a write.
type op struct {
	key, val []byte
	ttl      time.Duration
	del      bool
}

func (w *write) set(k, v []byte, ttl time.Duration) {
	w.ops = append(w.ops, op{key: k, val: v, ttl: ttl})
}

func (w *write) del(k []byte) { w.ops = append(w.ops, op{key: k, del: true}) }

// run applies the write's operations to txn.
func (w *write) run(txn *badger.Txn) error {
	for _, o := range w.ops {
		var err error
		switch {
		case o.del:
			err = txn.Delete(o.key)
		case o.ttl > 0:
			err = txn.SetEntry(badger.NewEntry(o.key, o.val).WithTTL(o.ttl))
		default:
			err = txn.Set(o.key, o.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ReplaceLater is Replace, staged: the new request (its ID, times and
// status assigned) and the failed old ones are in memory when it returns,
// and commit waits for their commit.
func (s *Store) ReplaceLater(ctx context.Context, r *Request, old []string, e *wire.Error) (failed []*Request, commit Commit, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	r.ID = s.newID(now)
	r.Begin(now, s.expiry)
	var w write
	for _, id := range old {
		s.qmu.Lock()
		o, ok := s.live[id] // every unfinished request is there
		s.qmu.Unlock()
		if !ok {
			continue
		}
		c := *o
		c.Status, c.Error, c.Updated = wire.StatusFailed, e, now
		if err := s.plan(&w, &c); err != nil {
			return nil, nil, err
		}
		failed = append(failed, &c)
	}
	if err := s.plan(&w, r); err != nil {
		return nil, nil, err
	}
	w.set(latestKey(r.ThingID, r.Op, r.Name), []byte(r.ID), 0) // the newest request of its action
	return failed, s.stage(&w, r.ID), nil
}

// TransitionLater is Transition, staged: the request's new status is in
// memory when it returns (with the updated request), and commit waits for
// its commit. On an error nothing changed.
func (s *Store) TransitionLater(ctx context.Context, id string, to wire.Status, output json.RawMessage, e *wire.Error) (*Request, Commit, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if r.Status.Final() {
		return r, nil, fmt.Errorf("%w: %s is %s", ErrFinished, id, r.Status)
	}
	if err := r.Move(to, output, e, s.now().UTC()); err != nil {
		return r, nil, err
	}
	var w write
	if err := s.plan(&w, r); err != nil {
		return nil, nil, err
	}
	return r, s.stage(&w, id), nil
}

// Begin sets a new request's first status, times and deliveries, as the
// store adds it (Replace): pending, or delivered once when its Status is
// StatusDelivered on entry; Expires, when zero, expiry after now.
func (r *Request) Begin(now time.Time, expiry time.Duration) {
	if r.Status == wire.StatusDelivered {
		r.Deliveries = 1
	} else {
		r.Status, r.Deliveries = wire.StatusPending, 0
	}
	r.Requested, r.Updated = now, now
	if r.Expires.IsZero() {
		r.Expires = now.Add(expiry)
	}
}

// Move applies a status transition to r, as the store makes it: the new
// status and time, with output (completed, or progress for running and
// waiting) or e (failed), one more delivery for delivered. It returns
// ErrTransition, and leaves r alone, where the lifecycle does not lead
// from r's status to to. Another backend of the inbox (a cluster's) moves
// its requests with it too.
func (r *Request) Move(to wire.Status, output json.RawMessage, e *wire.Error, now time.Time) error {
	if !Allowed(r.Status, to) {
		return fmt.Errorf("%w: %s from %s to %s", ErrTransition, r.ID, r.Status, to)
	}
	r.Status, r.Updated = to, now
	switch to {
	case wire.StatusDelivered:
		r.Deliveries++
	case wire.StatusRunning, wire.StatusWaiting, wire.StatusCompleted:
		if output != nil || to == wire.StatusCompleted {
			r.Output = output
		}
	case wire.StatusFailed:
		r.Error = e
	}
	return nil
}

// Allowed reports whether the lifecycle leads from status from to to.
func Allowed(from, to wire.Status) bool { return slices.Contains(allowed[from], to) }

// stage applies w's in-memory changes and queues its Badger operations
// with the group commit; the Commit it returns waits for them.
func (s *Store) stage(w *write, what string) Commit {
	s.apply(w.ch)
	if len(w.finished) > 0 {
		s.qmu.Lock()
		for _, r := range w.finished {
			s.committing[r.ID] = r
		}
		s.qmu.Unlock()
	}
	p := s.commit.Submit(w.run)
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			err = p.Wait()
			s.committed(w, err)
			if err != nil {
				err = fmt.Errorf("inbox: store %s: %w", what, err)
			}
		})
		return err
	}
}

// committed ends a staged write's commit: the requests it finished are
// found in Badger from now on, and when the commit failed, the requests
// and outcome lists it changed in memory are read back from Badger.
func (s *Store) committed(w *write, err error) {
	s.qmu.Lock()
	for _, r := range w.finished {
		if s.committing[r.ID] == r {
			delete(s.committing, r.ID)
		}
	}
	s.qmu.Unlock()
	if err == nil {
		return
	}
	s.hmu.Lock()
	for _, o := range w.ch.outcomes {
		delete(s.outcomes, o.key) // loaded again on first use
	}
	s.hmu.Unlock()
	for _, id := range w.ids {
		s.reload(id)
	}
}

// reload sets the in-memory index of request id to what Badger holds.
func (s *Store) reload(id string) {
	var r *Request
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		r, err = get(txn, id)
		return err
	})
	s.qmu.Lock()
	cur, ok := s.live[id]
	s.qmu.Unlock()
	switch {
	case err == nil && !r.Status.Final():
		s.apply(changes{set: []*Request{r}})
	case ok && (err == nil || errors.Is(err, ErrNotFound)):
		s.apply(changes{drop: []Entry{entryOf(cur)}})
	}
}

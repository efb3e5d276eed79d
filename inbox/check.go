package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/wire"
)

// ErrInconsistent is wrapped by every problem Check reports.
var ErrInconsistent = errors.New("inbox: inconsistent")

// Check reports every way the stored requests and their queue index
// disagree, joined (nil when they agree):
//
//   - a queue entry that does not decode, or whose request is missing,
//     finished, or differs from it (agent, Thing, name, op, status, safe,
//     expiry);
//   - an unfinished request without its queue entry: delivery, redelivery
//     and the expiry sweep read only the queue index, so nothing would
//     ever end it;
//   - a request stored under another ID than its own, or in a status the
//     lifecycle does not know, or delivered (running, waiting) but never
//     counted as delivered;
//   - an in-memory queue index that differs from the stored one.
//
// The latest-request and outcome-history entries are not checked: they
// may outlive their requests (whose retention is a Badger TTL) by design.
// Call Check when no write is in flight (a stopped hub's store, reopened),
// or the comparison with memory may report a write that is committing.
func (s *Store) Check(ctx context.Context) error {
	stored := map[string]Entry{}    // the queue index in Badger, by request ID
	unfinished := map[string]bool{} // request IDs
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInconsistent}, args...)...))
	}
	err := s.db.View(func(txn *badger.Txn) error {
		if err := s.checkQueue(ctx, txn, stored, bad); err != nil {
			return err
		}
		return s.checkRequests(ctx, txn, stored, unfinished, bad)
	})
	if err != nil {
		return err
	}
	s.qmu.Lock()
	for agent, q := range s.queues {
		for id, e := range q {
			if se, ok := stored[id]; !ok || !sameEntry(se, e) || !unfinished[id] {
				bad("in memory, request %s is in the queue of agent %q as %+v; stored: %+v", id, agent, e, se)
			}
			if _, ok := s.live[id]; !ok {
				bad("in memory, request %s of agent %q is queued but not held", id, agent)
			}
		}
	}
	for id, e := range stored {
		if _, ok := s.queues[e.AgentID][id]; !ok {
			bad("in memory, request %s is missing from the queue of agent %q", id, e.AgentID)
		}
	}
	if len(s.live) != len(stored) {
		bad("in memory, %d unfinished requests are held for %d queue entries", len(s.live), len(stored))
	}
	s.qmu.Unlock()
	return errors.Join(errs...)
}

// checkQueue reads the stored queue index into stored and checks each
// entry against its request.
func (s *Store) checkQueue(ctx context.Context, txn *badger.Txn, stored map[string]Entry, bad func(string, ...any)) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixQueue), PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := string(it.Item().Key()[len(prefixQueue):])
		agent, id, ok := strings.Cut(key, "\x00")
		if !ok {
			bad("queue key %q has no request ID", key)
			continue
		}
		var e Entry
		err := it.Item().Value(func(v []byte) error {
			e, ok = decodeEntry(agent, id, v)
			return nil
		})
		if err != nil {
			return err
		}
		if !ok {
			bad("queue entry %q does not decode", key)
			continue
		}
		stored[id] = e
		r, err := get(txn, id)
		switch {
		case errors.Is(err, ErrNotFound):
			bad("queue entry of agent %q names request %s, which is not stored", agent, id)
		case err != nil:
			bad("queue entry of agent %q: %v", agent, err)
		case r.Status.Final():
			bad("request %s is %s but still in the queue of agent %q", id, r.Status, agent)
		case !sameEntry(e, entryOf(r)):
			bad("queue entry of request %s says %+v, the request %+v", id, e, entryOf(r))
		}
	}
	return nil
}

// checkRequests checks every stored request and records the unfinished
// ones.
func (s *Store) checkRequests(ctx context.Context, txn *badger.Txn, stored map[string]Entry, unfinished map[string]bool, bad func(string, ...any)) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixRequest), PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		id := string(it.Item().Key()[len(prefixRequest):])
		r := new(Request)
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, r) }); err != nil {
			bad("request %s does not decode: %v", id, err)
			continue
		}
		switch {
		case r.ID != id:
			bad("request %s is stored under ID %s", r.ID, id)
		case r.Status.Final():
		case allowed[r.Status] == nil:
			bad("request %s has the unknown status %q", id, r.Status)
		default:
			unfinished[id] = true
			if r.Status != wire.StatusPending && r.Deliveries < 1 {
				bad("request %s is %s but was never delivered", id, r.Status)
			}
			if _, ok := stored[id]; !ok {
				bad("request %s of agent %q is %s but not in its queue: nothing would ever deliver or expire it", id, r.AgentID, r.Status)
			}
		}
	}
	return nil
}

// sameEntry compares two queue entries (the expiries as instants).
func sameEntry(a, b Entry) bool {
	ea, eb := a.Expires, b.Expires
	a.Expires, b.Expires = time.Time{}, time.Time{}
	return a == b && ea.Equal(eb)
}

package jetstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/inbox"
)

// A finished request is moved on (into DONE, its affordance's outcome
// list, out of REQ) after Transition returns, by one goroutine per inbox
// that takes every request finished meanwhile as one batch: its writes are
// issued together, one outcome-list update per affordance.
//
// The final status itself is in REQ on a quorum before Transition returns:
// that write decides (compare-and-set) and is what the hub acknowledges.
// The move is bookkeeping every step of which may be repeated: until it is
// done the request reads as finished from REQ on every node (Get looks
// there after DONE), and this node's Outcomes and DeleteThing wait for
// its moves of the affordance or Thing. A node that dies before the move
// leaves the final record in REQ, which the next node to open the inbox
// moves on (OpenInbox), as before.

// finishGrace is how long Close lets queued moves finish before it
// abandons them (they are left to the next OpenInbox).
const finishGrace = 5 * time.Second

// finisher queues finished requests for their move.
type finisher struct {
	mu    sync.Mutex
	cond  sync.Cond // broadcast when moves are done
	queue []*inbox.Request
	busy  map[string]int // affordance key -> moves queued or under way
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}

	ctx    context.Context // cancelled when Close stops waiting
	cancel context.CancelFunc
}

func (s *Inbox) startFinisher() {
	f := &s.fin
	f.cond.L = &f.mu
	f.busy = map[string]int{}
	f.wake = make(chan struct{}, 1)
	f.stop = make(chan struct{})
	f.done = make(chan struct{})
	f.ctx, f.cancel = context.WithCancel(context.Background())
	go s.runFinisher()
}

// finishLater queues a finished request's move.
func (s *Inbox) finishLater(r *inbox.Request) {
	f := &s.fin
	f.mu.Lock()
	f.queue = append(f.queue, r)
	f.busy[affordanceKey(r.ThingID, r.Op, r.Name)]++
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default: // a wake-up is waiting already
	}
}

func (s *Inbox) runFinisher() {
	f := &s.fin
	defer close(f.done)
	for {
		stopping := false
		select {
		case <-f.wake:
		case <-f.stop:
			stopping = true
		}
		f.mu.Lock()
		batch := f.queue
		f.queue = nil
		f.mu.Unlock()
		if len(batch) > 0 {
			if err := s.finishBatch(f.ctx, batch); err != nil {
				s.o.Log.Error().Err(err).Int("requests", len(batch)).
					Msg("inbox: finished requests not moved on; the next node to open the inbox does it")
			}
			f.mu.Lock()
			for _, r := range batch {
				k := affordanceKey(r.ThingID, r.Op, r.Name)
				if f.busy[k]--; f.busy[k] <= 0 {
					delete(f.busy, k)
				}
			}
			f.cond.Broadcast()
			f.mu.Unlock()
		}
		if stopping {
			return
		}
	}
}

// stopFinisher lets queued moves finish (for up to finishGrace) and
// stops the finisher.
func (s *Inbox) stopFinisher() {
	f := &s.fin
	close(f.stop)
	t := time.NewTimer(finishGrace)
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
		f.cancel()
		<-f.done
	}
	f.cancel()
}

// waitMoved waits until no move of an affordance key starting with prefix
// is queued or under way on this node.
func (s *Inbox) waitMoved(prefix string) {
	f := &s.fin
	f.mu.Lock()
	defer f.mu.Unlock()
	for s.movingLocked(prefix) {
		f.cond.Wait()
	}
}

func (s *Inbox) movingLocked(prefix string) bool {
	for k := range s.fin.busy {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// finishBatch moves finished requests on: into DONE and their
// affordances' outcome lists (the oldest beyond the recall deleted), then
// out of REQ. Each step's writes are issued together; every step may be
// repeated.
func (s *Inbox) finishBatch(ctx context.Context, rs []*inbox.Request) error {
	vals := make([][]byte, len(rs))
	puts := make([]issued, len(rs))
	for i, r := range rs {
		val, err := json.Marshal(r)
		if err != nil {
			return err
		}
		vals[i] = val
		puts[i] = putLater(s.o, s.done, r.ID, val)
	}
	for i, p := range puts {
		if err := p.wait(ctx); err != nil {
			if !transient(err) {
				return fmt.Errorf("inbox: finish %s: %w", rs[i].ID, err)
			}
			if err := retry(ctx, s.o, func() error { _, err := s.done.Put(ctx, rs[i].ID, vals[i]); return err }); err != nil {
				return fmt.Errorf("inbox: finish %s: %w", rs[i].ID, err)
			}
		}
	}
	byKey := map[string][]string{}
	var keys []string
	for _, r := range rs {
		k := affordanceKey(r.ThingID, r.Op, r.Name)
		if byKey[k] == nil {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r.ID)
	}
	dropped := make([][]string, len(keys))
	updates := make([]func() error, len(keys))
	for i, k := range keys {
		updates[i] = func() (err error) {
			dropped[i], err = s.addOutcomes(ctx, k, byKey[k])
			return err
		}
	}
	if err := parallel(updates...); err != nil {
		return err
	}
	// The dropped outcomes and the requests' REQ records go together.
	type removal struct {
		kv    jetstream.KeyValue
		key   string
		purge bool
		w     issued
	}
	var rms []removal
	for _, ids := range dropped {
		for _, id := range ids {
			rms = append(rms, removal{kv: s.done, key: id, purge: true})
		}
	}
	for _, r := range rs {
		rms = append(rms, removal{kv: s.req, key: r.ID})
	}
	for i := range rms {
		rms[i].w = removeLater(s.o, rms[i].kv, rms[i].key, rms[i].purge)
	}
	for _, rm := range rms {
		err := rm.w.wait(ctx)
		if err != nil && transient(err) {
			err = retry(ctx, s.o, func() error {
				if rm.purge {
					return rm.kv.Purge(ctx, rm.key)
				}
				return rm.kv.Delete(ctx, rm.key)
			})
		}
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("inbox: finish (%s): %w", rm.key, err)
		}
	}
	return nil
}

// outcomeList is an affordance's outcome list as this node last wrote
// it, with the revision: the next update of the key compares-and-sets on
// it without reading the list first (another node's update in between
// fails the write, and the list is read).
type outcomeList struct {
	ids []string
	rev uint64
}

// addOutcomes adds request IDs to an affordance's outcome list and
// returns the IDs dropped beyond the recall.
func (s *Inbox) addOutcomes(ctx context.Context, key string, add []string) ([]string, error) {
	s.outsMu.Lock()
	known, ok := s.outs[key]
	s.outsMu.Unlock()
	if ok {
		ids, dropped := s.mergeOutcomes(known.ids, add)
		if b, err := json.Marshal(ids); err == nil {
			if rev, err := s.outcomes.Update(ctx, key, b, known.rev); err == nil {
				s.rememberOutcomes(key, ids, rev)
				return dropped, nil
			}
		}
	}
	var dropped, kept []string
	rev, err := kvUpdate(ctx, s.o, s.outcomes, key, func(cur []byte) ([]byte, bool, bool, error) {
		var ids []string
		if cur != nil {
			if err := json.Unmarshal(cur, &ids); err != nil {
				return nil, false, false, err
			}
		}
		kept, dropped = s.mergeOutcomes(ids, add)
		b, err := json.Marshal(kept)
		return b, false, false, err
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: outcomes of %s: %w", add[0], err)
	}
	s.rememberOutcomes(key, kept, rev)
	return dropped, nil
}

// mergeOutcomes returns the outcome list ids with add in it, the oldest
// beyond the recall dropped (and returned).
func (s *Inbox) mergeOutcomes(ids, add []string) (kept, dropped []string) {
	kept = append(slices.Clone(ids), add...)
	slices.Sort(kept)
	kept = slices.Compact(kept)
	if len(kept) > s.recall {
		dropped = slices.Clone(kept[:len(kept)-s.recall])
		kept = kept[len(kept)-s.recall:]
	}
	return kept, dropped
}

// rememberOutcomes keeps what was written; the cache is bounded by
// forgetting all of it now and then (it only saves reads).
func (s *Inbox) rememberOutcomes(key string, ids []string, rev uint64) {
	s.outsMu.Lock()
	defer s.outsMu.Unlock()
	if s.outs == nil || len(s.outs) >= maxOutcomeLists {
		s.outs = map[string]outcomeList{}
	}
	s.outs[key] = outcomeList{ids: ids, rev: rev}
}

// maxOutcomeLists bounds the outcome lists remembered.
const maxOutcomeLists = 4096

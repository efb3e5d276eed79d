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
	var removals []func() error
	for _, ids := range dropped {
		for _, id := range ids {
			removals = append(removals, func() error {
				if err := retry(ctx, s.o, func() error { return s.done.Purge(ctx, id) }); err != nil {
					return fmt.Errorf("inbox: forget %s: %w", id, err)
				}
				return nil
			})
		}
	}
	for _, r := range rs {
		removals = append(removals, func() error {
			if err := retry(ctx, s.o, func() error { return s.req.Delete(ctx, r.ID) }); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return fmt.Errorf("inbox: finish %s: %w", r.ID, err)
			}
			return nil
		})
	}
	return parallel(removals...)
}

// addOutcomes adds request IDs to an affordance's outcome list and
// returns the IDs dropped beyond the recall.
func (s *Inbox) addOutcomes(ctx context.Context, key string, add []string) ([]string, error) {
	var dropped []string
	_, err := kvUpdate(ctx, s.o, s.outcomes, key, func(cur []byte) ([]byte, bool, bool, error) {
		var ids []string
		if cur != nil {
			if err := json.Unmarshal(cur, &ids); err != nil {
				return nil, false, false, err
			}
		}
		ids = append(ids, add...)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		dropped = nil
		if len(ids) > s.recall {
			dropped = slices.Clone(ids[:len(ids)-s.recall])
			ids = ids[len(ids)-s.recall:]
		}
		b, err := json.Marshal(ids)
		return b, false, false, err
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: outcomes of %s: %w", add[0], err)
	}
	return dropped, nil
}

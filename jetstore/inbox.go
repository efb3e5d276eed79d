package jetstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// Inbox is inbox.Store on JetStream key-value buckets:
//
//	REQ       unfinished requests by ID; every transition a compare-and-set
//	          on the key's revision, so two nodes cannot both move one
//	          request (the loser re-reads and re-checks the lifecycle)
//	DONE      finished requests by ID, for the store's retention (the
//	          bucket's TTL)
//	REQLATEST <thing>.<a|w>.<name> -> the newest request's ID
//	OUTCOMES  <thing>.<a|w>.<name> -> the IDs of its kept outcomes
//	DESIRED   <thing>.<name> -> the desired state of a property
//
// Every node watches REQ, so its in-memory queue index (Queue, Pending,
// Outstanding, ExpiredBefore, Len, Counts) holds every agent's unfinished
// requests wherever they were submitted: an agent that reconnects to any
// node gets its queue from there, delivered requests again (redelivered),
// exactly as after a restart of a single hub.
//
// A request finishes with its final status in REQ (the compare-and-set
// that decides, on a quorum before Transition returns); its move into DONE
// with the outcome history and out of REQ follows in the background
// (finisher.go). A node that dies before the move leaves a finished record
// in REQ, which the next node to open the inbox moves on; until then the
// request reads as finished already.
//
// Transition writes by compare-and-set on the revision the watcher (or
// this node's last write) applied, without reading the record first; only
// a conflict (another node moved it meanwhile) reads it from JetStream.
type Inbox struct {
	o         Options
	req       jetstream.KeyValue
	done      jetstream.KeyValue
	latest    jetstream.KeyValue
	outcomes  jetstream.KeyValue
	desired   jetstream.KeyValue
	expiry    time.Duration
	retention time.Duration
	recall    int
	w         jetstream.KeyWatcher
	stopped   chan struct{}
	fin       finisher
	outsMu    sync.Mutex
	outs      map[string]outcomeList // outcome lists this node wrote (finisher.go)

	idmu   sync.Mutex
	lastID int64

	notify atomic.Pointer[func(agentID string)]

	mu     sync.Mutex
	live   map[string]*inbox.Request // unfinished, by ID; never modified in place
	own    map[string]bool           // IDs this node stored, until they finish (OnPending skips them)
	rev    map[string]uint64         // REQ revision applied, by ID
	queues map[string]map[string]inbox.Entry
}

// OpenInbox opens the inbox, creating its buckets, and returns once its
// queue index holds every stored unfinished request.
func OpenInbox(ctx context.Context, o Options, io inbox.Options) (*Inbox, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	if io.Now != nil {
		o.Now = io.Now
	}
	s := &Inbox{o: o, expiry: io.DefaultExpiry, retention: io.Retention, recall: io.OutcomeRecall,
		live: map[string]*inbox.Request{}, own: map[string]bool{}, rev: map[string]uint64{}, queues: map[string]map[string]inbox.Entry{},
		stopped: make(chan struct{})}
	if s.expiry <= 0 {
		s.expiry = inbox.DefaultExpiry
	}
	if s.retention <= 0 {
		s.retention = inbox.DefaultRetention
	}
	if s.recall <= 0 {
		s.recall = inbox.DefaultOutcomeRecall
	}
	for name, kv := range map[string]*jetstream.KeyValue{"REQ": &s.req, "REQLATEST": &s.latest, "OUTCOMES": &s.outcomes, "DESIRED": &s.desired} {
		if *kv, err = bucket(ctx, o, name); err != nil {
			return nil, err
		}
	}
	s.done, err = openBucket(ctx, o, "DONE", jetstream.KeyValueConfig{Bucket: o.Prefix + "_DONE",
		Replicas: o.Replicas, Storage: jetstream.FileStorage, History: 1, TTL: s.retention})
	if err != nil {
		return nil, err
	}
	w, err := s.req.WatchAll(context.Background())
	if err != nil {
		return nil, fmt.Errorf("jetstore: watch requests: %w", err)
	}
	s.w = w
	var leftovers []*inbox.Request
	for e := range w.Updates() {
		if e == nil {
			break
		}
		if r := s.applyWatched(e); r != nil {
			leftovers = append(leftovers, r)
		}
	}
	// Finished, not yet moved on (see the type's comment); a reader
	// leaves them to the nodes.
	if len(leftovers) > 0 && !o.ReadOnly {
		if err := s.finishBatch(ctx, leftovers); err != nil {
			w.Stop()
			return nil, err
		}
	}
	if err := s.noteLatestIDs(ctx); err != nil {
		w.Stop()
		return nil, err
	}
	go s.watch()
	s.startFinisher()
	return s, nil
}

// noteLatestIDs raises lastID to the newest request of every affordance:
// finished requests are no longer in REQ, and a new ID must still sort
// after them (a clock set back, a node whose clock is behind).
func (s *Inbox) noteLatestIDs(ctx context.Context) error {
	w, err := s.latest.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("jetstore: read latest requests: %w", err)
	}
	defer w.Stop()
	for e := range w.Updates() {
		if e == nil {
			return nil
		}
		s.noteID(string(e.Value()))
	}
	return nil
}

func (s *Inbox) watch() {
	defer close(s.stopped)
	for e := range s.w.Updates() {
		if e != nil {
			s.applyWatched(e)
		}
	}
}

// Close lets the moves of finished requests end (finisher.go) and stops
// the watcher.
func (s *Inbox) Close() error {
	s.stopFinisher()
	err := s.w.Stop()
	<-s.stopped
	return err
}

// applyWatched applies a change of REQ seen by the watcher; it returns a
// finished request left in REQ.
func (s *Inbox) applyWatched(e jetstream.KeyValueEntry) *inbox.Request {
	id := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		s.apply(id, nil, e.Revision())
		return nil
	}
	r := new(inbox.Request)
	if err := json.Unmarshal(e.Value(), r); err != nil {
		s.o.Log.Error().Err(err).Str("request", id).Msg("inbox: a stored request does not decode; left out")
		return nil
	}
	s.noteID(r.ID)
	fresh := s.apply(id, r, e.Revision())
	if r.Status.Final() {
		return r
	}
	s.mu.Lock()
	mine := s.own[id]
	s.mu.Unlock()
	if f := s.notify.Load(); f != nil && fresh && !mine && r.Status == wire.StatusPending {
		(*f)(r.AgentID)
	}
	return nil
}

// OnPending sets f to be called with the agent's ID whenever another node
// stores a pending request of that agent (this node's own requests its
// core has handled already): the node that holds the agent's connection
// delivers it. f runs on the watcher's goroutine and must not block.
func (s *Inbox) OnPending(f func(agentID string)) { s.notify.Store(&f) }

// apply records request id at REQ revision rev: unfinished, it is in the
// queue index; finished or nil, it is not. It reports whether rev was new.
func (s *Inbox) apply(id string, r *inbox.Request, rev uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= s.rev[id] {
		return false
	}
	s.rev[id] = rev
	if old, ok := s.live[id]; ok {
		delete(s.live, id)
		if q := s.queues[old.AgentID]; q != nil {
			delete(q, id)
			if len(q) == 0 {
				delete(s.queues, old.AgentID)
			}
		}
	}
	if r == nil || r.Status.Final() {
		delete(s.own, id)
		return true
	}
	s.live[id] = r
	q := s.queues[r.AgentID]
	if q == nil {
		q = map[string]inbox.Entry{}
		s.queues[r.AgentID] = q
	}
	q[id] = entryOf(r)
	return true
}

func entryOf(r *inbox.Request) inbox.Entry {
	return inbox.Entry{ID: r.ID, AgentID: r.AgentID, ThingID: r.ThingID, Name: r.Name, Op: r.Op,
		Status: r.Status, Safe: r.Safe, Expires: r.Expires}
}

// noteID keeps lastID at or above every ID seen, so that new IDs sort
// after every request this node knows, whichever node stored it.
func (s *Inbox) noteID(id string) {
	n, err := strconv.ParseUint(id, 16, 63)
	if err != nil || len(id) != 16 {
		return
	}
	s.idmu.Lock()
	s.lastID = max(s.lastID, int64(n))
	s.idmu.Unlock()
}

func (s *Inbox) newID(now time.Time) string {
	n := now.UnixNano()
	s.idmu.Lock()
	if n <= s.lastID {
		n = s.lastID + 1
	}
	s.lastID = n
	s.idmu.Unlock()
	return fmt.Sprintf("%016x", n)
}

// DefaultExpiry is the store's expiry for requests that set none.
func (s *Inbox) DefaultExpiry() time.Duration { return s.expiry }

// Add stores a new request as pending (see inbox.Store.Add).
func (s *Inbox) Add(ctx context.Context, r *inbox.Request) error {
	_, err := s.Replace(ctx, r, nil, nil)
	return err
}

// Replace adds r and fails the unfinished requests named in old with e
// (see inbox.Store.Replace). The new request is stored first: should the
// node die before the old ones are failed, nothing is lost, and they end
// as any request does.
func (s *Inbox) Replace(ctx context.Context, r *inbox.Request, old []string, e *wire.Error) ([]*inbox.Request, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.o.Now().UTC()
	r.Begin(now, s.expiry)
	// The record and its affordance's latest-request pointer are written
	// together (one replication round trip, not two); should the ID turn
	// out taken by another node, the next attempt writes the pointer again.
	latestKey := affordanceKey(r.ThingID, r.Op, r.Name)
	var rev uint64
	for range casAttempts { // an ID another node took meanwhile is skipped
		r.ID = s.newID(now)
		val, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.own[r.ID] = true // before the write: the watcher may see it first
		s.mu.Unlock()
		failedOnce := false
		id := r.ID
		err = parallel(func() error {
			return retry(ctx, s.o, func() error {
				var err error
				rev, err = s.req.Create(ctx, id, val)
				if err != nil && isCASConflict(err) && failedOnce {
					// An attempt that timed out may have stored it: it is
					// ours when the stored record is what we wrote.
					if e, gerr := s.req.Get(ctx, id); gerr == nil && string(e.Value()) == string(val) {
						rev, err = e.Revision(), nil
					}
				}
				failedOnce = err != nil
				return err
			})
		}, func() error {
			err := retry(ctx, s.o, func() error {
				_, err := s.latest.Put(ctx, latestKey, []byte(id))
				return err
			})
			if err != nil {
				return fmt.Errorf("inbox: store %s: %w", id, err)
			}
			return nil
		})
		if err == nil {
			break
		}
		s.mu.Lock()
		delete(s.own, r.ID)
		s.mu.Unlock()
		if !isCASConflict(err) {
			return nil, fmt.Errorf("inbox: store %s: %w", r.ID, err)
		}
		rev = 0
	}
	if rev == 0 {
		return nil, fmt.Errorf("inbox: store: %w", ErrConflict)
	}
	c := *r
	s.apply(r.ID, &c, rev)
	var failed []*inbox.Request
	for _, id := range old {
		o, err := s.Transition(ctx, id, wire.StatusFailed, nil, e)
		if errors.Is(err, inbox.ErrNotFound) || errors.Is(err, inbox.ErrFinished) {
			continue
		}
		if err != nil {
			return failed, err
		}
		failed = append(failed, o)
	}
	return failed, nil
}

func affordanceKey(thingID, op, name string) string {
	o := "a"
	if op == wire.OpWriteProperty {
		o = "w"
	}
	return enc(thingID) + "." + o + "." + enc(name)
}

// Get returns the request with the given ID: unfinished ones from memory,
// finished ones from DONE.
func (s *Inbox) Get(ctx context.Context, id string) (*inbox.Request, error) {
	s.mu.Lock()
	live, ok := s.live[id]
	s.mu.Unlock()
	if ok {
		c := *live
		return &c, nil
	}
	// REQ: finished, not yet moved on; DONE again: moved on between the
	// two reads (the move writes DONE before it deletes from REQ).
	for _, kv := range []jetstream.KeyValue{s.done, s.req, s.done} {
		e, err := kv.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		r := new(inbox.Request)
		if err := json.Unmarshal(e.Value(), r); err != nil {
			return nil, fmt.Errorf("inbox: decode %s: %w", id, err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("%w: %s", inbox.ErrNotFound, id)
}

// Transition moves request id to status to (see inbox.Store.Transition).
// It reads the stored record and writes by compare-and-set, so a
// transition another node made meanwhile is seen and checked against.
func (s *Inbox) Transition(ctx context.Context, id string, to wire.Status, output json.RawMessage, e *wire.Error) (*inbox.Request, error) {
	var out *inbox.Request
	var rev uint64
	known := true
	err := casLoop(ctx, s.o, func() error {
		// First from the copy the watcher (or this node's own write)
		// applied, with its revision: no read before the write. A stale
		// copy fails the compare-and-set, and the next attempt reads; so
		// does a copy the transition is not allowed from (it may be stale).
		if known {
			known = false
			if r, curRev, ok := s.liveCopy(id); ok && inbox.Allowed(r.Status, to) {
				out = r
				return s.transitionFrom(ctx, id, r, curRev, to, output, e, &out, &rev)
			}
		}
		ke, err := s.req.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
			r, gerr := s.Get(ctx, id) // finished (in DONE) or unknown
			if gerr != nil {
				return gerr
			}
			out = r
			if !r.Status.Final() {
				return errStaleRead // unfinished here: the replica that answered is behind
			}
			return fmt.Errorf("%w: %s is %s", inbox.ErrFinished, id, r.Status)
		}
		if err != nil {
			return err
		}
		r := new(inbox.Request)
		if err := json.Unmarshal(ke.Value(), r); err != nil {
			return fmt.Errorf("inbox: decode %s: %w", id, err)
		}
		out = r
		if r.Status.Final() {
			return fmt.Errorf("%w: %s is %s", inbox.ErrFinished, id, r.Status)
		}
		return s.transitionFrom(ctx, id, r, ke.Revision(), to, output, e, &out, &rev)
	})
	if err != nil {
		if errors.Is(err, inbox.ErrFinished) || errors.Is(err, inbox.ErrTransition) {
			return out, err
		}
		if errors.Is(err, inbox.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("inbox: store %s: %w", id, err)
	}
	c := *out
	s.apply(id, &c, rev)
	if out.Status.Final() {
		f := *out
		s.finishLater(&f)
	}
	return out, nil
}

// liveCopy returns this node's copy of an unfinished request and the REQ
// revision it was read at.
func (s *Inbox) liveCopy(id string) (*inbox.Request, uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.live[id]
	if !ok {
		return nil, 0, false
	}
	c := *l
	return &c, s.rev[id], true
}

// transitionFrom writes request r, read at REQ revision curRev, moved to
// status to, by compare-and-set on that revision; on success *out is the
// new record and *rev its revision.
func (s *Inbox) transitionFrom(ctx context.Context, id string, r *inbox.Request, curRev uint64, to wire.Status,
	output json.RawMessage, e *wire.Error, out **inbox.Request, rev *uint64) error {
	n := *r
	if err := n.Move(to, output, e, s.o.Now().UTC()); err != nil {
		return err
	}
	val, err := json.Marshal(&n)
	if err != nil {
		return err
	}
	r2, err := s.req.Update(ctx, id, val, curRev)
	if err != nil {
		return err
	}
	*out, *rev = &n, r2
	return nil
}

// finish moves a finished request on at once (restore, open).
func (s *Inbox) finish(ctx context.Context, r *inbox.Request) error {
	return s.finishBatch(ctx, []*inbox.Request{r})
}

// ReplaceLater is Replace (see inbox.Store.ReplaceLater): a cluster's
// stores commit as they go, so it returns no Commit (nil: nothing left to
// wait for).
func (s *Inbox) ReplaceLater(ctx context.Context, r *inbox.Request, old []string, e *wire.Error) ([]*inbox.Request, inbox.Commit, error) {
	failed, err := s.Replace(ctx, r, old, e)
	return failed, nil, err
}

// TransitionLater is Transition (see inbox.Store.TransitionLater), with
// nothing left to wait for (no Commit).
func (s *Inbox) TransitionLater(ctx context.Context, id string, to wire.Status, output json.RawMessage, e *wire.Error) (*inbox.Request, inbox.Commit, error) {
	r, err := s.Transition(ctx, id, to, output, e)
	return r, nil, err
}

package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/groupcommit"
	"github.com/wotmq/wotmq/wire"
)

// Errors returned by the inbox.
var (
	ErrNotFound   = errors.New("inbox: request not found")
	ErrFinished   = errors.New("inbox: request already finished")
	ErrTransition = errors.New("inbox: status transition not allowed")
)

// Defaults for Options.
const (
	DefaultExpiry        = 24 * time.Hour
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultOutcomeRecall = 10
)

const (
	prefixRequest = "inbox/r/"
	prefixQueue   = "inbox/q/"
	prefixLatest  = "inbox/l/"
	prefixHistory = "inbox/h/"
	prefixDesired = "inbox/d/"
)

// Options configures a Store. The zero value works.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// DefaultExpiry bounds how long a request may wait when the consumer
	// set no expiry; DefaultExpiry when zero.
	DefaultExpiry time.Duration
	// Retention is how long finished requests stay queryable;
	// DefaultRetention when zero.
	Retention time.Duration
	// OutcomeRecall is how many finished requests are kept per affordance
	// for the outcome history; DefaultOutcomeRecall when zero.
	OutcomeRecall int
}

// Request is an action invocation or property write and its progress.
type Request struct {
	wire.ActionStatus
	// AgentID is the agent that owns the Thing.
	AgentID string `json:"agentID"`
	// ReplyTo and Correlation are the consumer's MQTT 5 ResponseTopic and
	// CorrelationData; ReplyTo is empty for fire-and-forget requests.
	ReplyTo     string `json:"replyTo,omitempty"`
	Correlation []byte `json:"correlation,omitempty"`
	// FinalOnly asks for the outcome only, no intermediate statuses.
	FinalOnly bool `json:"finalOnly,omitempty"`
	// Safe marks a safe action: never queued for an offline agent, never
	// delivered twice.
	Safe bool `json:"safe,omitempty"`
	// Deliveries counts how often the hub handed the request to the agent.
	Deliveries int `json:"deliveries,omitempty"`
}

// Store is the inbox over a Badger database shared with other packages.
type Store struct {
	db        *badger.DB
	commit    *groupcommit.Committer // request writes, batched
	now       func() time.Time
	expiry    time.Duration
	retention time.Duration
	recall    int

	mu     sync.Mutex
	lastID int64

	// qmu guards queues, the in-memory copy of the queue index: every
	// unfinished request by agent. Rules, delivery and expiry read it, so
	// the message path never scans Badger (where finished requests leave
	// tombstones until compaction).
	qmu    sync.Mutex
	queues map[string]map[string]Entry
	live   map[string]*Request // the unfinished requests, by ID; never modified in place
	// committing holds the requests a staged write finished, until its
	// commit is over (stage.go): Get finds them there meanwhile.
	committing map[string]*Request
	// hmu guards outcomes, the IDs of each affordance's outcome history,
	// newest last, loaded on first use.
	hmu      sync.Mutex
	outcomes map[string][]string
}

// New returns a Store on db, loading the queue index.
func New(db *badger.DB, opts Options) (*Store, error) {
	s := &Store{db: db, commit: groupcommit.New(db, 0), now: opts.Now, expiry: opts.DefaultExpiry, retention: opts.Retention, recall: opts.OutcomeRecall,
		queues: map[string]map[string]Entry{}, live: map[string]*Request{}, committing: map[string]*Request{}, outcomes: map[string][]string{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.expiry <= 0 {
		s.expiry = DefaultExpiry
	}
	if s.retention <= 0 {
		s.retention = DefaultRetention
	}
	if s.recall <= 0 {
		s.recall = DefaultOutcomeRecall
	}
	if err := s.loadQueues(); err != nil {
		return nil, err
	}
	if err := s.loadLastID(); err != nil {
		return nil, err
	}
	return s, nil
}

// loadLastID sets lastID to the newest request ID in the store (IDs are
// 16 hex digits, so the greatest key is the newest).
func (s *Store) loadLastID() error {
	return s.db.View(func(txn *badger.Txn) error {
		p := []byte(prefixRequest)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, Reverse: true})
		defer it.Close()
		it.Seek(append(append([]byte{}, p...), 0xff))
		if !it.Valid() {
			return nil
		}
		id := string(it.Item().Key()[len(p):])
		n, err := strconv.ParseUint(id, 16, 63)
		if err != nil || len(id) != 16 {
			return fmt.Errorf("inbox: bad request key %q", it.Item().Key())
		}
		s.lastID = int64(n)
		return nil
	})
}

// DefaultExpiry is the store's expiry for requests that set none.
func (s *Store) DefaultExpiry() time.Duration { return s.expiry }

// Add stores a new request as pending. It assigns ID, Requested, Updated
// and Status; Expires defaults to now + the store's default expiry. When Add
// returns nil the request is in Badger's write-ahead log.
func (s *Store) Add(ctx context.Context, r *Request) error {
	_, err := s.Replace(ctx, r, nil, nil)
	return err
}

// Replace adds r like Add and, in the same transaction, fails the
// unfinished requests named in old with error e (superseded, say). It
// returns the failed requests; IDs that are unknown or already finished
// are skipped.
//
// A request whose Status is StatusDelivered on entry is stored as
// delivered once (Deliveries 1) instead of pending: for a caller that
// hands it to its agent right after the commit, which saves the second
// commit of a Transition. Should the hub stop before the hand-over, the
// request is delivered again when the agent comes back, as any delivered
// request that was never answered.
func (s *Store) Replace(ctx context.Context, r *Request, old []string, e *wire.Error) ([]*Request, error) {
	failed, commit, err := s.ReplaceLater(ctx, r, old, e)
	if err != nil {
		return nil, err
	}
	if err := commit(); err != nil {
		return nil, err
	}
	return failed, nil
}

// newID returns an ID greater than every earlier one, stored ones
// included (loadLastID): a wall clock set back, across a restart too,
// never puts a new request before older ones in its agent's queue or its
// outcome history. Until the clock catches up, IDs run on from the newest.
func (s *Store) newID(now time.Time) string {
	n := now.UnixNano()
	s.mu.Lock()
	if n <= s.lastID {
		n = s.lastID + 1
	}
	s.lastID = n
	s.mu.Unlock()
	return fmt.Sprintf("%016x", n)
}

// plan adds to w what storing r writes and changes in memory: the request
// and its queue index entry while unfinished; once finished, the request
// with the retention's TTL, out of the queue index, into the outcome
// history of its affordance, whose oldest outcomes beyond the store's
// recall are deleted.
func (s *Store) plan(w *write, r *Request) error {
	val, _, err := encodeRequest(r)
	if err != nil {
		return fmt.Errorf("inbox: encode %s: %w", r.ID, err)
	}
	rk := []byte(prefixRequest + r.ID)
	w.ids = append(w.ids, r.ID)
	if !r.Status.Final() {
		w.set(rk, val, 0)
		w.set(queueKey(r.AgentID, r.ID), encodeEntry(entryOf(r)), 0)
		c := *r
		w.ch.set = append(w.ch.set, &c)
		return nil
	}
	w.set(rk, val, s.retention)
	w.del(queueKey(r.AgentID, r.ID))
	w.ch.drop = append(w.ch.drop, entryOf(r))
	c := *r
	w.finished = append(w.finished, &c)
	hp := historyPrefix(r.ThingID, r.Op, r.Name)
	// Keys get their own backing arrays: Badger keeps the slices of
	// pending writes, so appending to hp twice would rewrite an earlier key.
	w.set(join(hp, r.ID), nil, s.retention)
	ids, err := s.outcomeIDs(hp)
	if err != nil {
		return err
	}
	// An outcome list changed earlier in the same write is the base.
	for i := len(w.ch.outcomes) - 1; i >= 0; i-- {
		if w.ch.outcomes[i].key == string(hp) {
			ids = w.ch.outcomes[i].ids
			break
		}
	}
	ids = append(slices.Clone(ids), r.ID)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for len(ids) > s.recall {
		w.del(join(hp, ids[0]))
		w.del([]byte(prefixRequest + ids[0]))
		ids = ids[1:]
	}
	w.ch.outcomes = append(w.ch.outcomes, outcomeList{key: string(hp), ids: ids})
	return nil
}

// outcomeIDs returns the outcome history IDs of an affordance, oldest
// first, loading them from Badger the first time.
func (s *Store) outcomeIDs(hp []byte) ([]string, error) {
	s.hmu.Lock()
	ids, ok := s.outcomes[string(hp)]
	s.hmu.Unlock()
	if ok {
		return ids, nil
	}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: hp})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ids = append(ids, string(it.Item().Key()[len(hp):]))
		}
		return nil
	})
	return ids, err
}

// Get returns the request with the given ID. Unfinished requests come
// from memory, as do finished ones whose commit is under way (a staged
// write, stage.go).
func (s *Store) Get(ctx context.Context, id string) (*Request, error) {
	s.qmu.Lock()
	live, ok := s.live[id]
	if !ok {
		live, ok = s.committing[id]
	}
	s.qmu.Unlock()
	if ok {
		c := *live
		return &c, nil
	}
	var r *Request
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		r, err = get(txn, id)
		return err
	})
	return r, err
}

func get(txn *badger.Txn, id string) (*Request, error) {
	item, err := txn.Get([]byte(prefixRequest + id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	r := new(Request)
	err = item.Value(func(v []byte) error { return json.Unmarshal(v, r) })
	if err != nil {
		return nil, fmt.Errorf("inbox: decode %s: %w", id, err)
	}
	return r, nil
}

// allowed lists the legal status transitions. Delivered may repeat (a
// redelivery to a reconnected agent), running and waiting may repeat and
// alternate.
var allowed = map[wire.Status][]wire.Status{
	wire.StatusPending:   {wire.StatusDelivered, wire.StatusFailed},
	wire.StatusDelivered: {wire.StatusDelivered, wire.StatusRunning, wire.StatusWaiting, wire.StatusCompleted, wire.StatusFailed},
	wire.StatusRunning:   {wire.StatusRunning, wire.StatusWaiting, wire.StatusCompleted, wire.StatusFailed},
	wire.StatusWaiting:   {wire.StatusWaiting, wire.StatusRunning, wire.StatusCompleted, wire.StatusFailed},
}

// Transition moves request id to status to, with output (completed, or
// progress for running and waiting) or e (failed), and returns the updated
// request. On ErrFinished and ErrTransition the request is returned too.
// Updates of one request are serialised by the caller.
func (s *Store) Transition(ctx context.Context, id string, to wire.Status, output json.RawMessage, e *wire.Error) (*Request, error) {
	r, commit, err := s.TransitionLater(ctx, id, to, output, e)
	if err != nil {
		return r, err
	}
	if err := commit(); err != nil {
		return nil, err
	}
	return r, nil
}

// Latest returns the newest request for an action (op OpInvokeAction) or
// property write (OpWriteProperty) of a Thing.
func (s *Store) Latest(ctx context.Context, thingID, op, name string) (*Request, error) {
	var r *Request
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(latestKey(thingID, op, name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: no request for %s %s", ErrNotFound, thingID, name)
		}
		if err != nil {
			return err
		}
		id, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		r, err = get(txn, string(id))
		return err
	})
	return r, err
}

// LatestAll returns the newest request of every affordance of a Thing that
// has one still stored.
func (s *Store) LatestAll(ctx context.Context, thingID string) ([]*Request, error) {
	var out []*Request
	prefix := append([]byte(prefixLatest+thingID), 0)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			r, err := get(txn, string(id))
			if errors.Is(err, ErrNotFound) {
				continue // retention ended
			}
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Outcomes returns the finished requests of an affordance that are still
// kept (at most the store's recall), newest first.
func (s *Store) Outcomes(ctx context.Context, thingID, op, name string) ([]*Request, error) {
	ids, err := s.outcomeIDs(historyPrefix(thingID, op, name))
	if err != nil {
		return nil, err
	}
	var out []*Request
	err = s.db.View(func(txn *badger.Txn) error {
		for i := len(ids) - 1; i >= 0; i-- {
			r, err := get(txn, ids[i])
			if errors.Is(err, ErrNotFound) {
				continue // retention ended
			}
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// DeleteThing removes everything the inbox keeps about a Thing except its
// unfinished requests, which the caller fails first.
func (s *Store) DeleteThing(ctx context.Context, thingID string) error {
	for _, p := range [][]byte{
		append([]byte(prefixLatest+thingID), 0),
		append([]byte(prefixHistory+thingID), 0),
		append([]byte(prefixDesired+thingID), 0),
	} {
		if err := groupcommit.DeletePrefix(s.db, p); err != nil {
			return fmt.Errorf("inbox: delete %s: %w", thingID, err)
		}
	}
	s.hmu.Lock()
	for k := range s.outcomes {
		if strings.HasPrefix(k, prefixHistory+thingID+"\x00") {
			delete(s.outcomes, k)
		}
	}
	s.hmu.Unlock()
	return nil
}

func opByte(op string) byte {
	if op == wire.OpWriteProperty {
		return 'w'
	}
	return 'a'
}

func latestKey(thingID, op, name string) []byte {
	return append(append(append([]byte(prefixLatest+thingID), 0), opByte(op)), name...)
}

func historyPrefix(thingID, op, name string) []byte {
	b := append(append([]byte(prefixHistory+thingID), 0, opByte(op)), name...)
	return append(b, 0)
}

// join returns a new slice holding prefix and then id.
func join(prefix []byte, id string) []byte {
	return append(append(make([]byte, 0, len(prefix)+len(id)), prefix...), id...)
}

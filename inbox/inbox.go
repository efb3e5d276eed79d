package inbox

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/wot"
)

// Errors returned by the inbox.
var (
	ErrNotFound   = errors.New("inbox: request not found")
	ErrFinished   = errors.New("inbox: request already finished")
	ErrTransition = errors.New("inbox: status transition not allowed")
)

// Defaults for Options.
const (
	DefaultExpiry    = 24 * time.Hour
	DefaultRetention = 7 * 24 * time.Hour
)

const (
	prefixRequest = "inbox/r/"
	prefixQueue   = "inbox/q/"
	prefixExpiry  = "inbox/x/"
	prefixPending = "inbox/p/"
	prefixLatest  = "inbox/l/"
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
}

// Request is an action invocation or property write and its progress.
type Request struct {
	wot.ActionStatus
	// AgentID is the agent that owns the Thing.
	AgentID string `json:"agentID"`
	// ReplyTo and Correlation are the consumer's MQTT 5 ResponseTopic and
	// CorrelationData; ReplyTo is empty for fire-and-forget requests.
	ReplyTo     string `json:"replyTo,omitempty"`
	Correlation []byte `json:"correlation,omitempty"`
	// FinalOnly asks for the outcome only, no intermediate statuses.
	FinalOnly bool `json:"finalOnly,omitempty"`
	// Deliveries counts how often the hub handed the request to the agent.
	Deliveries int `json:"deliveries,omitempty"`
}

// Store is the inbox over a Badger database shared with other packages.
type Store struct {
	db        *badger.DB
	now       func() time.Time
	expiry    time.Duration
	retention time.Duration

	mu     sync.Mutex
	lastID int64
}

// New returns a Store on db.
func New(db *badger.DB, opts Options) *Store {
	s := &Store{db: db, now: opts.Now, expiry: opts.DefaultExpiry, retention: opts.Retention}
	if s.now == nil {
		s.now = time.Now
	}
	if s.expiry <= 0 {
		s.expiry = DefaultExpiry
	}
	if s.retention <= 0 {
		s.retention = DefaultRetention
	}
	return s
}

// DefaultExpiry is the store's expiry for requests that set none.
func (s *Store) DefaultExpiry() time.Duration { return s.expiry }

// Add stores a new request as pending. It assigns ID, Requested, Updated
// and Status; Expires defaults to now + the store's default expiry. When Add
// returns nil the request is in Badger's write-ahead log.
func (s *Store) Add(ctx context.Context, r *Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now().UTC()
	r.ID = s.newID(now)
	r.Status = wot.StatusPending
	r.Requested, r.Updated = now, now
	if r.Expires.IsZero() {
		r.Expires = now.Add(s.expiry)
	}
	return s.write(r, true, false)
}

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

// write stores r and maintains the indexes. wasPending says r left the
// pending state with this write.
func (s *Store) write(r *Request, isNew, wasPending bool) error {
	val, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("inbox: encode %s: %w", r.ID, err)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		rk := []byte(prefixRequest + r.ID)
		if wasPending {
			if err := txn.Delete(pendingKey(r.AgentID, r.ID)); err != nil {
				return err
			}
		}
		if r.Status.Final() {
			if err := txn.SetEntry(badger.NewEntry(rk, val).WithTTL(s.retention)); err != nil {
				return err
			}
			if err := txn.Delete(queueKey(r.AgentID, r.ID)); err != nil {
				return err
			}
			if err := txn.Delete(expiryKey(r.Expires, r.ID)); err != nil {
				return err
			}
		} else {
			if err := txn.Set(rk, val); err != nil {
				return err
			}
			if isNew {
				if err := txn.Set(queueKey(r.AgentID, r.ID), nil); err != nil {
					return err
				}
				if err := txn.Set(pendingKey(r.AgentID, r.ID), nil); err != nil {
					return err
				}
				if err := txn.Set(expiryKey(r.Expires, r.ID), nil); err != nil {
					return err
				}
			}
		}
		if isNew {
			return txn.Set(latestKey(r.ThingID, r.Name), []byte(r.ID))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("inbox: store %s: %w", r.ID, err)
	}
	return nil
}

// Get returns the request with the given ID.
func (s *Store) Get(ctx context.Context, id string) (*Request, error) {
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
// redelivery to a reconnected agent).
var allowed = map[wot.Status][]wot.Status{
	wot.StatusPending:   {wot.StatusDelivered, wot.StatusFailed},
	wot.StatusDelivered: {wot.StatusDelivered, wot.StatusRunning, wot.StatusCompleted, wot.StatusFailed},
	wot.StatusRunning:   {wot.StatusRunning, wot.StatusCompleted, wot.StatusFailed},
}

// Transition moves request id to status to, with output (completed, or
// progress for running) or e (failed), and returns the updated request.
// Updates of one request are serialised by the caller.
func (s *Store) Transition(ctx context.Context, id string, to wot.Status, output json.RawMessage, e *wot.Error) (*Request, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Status.Final() {
		return r, fmt.Errorf("%w: %s is %s", ErrFinished, id, r.Status)
	}
	ok := false
	for _, st := range allowed[r.Status] {
		ok = ok || st == to
	}
	if !ok {
		return r, fmt.Errorf("%w: %s from %s to %s", ErrTransition, id, r.Status, to)
	}
	wasPending := r.Status == wot.StatusPending
	r.Status = to
	r.Updated = s.now().UTC()
	switch to {
	case wot.StatusDelivered:
		r.Deliveries++
	case wot.StatusRunning, wot.StatusCompleted:
		r.Output = output
	case wot.StatusFailed:
		r.Error = e
	}
	if err := s.write(r, false, wasPending); err != nil {
		return nil, err
	}
	return r, nil
}

// Unfinished returns an agent's unfinished requests (pending, delivered or
// running) in arrival order.
func (s *Store) Unfinished(ctx context.Context, agentID string) ([]*Request, error) {
	return s.scan(ctx, queuePrefix(agentID))
}

// Pending returns an agent's pending requests in arrival order. It is cheap
// when there are none.
func (s *Store) Pending(ctx context.Context, agentID string) ([]*Request, error) {
	return s.scan(ctx, pendingPrefix(agentID))
}

func (s *Store) scan(ctx context.Context, prefix []byte) ([]*Request, error) {
	var out []*Request
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			id := string(it.Item().Key()[len(prefix):])
			r, err := get(txn, id)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ExpiredBefore returns the IDs of unfinished requests whose expiry is at or
// before t, oldest first, at most limit of them.
func (s *Store) ExpiredBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	var ids []string
	end := expiryKey(t, "\xff")
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixExpiry)})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(ids) < limit; it.Next() {
			k := it.Item().Key()
			if string(k) > string(end) {
				break
			}
			ids = append(ids, string(k[len(prefixExpiry)+8:]))
		}
		return nil
	})
	return ids, err
}

// Latest returns the newest request for an affordance of a Thing.
func (s *Store) Latest(ctx context.Context, thingID, name string) (*Request, error) {
	var r *Request
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(latestKey(thingID, name))
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

func queuePrefix(agentID string) []byte { return append([]byte(prefixQueue+agentID), 0) }

func queueKey(agentID, id string) []byte { return append(queuePrefix(agentID), id...) }

func pendingPrefix(agentID string) []byte { return append([]byte(prefixPending+agentID), 0) }

func pendingKey(agentID, id string) []byte { return append(pendingPrefix(agentID), id...) }

func expiryKey(t time.Time, id string) []byte {
	b := binary.BigEndian.AppendUint64([]byte(prefixExpiry), uint64(max(t.UnixNano(), 0)))
	return append(b, id...)
}

func latestKey(thingID, name string) []byte {
	return append(append([]byte(prefixLatest+thingID), 0), name...)
}

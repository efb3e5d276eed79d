// Package presence keeps whether Things and their agents are reachable:
// each Thing's presence state with the time it began and a sequence
// number, and each agent's last connection (time, remote address).
//
// # Ordering
//
// Every change of a Thing's state gets a sequence number one above the
// last, and Set refuses to go back: the stored record is always the newest
// transition, whatever order callers race in, as long as each caller
// decides under its own ordering (the hub serialises per agent).
//
// # Storage
//
// The package owns the Badger keys that start with "presence/" (see
// docs/storage.md):
//
//	presence/t/{thingID}   JSON Thing record
//	presence/a/{agentID}   JSON agent record
package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/wire"
)

const (
	prefixThing = "presence/t/"
	prefixAgent = "presence/a/"
)

// Thing is the presence of one Thing.
type Thing struct {
	State wire.Presence `json:"state"`
	Since time.Time     `json:"since"`
	Seq   uint64        `json:"seq"`
	// ByAgent is set when the agent reported the state (a gateway speaking
	// for a device), unset when the hub derived it from the connection.
	ByAgent bool `json:"byAgent,omitempty"`
}

// Agent is what the hub knows of an agent's connection.
type Agent struct {
	ID       string    `json:"id"`
	Online   bool      `json:"online"`
	LastSeen time.Time `json:"lastSeen"`
	Remote   string    `json:"remote,omitempty"`
}

// Store keeps presence records in a Badger database shared with other
// packages. It is safe for concurrent use.
type Store struct {
	db  *badger.DB
	now func() time.Time
	mu  sync.Mutex // makes read-compare-write of one record atomic
}

// New returns a Store on db; now defaults to time.Now.
func New(db *badger.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// Set records a Thing's state and reports whether it changed. A state
// equal to the current one changes nothing.
func (s *Store) Set(ctx context.Context, thingID string, state wire.Presence, byAgent bool) (Thing, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur Thing
	changed := false
	err := s.db.Update(func(txn *badger.Txn) error {
		k := []byte(prefixThing + thingID)
		if err := getJSON(txn, k, &cur); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if cur.State == state && cur.Seq > 0 {
			cur.ByAgent = cur.ByAgent || byAgent
			return nil
		}
		cur = Thing{State: state, Since: s.now().UTC(), Seq: cur.Seq + 1, ByAgent: byAgent}
		changed = true
		return putJSON(txn, k, cur)
	})
	if err != nil {
		return cur, false, fmt.Errorf("presence: set %s: %w", thingID, err)
	}
	return cur, changed, nil
}

// Get returns a Thing's presence; the zero Thing when none is known.
func (s *Store) Get(ctx context.Context, thingID string) (Thing, error) {
	var t Thing
	err := s.db.View(func(txn *badger.Txn) error { return getJSON(txn, []byte(prefixThing+thingID), &t) })
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Thing{}, nil
	}
	return t, err
}

// Delete forgets a Thing's presence.
func (s *Store) Delete(ctx context.Context, thingID string) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(prefixThing + thingID)) })
}

// SetAgent records an agent's connection state.
func (s *Store) SetAgent(ctx context.Context, a Agent) error {
	return s.db.Update(func(txn *badger.Txn) error { return putJSON(txn, []byte(prefixAgent+a.ID), a) })
}

// GetAgent returns what is known of an agent.
func (s *Store) GetAgent(ctx context.Context, id string) (Agent, bool, error) {
	var a Agent
	err := s.db.View(func(txn *badger.Txn) error { return getJSON(txn, []byte(prefixAgent+id), &a) })
	if errors.Is(err, badger.ErrKeyNotFound) {
		return a, false, nil
	}
	return a, err == nil, err
}

// Agents returns every agent the hub has seen.
func (s *Store) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixAgent), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var a Agent
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

func getJSON(txn *badger.Txn, k []byte, v any) error {
	item, err := txn.Get(k)
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

func putJSON(txn *badger.Txn, k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(k, b)
}

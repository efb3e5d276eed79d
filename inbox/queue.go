package inbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/wire"
)

// Entry summarises an unfinished request. The queue index holds one per
// unfinished request, in Badger and in memory, so rules that look at an
// agent's whole queue never decode requests.
type Entry struct {
	ID      string
	AgentID string
	ThingID string
	Name    string
	Op      string
	Status  wire.Status
	Safe    bool
	Expires time.Time
}

func entryOf(r *Request) Entry {
	return Entry{ID: r.ID, AgentID: r.AgentID, ThingID: r.ThingID, Name: r.Name, Op: r.Op,
		Status: r.Status, Safe: r.Safe, Expires: r.Expires}
}

// encodeEntry is the queue index value: op byte, safe byte, 8 bytes of
// expiry (Unix nanoseconds, big-endian), status, NUL, thing ID, NUL, name.
func encodeEntry(e Entry) []byte {
	safe := byte('0')
	if e.Safe {
		safe = '1'
	}
	b := []byte{opByte(e.Op), safe}
	b = binary.BigEndian.AppendUint64(b, uint64(max(e.Expires.UnixNano(), 0)))
	b = append(append(b, e.Status...), 0)
	b = append(append(b, e.ThingID...), 0)
	return append(b, e.Name...)
}

func decodeEntry(agentID, id string, v []byte) (Entry, bool) {
	if len(v) < 10 {
		return Entry{}, false
	}
	e := Entry{ID: id, AgentID: agentID, Op: wire.OpInvokeAction, Safe: v[1] == '1',
		Expires: time.Unix(0, int64(binary.BigEndian.Uint64(v[2:10]))).UTC()}
	if v[0] == 'w' {
		e.Op = wire.OpWriteProperty
	}
	parts := strings.SplitN(string(v[10:]), "\x00", 3)
	if len(parts) != 3 {
		return Entry{}, false
	}
	e.Status, e.ThingID, e.Name = wire.Status(parts[0]), parts[1], parts[2]
	return e, true
}

// changes are what a committed transaction did to the in-memory indexes.
type changes struct {
	set      []*Request // unfinished, as stored
	drop     []Entry
	outcomes []outcomeList
}

type outcomeList struct {
	key string
	ids []string
}

// apply updates the in-memory indexes after a commit.
func (s *Store) apply(ch changes) {
	s.qmu.Lock()
	for _, r := range ch.set {
		q := s.queues[r.AgentID]
		if q == nil {
			q = map[string]Entry{}
			s.queues[r.AgentID] = q
		}
		q[r.ID] = entryOf(r)
		s.live[r.ID] = r
	}
	for _, e := range ch.drop {
		delete(s.live, e.ID)
		if q := s.queues[e.AgentID]; q != nil {
			delete(q, e.ID)
			if len(q) == 0 {
				delete(s.queues, e.AgentID)
			}
		}
	}
	s.qmu.Unlock()
	if len(ch.outcomes) > 0 {
		s.hmu.Lock()
		for _, o := range ch.outcomes {
			s.outcomes[o.key] = o.ids
		}
		s.hmu.Unlock()
	}
}

// loadQueues reads the queue index and the unfinished requests into
// memory (at start).
func (s *Store) loadQueues() error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixQueue), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			key := string(it.Item().Key()[len(prefixQueue):])
			agent, id, ok := strings.Cut(key, "\x00")
			if !ok {
				return fmt.Errorf("inbox: bad queue key %q", key)
			}
			err := it.Item().Value(func(v []byte) error {
				if _, ok := decodeEntry(agent, id, v); !ok {
					return fmt.Errorf("inbox: bad queue entry %q", key)
				}
				return nil
			})
			if err != nil {
				return err
			}
			r, err := get(txn, id)
			if err != nil {
				return err
			}
			s.apply(changes{set: []*Request{r}})
		}
		return nil
	})
}

// Queue summarises an agent's unfinished requests in arrival order.
func (s *Store) Queue(ctx context.Context, agentID string) ([]Entry, error) {
	s.qmu.Lock()
	out := make([]Entry, 0, len(s.queues[agentID]))
	for _, e := range s.queues[agentID] {
		out = append(out, e)
	}
	s.qmu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Unfinished returns an agent's unfinished requests (pending, delivered,
// running or waiting) in arrival order.
func (s *Store) Unfinished(ctx context.Context, agentID string) ([]*Request, error) {
	return s.requests(ctx, agentID, func(Entry) bool { return true })
}

// Outstanding reports how many of an agent's requests are delivered and
// not yet answered (not even with running or waiting), and whether any
// wait to be delivered.
func (s *Store) Outstanding(agentID string) (delivered int, pending bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for _, e := range s.queues[agentID] {
		switch e.Status {
		case wire.StatusDelivered:
			delivered++
		case wire.StatusPending:
			pending = true
		}
	}
	return delivered, pending
}

// Pending returns an agent's pending requests in arrival order. It is cheap
// when there are none.
func (s *Store) Pending(ctx context.Context, agentID string) ([]*Request, error) {
	return s.requests(ctx, agentID, func(e Entry) bool { return e.Status == wire.StatusPending })
}

func (s *Store) requests(ctx context.Context, agentID string, keep func(Entry) bool) ([]*Request, error) {
	q, _ := s.Queue(ctx, agentID)
	var out []*Request
	for _, e := range q {
		if !keep(e) {
			continue
		}
		r, err := s.Get(ctx, e.ID)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Len is the number of unfinished requests of all agents.
func (s *Store) Len() int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	n := 0
	for _, q := range s.queues {
		n += len(q)
	}
	return n
}

// ExpiredBefore returns the IDs of unfinished requests whose expiry is at or
// before t, oldest expiry first, at most limit of them.
func (s *Store) ExpiredBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	var due []Entry
	s.qmu.Lock()
	for _, q := range s.queues {
		for _, e := range q {
			if !e.Expires.After(t) {
				due = append(due, e)
			}
		}
	}
	s.qmu.Unlock()
	sort.Slice(due, func(i, j int) bool {
		if !due[i].Expires.Equal(due[j].Expires) {
			return due[i].Expires.Before(due[j].Expires)
		}
		return due[i].ID < due[j].ID
	})
	ids := make([]string, 0, min(len(due), limit))
	for _, e := range due[:min(len(due), limit)] {
		ids = append(ids, e.ID)
	}
	return ids, nil
}

func queuePrefix(agentID string) []byte { return append([]byte(prefixQueue+agentID), 0) }

func queueKey(agentID, id string) []byte { return append(queuePrefix(agentID), id...) }

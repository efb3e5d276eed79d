package inbox

import (
	"context"
	"encoding/binary"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/wot"
)

// Entry summarises an unfinished request. It is kept in the queue index,
// so rules that look at an agent's whole queue never decode requests.
type Entry struct {
	ID      string
	ThingID string
	Name    string
	Op      string
	Status  wot.Status
	Safe    bool
}

// encodeEntry is the queue index value: op byte, safe byte, status, NUL,
// thing ID, NUL, name.
func encodeEntry(r *Request) []byte {
	safe := byte('0')
	if r.Safe {
		safe = '1'
	}
	b := []byte{opByte(r.Op), safe}
	b = append(append(b, r.Status...), 0)
	b = append(append(b, r.ThingID...), 0)
	return append(b, r.Name...)
}

func decodeEntry(id string, v []byte) (Entry, bool) {
	if len(v) < 2 {
		return Entry{}, false
	}
	e := Entry{ID: id, Op: wot.OpInvokeAction, Safe: v[1] == '1'}
	if v[0] == 'w' {
		e.Op = wot.OpWriteProperty
	}
	parts := strings.SplitN(string(v[2:]), "\x00", 3)
	if len(parts) != 3 {
		return Entry{}, false
	}
	e.Status, e.ThingID, e.Name = wot.Status(parts[0]), parts[1], parts[2]
	return e, true
}

// Queue summarises an agent's unfinished requests in arrival order.
func (s *Store) Queue(ctx context.Context, agentID string) ([]Entry, error) {
	var out []Entry
	prefix := queuePrefix(agentID)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id := string(it.Item().Key()[len(prefix):])
			err := it.Item().Value(func(v []byte) error {
				if e, ok := decodeEntry(id, v); ok {
					out = append(out, e)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Unfinished returns an agent's unfinished requests (pending, delivered,
// running or waiting) in arrival order.
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

func queuePrefix(agentID string) []byte { return append([]byte(prefixQueue+agentID), 0) }

func queueKey(agentID, id string) []byte { return append(queuePrefix(agentID), id...) }

func pendingPrefix(agentID string) []byte { return append([]byte(prefixPending+agentID), 0) }

func pendingKey(agentID, id string) []byte { return append(pendingPrefix(agentID), id...) }

func expiryKey(t time.Time, id string) []byte {
	b := binary.BigEndian.AppendUint64([]byte(prefixExpiry), uint64(max(t.UnixNano(), 0)))
	return append(b, id...)
}

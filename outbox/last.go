package outbox

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// loadLast raises s.last to the newest stamp in the store, once per Store
// (on the first Append, so that New needs no error). It reads the newest
// history key of each Thing, one seek per Thing, and every latest value
// (one per affordance; their stamps need not be in the history).
func (s *Store) loadLast() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded {
		return nil
	}
	last := int64(0)
	err := s.db.View(func(txn *badger.Txn) error {
		hp := []byte(prefixHistory)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: hp, Reverse: true})
		defer it.Close()
		// In reverse, Seek finds the greatest key at or before its argument:
		// the newest key of the last Thing, then, seeking to each Thing's
		// prefix, the newest key of the Thing before it.
		for it.Seek(append(bytes.Clone(hp), 0xff)); it.Valid(); {
			k := it.Item().Key()
			if len(k) < len(hp)+9 || k[len(k)-9] != 0 {
				return fmt.Errorf("outbox: bad history key %q", k)
			}
			last = max(last, int64(binary.BigEndian.Uint64(k[len(k)-8:])))
			it.Seek(bytes.Clone(k[:len(k)-8]))
		}
		lp := []byte(prefixLatest)
		lit := txn.NewIterator(badger.IteratorOptions{Prefix: lp, PrefetchValues: true})
		defer lit.Close()
		for lit.Rewind(); lit.Valid(); lit.Next() {
			err := lit.Item().Value(func(v []byte) error {
				rec, err := decodeRecord("", v)
				if err != nil {
					return err
				}
				last = max(last, rec.Time.UnixNano())
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: newest stamp: %w", err)
	}
	s.last = max(s.last, last)
	s.loaded = true
	return nil
}

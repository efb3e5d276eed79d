package outbox

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// trimmer caps the history of each Thing at Options.MaxHistory records.
// It counts the records each Thing gained since it last counted them in
// Badger; when a Thing passes the cap by a tenth, the oldest records are
// deleted down to the cap. Counts are upper bounds (records that expired
// are not seen), so a trim counts again before it deletes anything.
type trimmer struct {
	max     int // 0: no cap
	mu      sync.Mutex
	count   map[string]int // by Thing
	trimMu  sync.Mutex     // one trim at a time
	trimmed atomic.Uint64
	onTrim  func(thingID string, cursors []string)
}

// slack is how far past the cap a Thing's history may grow before it is
// trimmed: a tenth of the cap, so that trims are rare.
func (t *trimmer) slack() int { return max(t.max/10, 1) }

// Trimmed is the number of history records deleted by the cap since the
// store was opened.
func (s *Store) Trimmed() uint64 { return s.trim.trimmed.Load() }

// noteHistory is called after a history record of thingID was committed.
func (s *Store) noteHistory(thingID string) error {
	t := &s.trim
	if t.max <= 0 {
		return nil
	}
	t.mu.Lock()
	n, known := t.count[thingID]
	if known {
		n++
		t.count[thingID] = n
	}
	t.mu.Unlock()
	if known && n <= t.max+t.slack() {
		return nil
	}
	return s.trimThing(thingID)
}

// trimThing counts the history of a Thing and deletes its oldest records
// beyond the cap.
func (s *Store) trimThing(thingID string) error {
	t := &s.trim
	t.trimMu.Lock()
	defer t.trimMu.Unlock()
	prefix := historyThingPrefix(thingID)
	n := 0
	var old [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		excess := n - t.max
		if excess <= 0 {
			return nil
		}
		old = make([][]byte, 0, excess)
		for it.Rewind(); it.Valid() && len(old) < excess; it.Next() {
			old = append(old, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(old) > 0 {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for _, k := range old {
			if err := wb.Delete(k); err != nil {
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
		t.trimmed.Add(uint64(len(old)))
		if t.onTrim != nil {
			cursors := make([]string, len(old))
			for i, k := range old {
				cursors[i] = encodeCursor(int64(binary.BigEndian.Uint64(k[len(k)-8:])))
			}
			t.onTrim(thingID, cursors)
		}
	}
	t.mu.Lock()
	t.count[thingID] = n - len(old)
	t.mu.Unlock()
	return nil
}

// forget drops the count of a deleted Thing.
func (t *trimmer) forget(thingID string) {
	t.mu.Lock()
	delete(t.count, thingID)
	t.mu.Unlock()
}

package outbox

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// trimmer caps the history of each Thing at Options.MaxHistory records.
// It counts the records each Thing gained since it last counted them in
// Badger; when a Thing passes the cap by a tenth, the oldest records are
// deleted down to the cap.
//
// A count is exact while no record of the Thing has expired since it was
// taken: the trimmer keeps, beside it, the earliest expiry among the
// records it counted (those it saw in Badger and those added since). Until
// that moment passes, a trim deletes the oldest records beyond the cap
// without counting them again (it reads only those it deletes); after it,
// or for a Thing not counted since the store opened, a trim counts the
// Thing's records in Badger first (records that expired are not seen
// there). A Thing at its cap thus costs a tenth of a pass over its keys per
// record added, where a count each time cost more than its whole history
// per trim (~20% of the hub's CPU with a stream of events at the default
// cap).
type trimmer struct {
	max     int // 0: no cap
	mu      sync.Mutex
	count   map[string]thingCount // by Thing
	trimMu  sync.Mutex            // one trim at a time
	trimmed atomic.Uint64
	onTrim  func(thingID string, cursors []string)
}

// thingCount is what the trimmer knows of a Thing's history.
type thingCount struct {
	n int // records: exact while no record expired since the count
	// expiry is the earliest expiry (Unix seconds, as Badger's) of the
	// records counted in n; math.MaxUint64 when none can expire.
	expiry uint64
	// trimmed is the stamp of the newest record a trim deleted: no older
	// one remains (stamps only grow), so the next trim seeks past it
	// instead of stepping over the deletions Badger has not compacted yet.
	trimmed int64
}

// slack is how far past the cap a Thing's history may grow before it is
// trimmed: a tenth of the cap, so that trims are rare.
func (t *trimmer) slack() int { return max(t.max/10, 1) }

// Trimmed is the number of history records deleted by the cap since the
// store was opened.
func (s *Store) Trimmed() uint64 { return s.trim.trimmed.Load() }

// noteHistory is called after a history record of thingID, expiring at
// expires (Unix seconds; 0: never), was committed.
func (s *Store) noteHistory(thingID string, expires uint64) error {
	t := &s.trim
	if t.max <= 0 {
		return nil
	}
	if expires == 0 {
		expires = math.MaxUint64
	}
	t.mu.Lock()
	c, known := t.count[thingID]
	if known {
		c.n++
		c.expiry = min(c.expiry, expires)
		t.count[thingID] = c
	}
	t.mu.Unlock()
	if known && c.n <= t.max+t.slack() {
		return nil
	}
	return s.trimThing(thingID)
}

// trimThing deletes the oldest records of a Thing beyond the cap, counting
// them in Badger first unless its count is exact.
func (s *Store) trimThing(thingID string) error {
	t := &s.trim
	t.trimMu.Lock()
	defer t.trimMu.Unlock()
	t.mu.Lock()
	c, known := t.count[thingID]
	// Badger's clock: a record is gone once its expiry is at or before now.
	exact := known && uint64(time.Now().Unix()) < c.expiry
	if !exact {
		// From now on the entry gathers the expiries of the records noted
		// while the count runs (they may come after its snapshot).
		t.count[thingID] = thingCount{n: c.n, expiry: math.MaxUint64, trimmed: c.trimmed}
	}
	t.mu.Unlock()
	if exact && c.n <= t.max {
		return nil // trimmed meanwhile
	}
	prefix := historyThingPrefix(thingID)
	n := 0
	kept := uint64(math.MaxUint64) // earliest expiry of the records kept (a full count)
	var old [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		excess := c.n - t.max
		if !exact {
			for it.Rewind(); it.Valid(); it.Next() {
				n++
			}
			excess = n - t.max
		}
		if excess <= 0 {
			return nil
		}
		old = make([][]byte, 0, excess)
		if exact && c.trimmed > 0 {
			it.Seek(historyKey(thingID, c.trimmed+1))
		} else {
			it.Rewind()
		}
		for ; it.Valid() && len(old) < excess; it.Next() {
			old = append(old, it.Item().KeyCopy(nil))
		}
		if !exact {
			for ; it.Valid(); it.Next() {
				if e := it.Item().ExpiresAt(); e != 0 {
					kept = min(kept, e)
				}
			}
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
	var newest int64 // stamp of the newest record deleted
	if len(old) > 0 {
		k := old[len(old)-1]
		newest = int64(binary.BigEndian.Uint64(k[len(k)-8:]))
	}
	t.mu.Lock()
	if exact {
		// Records noted meanwhile stay counted; the expiry stays the
		// earliest (those deleted expired no sooner than those kept, or
		// later: a count comes sooner, never too late).
		c = t.count[thingID]
		c.n -= len(old)
	} else {
		// Records noted while counting may have come after the snapshot:
		// left out, the count errs low (a trim comes later, never deletes
		// too much); their expiries are kept.
		c = thingCount{n: n - len(old), expiry: min(kept, t.count[thingID].expiry), trimmed: c.trimmed}
	}
	c.trimmed = max(c.trimmed, newest)
	t.count[thingID] = c
	t.mu.Unlock()
	return nil
}

// doubt makes the next trim of a Thing count its records in Badger and
// look at them from the oldest: a record was stored that the count may
// not match (Restore: one stored already, or older than those trimmed).
func (t *trimmer) doubt(thingID string) {
	t.mu.Lock()
	if c, ok := t.count[thingID]; ok {
		c.expiry, c.trimmed = 0, 0
		t.count[thingID] = c
	}
	t.mu.Unlock()
}

// forget drops the count of a deleted Thing.
func (t *trimmer) forget(thingID string) {
	t.trimMu.Lock() // after a trim under way, which sets the count at its end
	defer t.trimMu.Unlock()
	t.mu.Lock()
	delete(t.count, thingID)
	t.mu.Unlock()
}

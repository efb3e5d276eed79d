package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrNoTime is returned by Restore for a record without its time.
var ErrNoTime = errors.New("outbox: restored record has no time")

// Restore stores a record another store took (`wotmq import`, package
// migrate) with the time it has, so that its cursor stays what it was:
// in the history unless retain is RetainNone (kept for retain, or the
// store's default, counted from now), and as the latest value of its
// affordance unless the stored one is as new or newer. Storing the same
// record again changes nothing. Later Appends stamp after it.
func (s *Store) Restore(ctx context.Context, rec Record, retain Retain) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec.Time.IsZero() {
		return ErrNoTime
	}
	if err := s.loadLast(); err != nil {
		return err
	}
	ts := keyNanos(rec.Time)
	s.mu.Lock()
	s.last = max(s.last, ts)
	s.mu.Unlock()
	val := encodeRecord(rec)
	err := s.commit.Update(func(txn *badger.Txn) error {
		if retain != RetainNone {
			ttl := time.Duration(retain)
			if ttl <= 0 {
				ttl = s.retention
			}
			if err := txn.SetEntry(badger.NewEntry(historyKey(rec.ThingID, ts), val).WithTTL(roundTTL(ttl))); err != nil {
				return err
			}
		}
		lk := latestKey(rec.ThingID, rec.Kind, rec.Name)
		item, err := txn.Get(lk)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			newer := false
			if err := item.Value(func(v []byte) error {
				cur, err := decodeRecord(rec.ThingID, v)
				newer = err == nil && keyNanos(cur.Time) >= ts
				return nil // a stored value that does not decode is replaced
			}); err != nil {
				return err
			}
			if newer {
				return nil
			}
		}
		return txn.Set(lk, val)
	})
	if err != nil {
		return fmt.Errorf("outbox: restore %s/%s: %w", rec.ThingID, rec.Name, err)
	}
	if retain != RetainNone {
		// A restored record may be one stored already (counted twice) or
		// older than those a trim deleted: the next trim counts again.
		s.trim.doubt(rec.ThingID)
		_ = s.noteHistory(rec.ThingID, 0) // stored: a failed trim is retried by a later one
	}
	return nil
}

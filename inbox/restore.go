package inbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"
)

// ErrNoID is returned by Restore for a request without its ID.
var ErrNoID = errors.New("inbox: restored request has no ID")

// Restore stores a request another store held (`wotmq import`, package
// migrate) as it was: its ID, status, times and deliveries. Unfinished, it
// joins its agent's queue; finished, its affordance's outcomes. It becomes
// the latest request of its affordance unless a newer one is. A request
// already stored under its ID is kept as it is (it may have moved on
// since): restoring the same request again changes nothing. Later IDs sort
// after it.
func (s *Store) Restore(ctx context.Context, r *Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.ID == "" {
		return ErrNoID
	}
	if n, err := strconv.ParseUint(r.ID, 16, 63); err == nil && len(r.ID) == 16 {
		s.mu.Lock()
		s.lastID = max(s.lastID, int64(n))
		s.mu.Unlock()
	}
	c := *r
	var w write
	err := s.commit.Update(func(txn *badger.Txn) error {
		w = write{}
		if _, err := get(txn, r.ID); err == nil {
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := s.plan(&w, &c); err != nil {
			return err
		}
		if err := w.run(txn); err != nil {
			return err
		}
		lk := latestKey(r.ThingID, r.Op, r.Name)
		item, err := txn.Get(lk)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			newer := false
			if err := item.Value(func(v []byte) error { newer = string(v) >= r.ID; return nil }); err != nil {
				return err
			}
			if newer {
				return nil
			}
		}
		return txn.Set(lk, []byte(r.ID))
	})
	if err != nil {
		return fmt.Errorf("inbox: restore %s: %w", r.ID, err)
	}
	s.apply(w.ch) // memory changes only once the transaction committed
	return nil
}

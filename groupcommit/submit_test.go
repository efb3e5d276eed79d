package groupcommit_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/groupcommit"
)

// TestSubmitBatchesOneWritersQueue: writes submitted before the first Wait
// commit together, in order (each sees the one before), and Wait reports
// each once committed.
func TestSubmitBatchesOneWritersQueue(t *testing.T) {
	db := mustOpen(t)
	c := groupcommit.New(db, 0)
	var txns sync.Map // *badger.Txn -> struct{}: the transactions used
	var pending []groupcommit.Pending
	for i := range 20 {
		key, prev := fmt.Sprintf("s/%02d", i), fmt.Sprintf("s/%02d", i-1)
		pending = append(pending, c.Submit(func(txn *badger.Txn) error {
			txns.Store(txn, struct{}{})
			if i > 0 {
				if _, err := txn.Get([]byte(prev)); err != nil {
					return fmt.Errorf("%s does not see %s: %w", key, prev, err)
				}
			}
			return txn.Set([]byte(key), []byte(key))
		}))
	}
	for i, p := range pending {
		if err := p.Wait(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if _, ok := get(t, db, fmt.Sprintf("s/%02d", i)); !ok {
			t.Fatalf("write %d not readable after Wait", i)
		}
	}
	n := 0
	txns.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("20 submitted writes took %d transactions, want 1", n)
	}
}

// TestSubmitBesideUpdates: writers that submit ahead and wait later share
// the committer with plain Update callers; every write commits and no
// caller is left waiting for a lead that went to a writer not yet waiting.
func TestSubmitBesideUpdates(t *testing.T) {
	db := mustOpen(t)
	c := groupcommit.New(db, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				key := fmt.Sprintf("u/%d/%d", g, i)
				set := func(txn *badger.Txn) error { return txn.Set([]byte(key), []byte(key)) }
				if g%2 == 0 {
					if err := c.Update(set); err != nil {
						t.Error(err)
					}
					continue
				}
				p := c.Submit(set)
				q := c.Submit(func(txn *badger.Txn) error { return txn.Set([]byte(key+"b"), nil) })
				if err := p.Wait(); err != nil {
					t.Error(err)
				}
				if err := q.Wait(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for g := range 8 {
		for i := range 40 {
			if _, ok := get(t, db, fmt.Sprintf("u/%d/%d", g, i)); !ok {
				t.Errorf("u/%d/%d missing", g, i)
			}
		}
	}
}

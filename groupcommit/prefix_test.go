package groupcommit_test

import (
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/groupcommit"
)

// TestDeletePrefix: every key under the prefix goes, across several
// batches, and nothing beside it (a neighbour whose key sorts right after
// the prefix included).
func TestDeletePrefix(t *testing.T) {
	db := mustOpen(t)
	n := 2*groupcommit.DeleteBatch + 7
	err := db.Update(func(txn *badger.Txn) error {
		for i := range n {
			if err := txn.Set(fmt.Appendf(nil, "t/a/%05d", i), []byte("x")); err != nil {
				return err
			}
		}
		for _, k := range []string{"t/a", "t/b/1", "t/a0"} {
			if err := txn.Set([]byte(k), []byte("keep")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := groupcommit.DeletePrefix(db, []byte("t/a/")); err != nil {
		t.Fatal(err)
	}
	var left []string
	_ = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			left = append(left, string(it.Item().Key()))
		}
		return nil
	})
	if fmt.Sprint(left) != "[t/a t/a0 t/b/1]" {
		t.Errorf("left %v, want the three neighbours", left)
	}
}

package groupcommit

import (
	"bytes"

	"github.com/dgraph-io/badger/v4"
)

// DeleteBatch is how many keys one transaction of DeletePrefix deletes:
// well under Badger's transaction size limit, small enough that a writer
// never waits long behind it.
const DeleteBatch = 1000

// DeletePrefix deletes every key under prefix in ordinary transactions of
// DeleteBatch keys, beside the writers of the hub rather than in their
// way: Badger's DropPrefix blocks every write while it runs (writes to
// other Things failed with "Writes are blocked"). A key written under
// prefix while it runs may survive it. The inbox and the outbox delete a
// Thing's keys with it.
func DeletePrefix(db *badger.DB, prefix []byte) error {
	from := prefix
	for {
		keys := make([][]byte, 0, DeleteBatch)
		err := db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(from); it.Valid() && len(keys) < DeleteBatch; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		err = db.Update(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || len(keys) < DeleteBatch {
			return err
		}
		// Go on after the last key: the next scan does not wade through
		// the tombstones of this batch.
		from = append(bytes.Clone(keys[len(keys)-1]), 0)
	}
}

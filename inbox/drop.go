package inbox

import (
	"bytes"

	"github.com/dgraph-io/badger/v4"
)

// dropBatch is how many keys one transaction of dropPrefix deletes: well
// under Badger's transaction size limit, small enough that a writer
// never waits long behind it.
const dropBatch = 1000

// dropPrefix deletes every key under prefix in ordinary transactions of
// dropBatch keys. Badger's DropPrefix would block every write of the hub
// while it runs (writes to other Things fail with "Writes are blocked").
// A key written under prefix while it runs may survive it.
func dropPrefix(db *badger.DB, prefix []byte) error {
	from := prefix
	for {
		keys := make([][]byte, 0, dropBatch)
		err := db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(from); it.Valid() && len(keys) < dropBatch; it.Next() {
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
		if err != nil || len(keys) < dropBatch {
			return err
		}
		// Go on after the last key: the next scan does not wade through
		// the tombstones of this batch.
		from = append(bytes.Clone(keys[len(keys)-1]), 0)
	}
}

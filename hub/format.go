package hub

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// StoreFormat is the layout of the store (docs/storage.md) that this
// binary reads and writes. It goes up when a release changes the layout
// of something already stored (a record's bytes, a key's meaning), not
// when it only adds keys, which older binaries ignore. A hub stamps the
// store with it (key hub/format) and refuses a store stamped higher: an
// older binary started on a newer store stops with an error saying so,
// instead of misreading it (docs/operations.md, "Upgrades").
const StoreFormat = 1

// ErrNewerStore is returned by New for a store a newer wotmq wrote in a
// layout this binary does not know.
var ErrNewerStore = errors.New("hub: the store was written by a newer wotmq")

var formatKey = []byte("hub/format")

// storeStamp is the value of hub/format.
type storeStamp struct {
	Format int    `json:"format"`
	By     string `json:"by"` // the version that wrote this format first
}

// checkFormat stamps a store that has no format yet (a new one, or one an
// older binary wrote) and refuses one of a newer format.
func checkFormat(db *badger.DB, build Build) error {
	return db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(formatKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			b, _ := json.Marshal(storeStamp{Format: StoreFormat, By: build.Version})
			return txn.Set(formatKey, b)
		}
		if err != nil {
			return fmt.Errorf("hub: read the store format: %w", err)
		}
		var st storeStamp
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &st) }); err != nil {
			return fmt.Errorf("hub: read the store format: %w", err)
		}
		if st.Format > StoreFormat {
			return fmt.Errorf("%w: format %d (first written by wotmq %s), and this wotmq (%s) reads format %d at most; "+
				"run the newer wotmq, or restore the backup taken before the upgrade into a new directory (docs/operations.md, \"Upgrades\")",
				ErrNewerStore, st.Format, st.By, build.Version, StoreFormat)
		}
		return nil
	})
}

package hub

import (
	"os"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// storeOptions are the Badger options of a hub's store, sized for a small
// hub unless memtable says otherwise (docs/architecture.md, "Decisions").
func storeOptions(dir string, syncWrites bool, memtable int64, log zerolog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		WithSyncWrites(syncWrites).
		WithMemTableSize(memtable).
		WithNumMemtables(3).
		WithValueLogFileSize(64 << 20).
		WithBlockCacheSize(32 << 20).
		WithValueThreshold(1 << 10)
}

// openStore opens the Badger store in dir with memtables of memtable
// bytes, or of the size of the largest memtable log (*.mem) in dir when
// one is larger. Badger replays those logs into memtables of the size it
// is given, and a log written with a larger --memtable-size (the hub was
// killed, or a tool opens its store) overflows a smaller table: Badger
// panics. The next memtables are the size asked for again once the hub
// restarts after these are flushed.
func openStore(dir string, syncWrites bool, memtable int64, log zerolog.Logger) (*badger.DB, error) {
	if largest := largestMemLog(dir); largest > memtable {
		log.Warn().Int64("memtable_bytes", memtable).Int64("log_bytes", largest).
			Msg("memtable logs of a larger memtable size are in the store: replaying them with memtables of their size")
		memtable = largest
	}
	return badger.Open(storeOptions(dir, syncWrites, memtable, log))
}

// largestMemLog is the size of the largest memtable log in dir, 0 when
// there is none (or dir cannot be read: Badger says why when it opens).
func largestMemLog(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var largest int64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Size() > largest {
			largest = fi.Size()
		}
	}
	return largest
}

package hub

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// copyStore copies the files of a store that is open, as a kill -9 leaves
// them: the memtable logs hold what was written and not yet flushed.
func copyStore(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// A store left by a hub with larger memtables (--memtable-size) than the
// next opening asks for is replayed whole: Badger alone replays a memtable
// log into a table of the size it is given, and panics when it overflows.
func TestStoreOpensMemLogsOfALargerMemtable(t *testing.T) {
	nop := zerolog.Nop()
	dir := t.TempDir()
	db, err := badger.Open(storeOptions(dir, false, 64<<20, nop))
	if err != nil {
		t.Fatal(err)
	}
	const n = 28000 // about 25 MiB: more than a default memtable holds
	value := make([]byte, 900)
	wb := db.NewWriteBatch()
	for i := range n {
		if err := wb.Set(fmt.Appendf(nil, "test/%06d", i), value); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	crashed, again := copyStore(t, dir), copyStore(t, dir)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("BadgerAloneExits", func(t *testing.T) {
		// What openStore prevents, in a child process: Badger's arena
		// check ends the process (log.Fatal). If Badger ever replays such
		// a log safely, the floor can go.
		cmd := exec.Command(os.Args[0], "-test.run=^TestRawBadgerOpen$")
		cmd.Env = append(os.Environ(), rawOpenEnv+"="+again)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Arena too small") {
			t.Errorf("Badger opened the store with smaller memtables: %v\n%s", err, out)
		}
	})

	db, err = openStore(crashed, false, DefaultMemTableSize, nop)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Opts().MemTableSize; got <= DefaultMemTableSize {
		t.Errorf("memtable size %d, want the larger log's", got)
	}
	count := 0
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("test/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			count++
		}
		return nil
	})
	if err != nil || count != n {
		t.Fatalf("after the replay: %d keys (%v), want %d", count, err, n)
	}
}

// rawOpenEnv names the store TestRawBadgerOpen opens.
const rawOpenEnv = "WOTMQ_TEST_RAW_BADGER_OPEN"

// TestRawBadgerOpen opens a store with Badger alone and the default
// memtable size, for TestStoreOpensMemLogsOfALargerMemtable's child.
func TestRawBadgerOpen(t *testing.T) {
	dir := os.Getenv(rawOpenEnv)
	if dir == "" {
		t.Skip("the child of TestStoreOpensMemLogsOfALargerMemtable")
	}
	db, err := badger.Open(storeOptions(dir, false, DefaultMemTableSize, zerolog.Nop()))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestMemtableSizeOutOfBoundsRefused(t *testing.T) {
	for _, size := range []int64{1 << 20, MinMemTableSize - 1, MaxMemTableSize + 1} {
		h, err := New(Options{DataDir: t.TempDir(), MemTableSize: size})
		if err == nil {
			h.Close()
			t.Fatalf("memtable size %d: the hub opened", size)
		}
		if !strings.Contains(err.Error(), "memtable size") {
			t.Errorf("memtable size %d: %v, want the memtable size named", size, err)
		}
	}
}

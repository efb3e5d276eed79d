package datadir_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/datadir"
)

// storeCrashImage writes n keys to a real Badger store and returns a copy
// of its directory taken while it was open: what kill -9 leaves, the
// writes only in the .mem write-ahead log. It also returns the copy's .mem
// file.
func storeCrashImage(t *testing.T, n int) (dir, wal string) {
	t.Helper()
	src := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(src).WithLogger(nil).WithMemTableSize(4 << 20).WithValueLogFileSize(16 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		if err := db.Update(func(txn *badger.Txn) error {
			return txn.Set(fmt.Appendf(nil, "key-%04d", i), fmt.Appendf(nil, "value-%04d", i))
		}); err != nil {
			t.Fatal(err)
		}
	}
	dir = t.TempDir()
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if len(m) != 1 {
		t.Fatalf(".mem files: %v", m)
	}
	return dir, m[0]
}

// storeLogEnd is where the records of a log end: the first of the zeros
// that fill the rest of the preallocated file.
func storeLogEnd(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := len(b)
	for end > 0 && b[end-1] == 0 {
		end--
	}
	return end
}

func TestCheckLogs(t *testing.T) {
	t.Run("CrashImageIsWhole", func(t *testing.T) {
		dir, _ := storeCrashImage(t, 200)
		if err := datadir.Check(dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("TornLastRecordIsNoDamage", func(t *testing.T) {
		// A crash in the middle of the last write: its second half never
		// reached the file. It was never acknowledged.
		dir, wal := storeCrashImage(t, 200)
		end := storeLogEnd(t, wal)
		f, err := os.OpenFile(wal, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(make([]byte, 12), int64(end-12)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := datadir.Check(dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("DamageBeforeTheLastRecordsIsRefused", func(t *testing.T) {
		dir, wal := storeCrashImage(t, 200)
		end := storeLogEnd(t, wal)
		f, err := os.OpenFile(wal, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{0xff, 0xff, 0xff, 0xff}, int64(end-200)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		var d *datadir.Damage
		if err := datadir.Check(dir); !errors.As(err, &d) || d.File != filepath.Base(wal) {
			t.Fatalf("check: %v", err)
		}
	})
	t.Run("EmptyOrMissingDirectoryIsFine", func(t *testing.T) {
		if err := datadir.Check(t.TempDir()); err != nil {
			t.Error(err)
		}
		if err := datadir.Check(filepath.Join(t.TempDir(), "none")); err != nil {
			t.Error(err)
		}
	})
}

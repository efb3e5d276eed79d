package groupcommit_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/groupcommit"
)

func mustOpen(tb testing.TB) *badger.DB {
	tb.Helper()
	db, err := badger.Open(badger.DefaultOptions(tb.TempDir()).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10).WithValueLogFileSize(16 << 20))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

func get(tb testing.TB, db *badger.DB, key string) (string, bool) {
	tb.Helper()
	var v []byte
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key))
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", false
	}
	if err != nil {
		tb.Fatal(err)
	}
	return string(v), true
}

func TestConcurrentWritesAllCommitted(t *testing.T) {
	db := mustOpen(t)
	c := groupcommit.New(db, 16)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("k/%d/%d", g, i)
				err := c.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), []byte(key)) })
				if err != nil {
					t.Errorf("%s: %v", key, err)
					return
				}
				// Committed means readable now.
				if v, ok := get(t, db, key); !ok || v != key {
					t.Errorf("%s: read back %q %v after Update returned", key, v, ok)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestAFailedWriteFailsAlone(t *testing.T) {
	db := mustOpen(t)
	c := groupcommit.New(db, 64)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			errs[i] = c.Update(func(txn *badger.Txn) error {
				if err := txn.Set([]byte(fmt.Sprint("k", i)), []byte("v")); err != nil {
					return err
				}
				if i%7 == 3 {
					return boom // after a write: that write must not be committed
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		_, stored := get(t, db, fmt.Sprint("k", i))
		if i%7 == 3 {
			if !errors.Is(err, boom) || stored {
				t.Errorf("write %d: err %v, stored %v; want boom and nothing stored", i, err, stored)
			}
		} else if err != nil || !stored {
			t.Errorf("write %d: err %v, stored %v", i, err, stored)
		}
	}
}

func TestBatchTooBigForOneTransaction(t *testing.T) {
	db := mustOpen(t)
	c := groupcommit.New(db, 1000)
	big := bytes.Repeat([]byte("x"), 512<<10) // a few of these exceed Badger's batch size
	var wg sync.WaitGroup
	errs := make([]error, 24)
	for i := range errs {
		wg.Go(func() {
			errs[i] = c.Update(func(txn *badger.Txn) error { return txn.Set([]byte(fmt.Sprint("big", i)), big) })
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
		if v, ok := get(t, db, fmt.Sprint("big", i)); !ok || len(v) != len(big) {
			t.Errorf("write %d not stored", i)
		}
	}
}

func TestLaterWritesOfAKeyWin(t *testing.T) {
	db := mustOpen(t)
	c := groupcommit.New(db, 8)
	// Writes that arrive one after the other (each Update returns before
	// the next starts) keep their order; concurrent ones are applied in
	// the order they queued.
	for i := range 100 {
		if err := c.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), []byte(fmt.Sprint(i))) }); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := get(t, db, "k"); v != "99" {
		t.Fatalf("k = %q, want 99", v)
	}
	// A write sees the earlier writes of its batch.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_ = c.Update(func(txn *badger.Txn) error {
				n := 0
				if item, err := txn.Get([]byte("n")); err == nil {
					_ = item.Value(func(v []byte) error { _, err := fmt.Sscan(string(v), &n); return err })
				}
				_ = i
				return txn.Set([]byte("n"), []byte(fmt.Sprint(n+1)))
			})
		})
	}
	wg.Wait()
	if v, _ := get(t, db, "n"); v != "50" {
		t.Fatalf("counter = %q after 50 increments, want 50", v)
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, par := range []int{1, 8} {
		for _, mode := range []string{"badger", "groupcommit"} {
			b.Run(fmt.Sprintf("%s/writers=%dxCPU", mode, par), func(b *testing.B) { benchUpdate(b, mode, par) })
		}
	}
}

// benchUpdate writes a history key and a latest key per write, as the
// outbox does, from par goroutines per CPU.
func benchUpdate(b *testing.B, mode string, par int) {
	db := mustOpen(b)
	c := groupcommit.New(db, 0)
	update := db.Update
	if mode == "groupcommit" {
		update = c.Update
	}
	val := []byte(`{"seq":1,"ts":1234567890,"m":1,"pad":"xxxxxxxxxxxxxxxx"}`)
	var n atomic.Int64
	b.SetParallelism(par)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := fmt.Sprint("h/", n.Add(1))
			err := update(func(txn *badger.Txn) error {
				if err := txn.Set([]byte(k), val); err != nil {
					return err
				}
				return txn.Set([]byte("latest"), val)
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

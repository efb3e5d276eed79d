package inbox_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// stored reports whether Badger holds request id (committed).
func stored(t *testing.T, db *badger.DB, id string) bool {
	t.Helper()
	err := db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte("inbox/r/" + id))
		return err
	})
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// A staged write is seen by the store's readers before its commit, which
// happens when its Commit is called (nobody else waits for it here), and
// the next staged change builds on it.
func TestStagedWriteSeenBeforeItsCommit(t *testing.T) {
	ctx := context.Background()
	s, db := mustOpen(t, t.TempDir(), nil)
	r := newReq("ag", "t", "a")
	r.Status = wire.StatusDelivered
	_, commit, err := s.ReplaceLater(ctx, r, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stored(t, db, r.ID) {
		t.Fatal("committed before its Commit was called")
	}
	if n, waiting := s.Outstanding("ag"); n != 1 || waiting {
		t.Fatalf("outstanding %d, waiting %v: want the staged request delivered", n, waiting)
	}
	done, commit2, err := s.TransitionLater(ctx, r.ID, wire.StatusCompleted, []byte(`1`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Queue(ctx, "ag"); len(q) != 0 {
		t.Fatalf("queue %v after the staged completion, want empty", q)
	}
	if got, err := s.Get(ctx, r.ID); err != nil || got.Status != wire.StatusCompleted {
		t.Fatalf("get while its commit is under way: %+v, %v", got, err)
	}
	if _, _, err := s.TransitionLater(ctx, r.ID, wire.StatusFailed, nil, nil); !errors.Is(err, inbox.ErrFinished) {
		t.Fatalf("a second outcome while the first commits: %v, want ErrFinished", err)
	}
	if err := commit2(); err != nil { // commits both, in order
		t.Fatal(err)
	}
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	if !stored(t, db, r.ID) {
		t.Fatal("not stored after its Commit")
	}
	s2 := mustNew(t, db, inbox.Options{})
	got, err := s2.Get(ctx, r.ID)
	if err != nil || got.Status != done.Status || !bytes.Equal(got.Output, []byte(`1`)) {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
	if outs, _ := s2.Outcomes(ctx, "t", wire.OpInvokeAction, "a"); len(outs) != 1 {
		t.Fatalf("outcomes after reopening: %d, want 1", len(outs))
	}
}

// A staged write whose commit fails is taken back: memory says again what
// Badger holds, and Commit returns the error.
func TestStagedWriteFailureTakenBack(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t, t.TempDir(), nil)
	// Badger refuses a value larger than a value log file (16 MiB here).
	huge := append(append([]byte(`"`), bytes.Repeat([]byte("x"), 17<<20)...), '"')

	bad := newReq("ag", "t", "a")
	bad.Input = huge
	_, commit, err := s.ReplaceLater(ctx, bad, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, waiting := s.Outstanding("ag"); n != 0 || !waiting {
		t.Fatalf("outstanding %d, waiting %v before the commit: want it pending", n, waiting)
	}
	if err := commit(); err == nil {
		t.Fatal("commit of a 17 MiB request: no error")
	}
	if _, err := s.Get(ctx, bad.ID); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("get after the failed commit: %v, want ErrNotFound", err)
	}
	if _, waiting := s.Outstanding("ag"); waiting || s.Len() != 0 {
		t.Fatalf("the request is still queued after its commit failed (len %d)", s.Len())
	}

	r := newReq("ag", "t", "a")
	if err := s.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, r.ID, wire.StatusDelivered, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, commit, err = s.TransitionLater(ctx, r.ID, wire.StatusCompleted, huge, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := commit(); err == nil {
		t.Fatal("commit of a 17 MiB outcome: no error")
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil || got.Status != wire.StatusDelivered {
		t.Fatalf("after the failed commit: %+v, %v; want it delivered, as stored", got, err)
	}
	if n, _ := s.Outstanding("ag"); n != 1 {
		t.Fatalf("outstanding %d after the failed commit, want 1", n)
	}
	if outs, _ := s.Outcomes(ctx, "t", wire.OpInvokeAction, "a"); len(outs) != 0 {
		t.Fatalf("outcomes after the failed commit: %d, want 0", len(outs))
	}
	if _, err := s.Transition(ctx, r.ID, wire.StatusCompleted, []byte(`2`), nil); err != nil {
		t.Fatalf("completing it after all: %v", err)
	}
}

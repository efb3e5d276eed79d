package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// TestCheck damages the stored requests and their queue index the ways a
// missed index update would (docs/storage.md, "inbox") and checks that
// Check names each, and that a store kept by the Store's own API passes.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	// fill adds three requests: one finished, one delivered, one pending.
	fill := func(t *testing.T, s *inbox.Store) (finished, delivered, pending *inbox.Request) {
		t.Helper()
		finished, delivered, pending = newReq("ag", "t", "a"), newReq("ag", "t", "b"), newReq("ag", "t", "c")
		for _, r := range []*inbox.Request{finished, delivered, pending} {
			if err := s.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range []wire.Status{wire.StatusDelivered, wire.StatusCompleted} {
			if _, err := s.Transition(ctx, finished.ID, st, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Transition(ctx, delivered.ID, wire.StatusDelivered, nil, nil); err != nil {
			t.Fatal(err)
		}
		return finished, delivered, pending
	}
	set := func(t *testing.T, db *badger.DB, key string, val []byte) {
		t.Helper()
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), val) }); err != nil {
			t.Fatal(err)
		}
	}
	del := func(t *testing.T, db *badger.DB, key string) {
		t.Helper()
		if err := db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(key)) }); err != nil {
			t.Fatal(err)
		}
	}
	queueKey := func(r *inbox.Request) string { return "inbox/q/" + r.AgentID + "\x00" + r.ID }
	record := func(t *testing.T, r *inbox.Request) []byte {
		t.Helper()
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("PassesWhatTheStoreWrote", func(t *testing.T) {
		dir := t.TempDir()
		s, db := mustOpen(t, dir, nil)
		fill(t, s)
		if err := s.Check(ctx); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s, _ = mustOpen(t, dir, nil) // as loaded at start
		if err := s.Check(ctx); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, db *badger.DB, finished, delivered, pending *inbox.Request)
		want   string
	}{
		{"ReportsUnfinishedRequestOutsideQueue", func(t *testing.T, db *badger.DB, _, delivered, _ *inbox.Request) {
			del(t, db, queueKey(delivered))
		}, "not in its queue"},
		{"ReportsQueueEntryWithoutRequest", func(t *testing.T, db *badger.DB, _, _, pending *inbox.Request) {
			del(t, db, "inbox/r/"+pending.ID)
		}, "which is not stored"},
		{"ReportsFinishedRequestInQueue", func(t *testing.T, db *badger.DB, finished, _, pending *inbox.Request) {
			var entry []byte
			err := db.View(func(txn *badger.Txn) error {
				item, err := txn.Get([]byte(queueKey(pending)))
				if err == nil {
					entry, err = item.ValueCopy(nil)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			set(t, db, queueKey(finished), entry)
		}, "still in the queue"},
		{"ReportsQueueEntryDifferingFromRequest", func(t *testing.T, db *badger.DB, _, _, pending *inbox.Request) {
			p := *pending
			p.Status, p.Deliveries = wire.StatusRunning, 1
			set(t, db, "inbox/r/"+p.ID, record(t, &p))
		}, "the request"},
		{"ReportsDeliveredNeverCounted", func(t *testing.T, db *badger.DB, _, delivered, _ *inbox.Request) {
			d := *delivered
			d.Status, d.Deliveries = wire.StatusDelivered, 0
			set(t, db, "inbox/r/"+d.ID, record(t, &d))
		}, "never delivered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, db := mustOpen(t, t.TempDir(), nil)
			finished, delivered, pending := fill(t, s)
			// The stored delivered request as the store wrote it.
			if got, err := s.Get(ctx, delivered.ID); err != nil {
				t.Fatal(err)
			} else {
				delivered = got
			}
			tc.damage(t, db, finished, delivered, pending)
			err := s.Check(ctx)
			if !errors.Is(err, inbox.ErrInconsistent) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want an inconsistency saying %q", err, tc.want)
			}
		})
	}
}

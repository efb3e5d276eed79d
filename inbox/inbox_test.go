package inbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

func mustOpen(tb testing.TB, dir string, now func() time.Time) (*inbox.Store, *badger.DB) {
	tb.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10).WithValueLogFileSize(16 << 20))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return mustNew(tb, db, inbox.Options{Now: now}), db
}

func mustNew(tb testing.TB, db *badger.DB, opts inbox.Options) *inbox.Store {
	tb.Helper()
	s, err := inbox.New(db, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newReq(agent, thing, name string) *inbox.Request {
	return &inbox.Request{AgentID: agent, ActionStatus: wire.ActionStatus{ThingID: thing, Name: name, Op: wire.OpInvokeAction}}
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t, t.TempDir(), nil)
	r := newReq("ag", "t", "a")
	if err := s.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.Status != wire.StatusPending || r.ID == "" {
		t.Fatalf("added %+v", r)
	}
	t.Run("RejectsSkippingDelivery", func(t *testing.T) {
		if _, err := s.Transition(ctx, r.ID, wire.StatusRunning, nil, nil); !errors.Is(err, inbox.ErrTransition) {
			t.Errorf("pending->running: %v", err)
		}
	})
	pend, _ := s.Pending(ctx, "ag")
	if len(pend) != 1 {
		t.Fatalf("pending = %d", len(pend))
	}
	steps := []wire.Status{wire.StatusDelivered, wire.StatusRunning, wire.StatusCompleted}
	for _, st := range steps {
		if _, err := s.Transition(ctx, r.ID, st, []byte(`1`), nil); err != nil {
			t.Fatalf("-> %s: %v", st, err)
		}
	}
	if pend, _ := s.Pending(ctx, "ag"); len(pend) != 0 {
		t.Error("delivered request still pending")
	}
	if un, _ := s.Unfinished(ctx, "ag"); len(un) != 0 {
		t.Error("completed request still unfinished")
	}
	t.Run("FinishedIsFinal", func(t *testing.T) {
		if _, err := s.Transition(ctx, r.ID, wire.StatusFailed, nil, &wire.Error{Code: wire.CodeExpired}); !errors.Is(err, inbox.ErrFinished) {
			t.Errorf("completed->failed: %v", err)
		}
	})
	latest, err := s.Latest(ctx, "t", wire.OpInvokeAction, "a")
	if err != nil || latest.ID != r.ID || latest.Status != wire.StatusCompleted {
		t.Errorf("latest %+v %v", latest, err)
	}
}

// TestAddDelivered checks a request stored as delivered at once: one
// delivery counted, indexed as the action's latest request, counted as
// outstanding, and still there after the store is reopened.
func TestAddDelivered(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, db := mustOpen(t, dir, nil)
	p := newReq("ag", "t", "a")
	if err := s.Add(ctx, p); err != nil {
		t.Fatal(err)
	}
	r := newReq("ag", "t", "b")
	r.Status = wire.StatusDelivered
	if err := s.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.Status != wire.StatusDelivered || r.Deliveries != 1 {
		t.Fatalf("added %s with %d deliveries, want delivered once", r.Status, r.Deliveries)
	}
	if d, pending := s.Outstanding("ag"); d != 1 || !pending {
		t.Fatalf("Outstanding = %d delivered, pending %v; want 1, true", d, pending)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = mustOpen(t, dir, nil)
	latest, err := s.Latest(ctx, "t", wire.OpInvokeAction, "b")
	if err != nil || latest.ID != r.ID || latest.Status != wire.StatusDelivered || latest.Deliveries != 1 {
		t.Fatalf("latest after reopen %+v %v", latest, err)
	}
	if _, err := s.Transition(ctx, r.ID, wire.StatusCompleted, []byte(`1`), nil); err != nil {
		t.Fatal(err)
	}
	if d, pending := s.Outstanding("ag"); d != 0 || !pending {
		t.Fatalf("after the outcome, Outstanding = %d delivered, pending %v; want 0, true", d, pending)
	}
}

func TestOrderAndExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	s, db := mustOpen(t, dir, func() time.Time { return now })
	var ids []string
	for i := range 5 {
		r := newReq("ag", "t", "a")
		r.Expires = now.Add(time.Duration(i+1) * time.Minute)
		if err := s.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if err := s.Add(ctx, newReq("other", "t", "a")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, _ = mustOpen(t, dir, func() time.Time { return now }) // survives reopening
	un, err := s.Unfinished(ctx, "ag")
	if err != nil || len(un) != 5 {
		t.Fatalf("unfinished %d %v", len(un), err)
	}
	for i, r := range un {
		if r.ID != ids[i] {
			t.Errorf("order: %d is %s, want %s", i, r.ID, ids[i])
		}
	}
	exp, _ := s.ExpiredBefore(ctx, now.Add(150*time.Second), 10)
	if len(exp) != 2 || exp[0] != ids[0] || exp[1] != ids[1] {
		t.Errorf("expired = %v", exp)
	}
	if _, err := s.Transition(ctx, ids[0], wire.StatusFailed, nil, &wire.Error{Code: wire.CodeExpired}); err != nil {
		t.Fatal(err)
	}
	if exp, _ := s.ExpiredBefore(ctx, now.Add(150*time.Second), 10); len(exp) != 1 {
		t.Errorf("finished request still in expiry index: %v", exp)
	}
}

// TestOutcomeRecall keeps the newest outcomes per affordance. IDs of many
// lengths make sure no key slice aliases another (a bug once rewrote the
// newest history key when older ones were trimmed).
func TestOutcomeRecall(t *testing.T) {
	ctx := context.Background()
	_, db := mustOpen(t, t.TempDir(), nil)
	s := mustNew(t, db, inbox.Options{OutcomeRecall: 3})
	for n := 1; n <= 24; n++ {
		thing := strings.Repeat("x", n)
		var ids []string
		for range 5 {
			r := newReq("ag", thing, "a")
			if err := s.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
			for _, st := range []wire.Status{wire.StatusDelivered, wire.StatusCompleted} {
				if _, err := s.Transition(ctx, r.ID, st, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			ids = append(ids, r.ID)
		}
		out, err := s.Outcomes(ctx, thing, wire.OpInvokeAction, "a")
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 3 || out[0].ID != ids[4] || out[1].ID != ids[3] || out[2].ID != ids[2] {
			got := []string{}
			for _, o := range out {
				got = append(got, o.ID)
			}
			t.Fatalf("thing %q: outcomes %v, want the last three of %v newest first", thing, got, ids)
		}
		if _, err := s.Get(ctx, ids[0]); !errors.Is(err, inbox.ErrNotFound) {
			t.Errorf("trimmed outcome still stored: %v", err)
		}
	}
}

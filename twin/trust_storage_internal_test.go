package twin

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// TestSweepEndsWhenRequestsCannotFail answers the suspicion of issue 12,
// item 21: the expiry sweep goes on while it gets full batches of expired
// requests, and a request it cannot fail stays expired. With more than a
// batch of them (the store refusing writes: a full or failing disk, here a
// closed Badger, which refuses every write), the sweep looped forever, and
// Close, which waits for it, hung. The sweep must give up until its next
// run, and say why.
func TestSweepEndsWhenRequestsCannotFail(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) // a clock that never moves
	sweep := func(t *testing.T, h *Core) {
		t.Helper()
		done := make(chan struct{})
		go func() {
			h.sweep(context.Background())
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the sweep still runs after 30 s: it loops over requests it cannot fail")
		}
	}
	t.Run("StoreRefusesWrites", func(t *testing.T) {
		h, db, logs := storeExpiredHub(t, now, 300)
		if err := db.Close(); err != nil { // from here on, every write fails
			t.Fatal(err)
		}
		sweep(t, h)
		if !strings.Contains(logs.String(), "cannot fail expired requests") {
			t.Errorf("the sweep gave up without a word: %s", logs.String())
		}
	})
	t.Run("ClockStandsStill", func(t *testing.T) {
		h, db, _ := storeExpiredHub(t, now, 300)
		t.Cleanup(func() { db.Close() })
		sweep(t, h)
		if ids, _ := h.inbox.ExpiredBefore(context.Background(), now, 1000); len(ids) != 0 {
			t.Errorf("%d expired requests left after the sweep", len(ids))
		}
	})
}

// storeExpiredHub opens a core (not started) with n requests to an absent
// agent that expired a minute before now.
func storeExpiredHub(t *testing.T, now time.Time, n int) (*Core, *badger.DB, *storeLogBuffer) {
	t.Helper()
	logs := &storeLogBuffer{}
	h, db := testCore(t, Options{Dev: true, Logger: zerolog.New(logs), Now: func() time.Time { return now }}, "")
	for range n {
		r := &inbox.Request{AgentID: "away"}
		r.Op, r.ThingID, r.Name, r.Expires = wire.OpInvokeAction, "urn:t", "a", now.Add(-time.Minute)
		if err := h.inbox.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return h, db, logs
}

// storeLogBuffer collects log lines from several goroutines.
type storeLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *storeLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *storeLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

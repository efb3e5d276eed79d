package mqtt

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestWotmqGetByListenerWithWriter calls GetByListener while another
// goroutine adds and deletes clients, with a bounded wait as the deadlock
// detector. GetByListener took the read lock and then again in Len: a
// writer that came between the two waited for the first, and the second
// waited for the writer (Go's RWMutex lets no new reader past a waiting
// writer). The window is a few instructions wide, so the test cannot put
// the writer there by hand (a reader that finds a writer waiting blocks
// at its first RLock already); it calls GetByListener until it has met a
// waiting writer often enough to have deadlocked (within a few thousand
// calls before the patch on a 2-core machine, in 10 runs).
func TestWotmqGetByListenerWithWriter(t *testing.T) {
	cl := NewClients()
	for _, id := range []string{"a", "b", "c"} {
		cl.Add(&Client{ID: id, State: ClientState{open: context.Background()}, Net: ClientConnection{Listener: "tcp"}})
	}
	var stop atomic.Bool
	writes := make(chan int)
	go func() {
		n := 0
		w := &Client{ID: "w", State: ClientState{open: context.Background()}, Net: ClientConnection{Listener: "tcp"}}
		for !stop.Load() {
			cl.Add(w)
			cl.Delete(w.ID)
			n++
		}
		writes <- n
	}()
	var calls atomic.Int64
	done := make(chan struct{})
	go func() {
		for calls.Load() < 100000 && !stop.Load() {
			if len(cl.GetByListener("tcp")) < 3 {
				panic("clients missing")
			}
			calls.Add(1)
		}
		close(done)
	}()
	select {
	case <-done:
		stop.Store(true)
		t.Logf("%d calls beside %d writes", calls.Load(), <-writes)
	case <-time.After(10 * time.Second):
		t.Fatalf("GetByListener deadlocked after %d calls, with a writer waiting between its read locks", calls.Load())
	}
}

package proxy

import "testing"

// TestProxyQueueDropsDeviceMessagesOnly: beyond MaxQueued waiting device
// messages, more are dropped (and counted); requests and TD changes are
// always queued.
func TestProxyQueueDropsDeviceMessagesOnly(t *testing.T) {
	p := New(Options{MaxQueued: 2}) // not started: nothing takes work off the queue
	ran := 0
	for range 3 {
		p.enqueue(func() { ran++ }, true)
		p.enqueue(func() { ran++ }, false)
	}
	if len(p.queue) != 5 || p.dropped != 1 || p.queued != 2 {
		t.Fatalf("queue %d, dropped %d, device messages waiting %d; want 5, 1, 2", len(p.queue), p.dropped, p.queued)
	}
	for _, fn := range p.queue {
		fn()
	}
	if ran != 5 || p.queued != 0 {
		t.Fatalf("ran %d, waiting %d; want 5, 0", ran, p.queued)
	}
	p.Close() // a proxy never started closes at once
}

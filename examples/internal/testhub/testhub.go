// Package testhub helps the examples' tests: it starts a wotmq hub in the
// test process (package hubtest, with its checks) and collects what an
// example prints. The examples
// themselves do not import it (nor package broker): they talk to a hub
// over the network like any device or app.
package testhub

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// Wait bounds every wait of the examples' tests.
const Wait = 15 * time.Second

// Start starts a development hub (hubtest.Start: clients from loopback
// need no credentials, MQTT over TCP on a free port of 127.0.0.1, every
// other listener off); edit, when given, may change its options (e.g.
// turn WebSocket on). The hub stops when the test ends.
func Start(t testing.TB, edit func(*hub.Options)) *hub.Hub {
	t.Helper()
	if edit == nil {
		return hubtest.Start(t)
	}
	return hubtest.Start(t, edit)
}

// URL is the hub's MQTT URL, for an example's -broker flag.
func URL(h *hub.Hub) string { return hubtest.URL(h) }

// Connect connects an SDK client to the hub (hubtest.Connect), closed
// when the test ends.
func Connect(t testing.TB, h *hub.Hub, clientID string) *wot.Client {
	t.Helper()
	return hubtest.Connect(t, URL(h), clientID, func(o *wot.Options) { o.Timeout = Wait })
}

// Run runs an example's run function on a goroutine until the test ends:
// then it cancels its context and checks that it returned nil in time.
func Run(t testing.TB, run func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(Wait):
			t.Error("run did not return after its context was cancelled")
		}
	})
}

// Output collects what an example prints; its methods may be called
// concurrently.
type Output struct {
	mu   sync.Mutex
	buf  strings.Builder
	wake chan struct{} // a token after each write
}

// NewOutput returns an empty Output.
func NewOutput() *Output { return &Output{wake: make(chan struct{}, 1)} }

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.buf.Write(p)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// String is everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// WaitFor waits until the output holds every one of lines (each a whole
// line or part of one), and fails the test after Wait.
func (o *Output) WaitFor(t testing.TB, lines ...string) {
	t.Helper()
	deadline := time.NewTimer(Wait)
	defer deadline.Stop()
	for {
		missing := ""
		out := o.String()
		for _, s := range lines {
			if !strings.Contains(out, s) {
				missing = s
				break
			}
		}
		if missing == "" {
			return
		}
		select {
		case <-o.wake:
		case <-deadline.C:
			t.Fatalf("the output has no %q after %v:\n%s", missing, Wait, out)
		}
	}
}

package hubtest

import (
	"context"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/hub"
)

// Timeout bounds every wait of this package: generous, so that a test
// that is merely slow on a loaded machine (two shared cores, the race
// detector) does not fail.
const Timeout = 30 * time.Second

// label is the pprof label that marks the goroutines of each hub Start
// started (the value is the hub's number): goroutines inherit their
// creator's labels, so the listeners', connections' and Badger's carry it.
const label = "wotmq-hubtest"

var started atomic.Int64 // numbers the hubs

// Start starts a hub for the test and returns it serving: MQTT over TCP
// on 127.0.0.1:0, every other listener off (TLS, HTTPS and secure
// WebSocket on 127.0.0.1:0 once an option sets Options.TLS), data in
// tb.TempDir(), Dev on (loopback clients need no credentials), requests
// swept every 10 ms, forms naming 127.0.0.1, and the log through tb at
// warn level. opts change these in order.
//
// When the test ends, the hub is closed and the invariants are checked
// (see the package documentation); a test that closed the hub itself is
// checked too. Start fails the test when the hub does not start.
func Start(tb testing.TB, opts ...func(*hub.Options)) *hub.Hub {
	tb.Helper()
	log := zerolog.New(zerolog.NewTestWriter(tb)).Level(zerolog.WarnLevel)
	dir := tb.TempDir()
	// As an operator would keep it; the hub warns about (and tightens) a
	// directory that others may read.
	if err := os.Chmod(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	o := hub.Options{
		TCPAddr:       "127.0.0.1:0",
		WSAddr:        "off",
		TLSAddr:       "127.0.0.1:0", // only with TLS set
		WSSAddr:       "127.0.0.1:0", // only with TLS set
		HTTPAddr:      "off",
		HTTPSAddr:     "127.0.0.1:0", // only with TLS set
		MetricsAddr:   "off",
		DataDir:       dir,
		PublicHost:    "127.0.0.1",
		Dev:           true,
		SweepInterval: 10 * time.Millisecond,
		Logger:        &log,
	}
	for _, f := range opts {
		f(&o)
	}
	n := strconv.FormatInt(started.Add(1), 10)
	var h *hub.Hub
	var err error
	pprof.Do(context.Background(), pprof.Labels(label, n), func(ctx context.Context) {
		if h, err = hub.New(o); err != nil {
			return
		}
		if err = h.Start(ctx); err != nil {
			h.Close()
		}
	})
	if err != nil {
		tb.Fatalf("hubtest: start hub: %v", err)
	}
	skips.started(tb)
	tb.Cleanup(func() {
		defer skips.ended(tb)
		if err := h.Close(); err != nil {
			tb.Errorf("hubtest: close hub: %v", err)
		}
		if why, ok := skips.reason(tb); ok {
			tb.Logf("hubtest: invariants not checked: %s", why)
			return
		}
		if left := goroutinesLeft(n); left != "" {
			tb.Errorf("hubtest: goroutines of the hub still running %v after Close:\n%s", Timeout/3, left)
		}
		if err := checkStore(context.Background(), o.DataDir); err != nil {
			tb.Errorf("hubtest: store %s after Close:\n%v", o.DataDir, err)
		}
	})
	return h
}

// SkipInvariants turns the invariant checks off for the hubs tb starts
// and has started: for a test that leaves what they would report on
// purpose (a crash image, a request it strands). why is logged.
func SkipInvariants(tb testing.TB, why string) {
	tb.Helper()
	if why == "" {
		tb.Fatal("hubtest: SkipInvariants needs a reason")
	}
	skips.skip(tb, why)
}

// skips holds the reasons given to SkipInvariants until the last hub of
// their test was checked.
var skips = skipSet{why: map[testing.TB]string{}, hubs: map[testing.TB]int{}}

type skipSet struct {
	mu   sync.Mutex
	why  map[testing.TB]string
	hubs map[testing.TB]int // hubs started and not yet checked
}

func (s *skipSet) skip(tb testing.TB, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.why[tb]; !ok && s.hubs[tb] == 0 {
		// No hub yet: forget the reason when the test ends, unless a hub
		// started meanwhile (then its check forgets it).
		tb.Cleanup(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.hubs[tb] == 0 {
				delete(s.why, tb)
			}
		})
	}
	s.why[tb] = why
}

func (s *skipSet) started(tb testing.TB) {
	s.mu.Lock()
	s.hubs[tb]++
	s.mu.Unlock()
}

func (s *skipSet) ended(tb testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hubs[tb]--; s.hubs[tb] <= 0 {
		delete(s.hubs, tb)
		delete(s.why, tb)
	}
}

func (s *skipSet) reason(tb testing.TB) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	why, ok := s.why[tb]
	return why, ok
}

// URL is the mqtt:// URL of the hub's MQTT over TCP listener.
func URL(h *hub.Hub) string { return "mqtt://" + h.MQTTAddr() }

// HTTPURL is the base URL of the hub's HTTP listener (turned on with
// Options.HTTPAddr = "127.0.0.1:0"); "" when it has none.
func HTTPURL(h *hub.Hub) string {
	if h.HTTPAddr() == "" {
		return ""
	}
	return "http://" + h.HTTPAddr()
}

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test when it still does not after Timeout; what says what was awaited.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("hubtest: no %s within %v", what, Timeout)
		}
		<-tick.C
	}
}

package rtc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/wot"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestSetupRatePerPeerBounded has a consumer start sessions faster than
// the Listener's MaxSetupsPerMinute: the offer beyond it is refused with
// quota although no session is open, another consumer is not held back,
// and once the window moved on (a clock the test moves) the first
// consumer opens again.
func TestSetupRatePerPeerBounded(t *testing.T) {
	h := startHub(t)
	agent := connect(t, h, "rate-agent")
	thing := expose(t, agent, "urn:t:rated")
	opts := loopback()
	opts.MaxSetupsPerMinute = 2
	l, err := Serve(thing, opts, func(*Channel) {})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l.mu.Lock()
	l.now = clock.now
	l.mu.Unlock()

	app := connect(t, h, "hasty-app")
	open := func(c *wot.Client, name string) error {
		ch, err := Open(context.Background(), c, "urn:t:rated", name, loopback())
		if err == nil {
			ch.Close() // closed at once: only the rate can refuse
		}
		return err
	}
	for i, name := range []string{"one", "two"} {
		if err := open(app, name); err != nil {
			t.Fatalf("session %d within the rate: %v", i+1, err)
		}
		clock.advance(10 * time.Second)
	}
	err = open(app, "three")
	var we *wot.Error
	if !errors.Is(err, wot.ErrBusy) || !errors.As(err, &we) || we.Code != wot.CodeQuota {
		t.Fatalf("third session in a minute: %v, want quota", err)
	}
	if !strings.Contains(err.Error(), "in the last minute") {
		t.Errorf("refusal without its reason: %v", err)
	}
	if err := open(connect(t, h, "calm-app"), "theirs"); err != nil {
		t.Fatalf("another consumer: %v", err)
	}
	clock.advance(45 * time.Second) // "one" leaves the window, "two" not yet
	if err := open(app, "four"); err != nil {
		t.Fatalf("after the first setup left the window: %v", err)
	}
	err = open(app, "five")
	if !errors.As(err, &we) || we.Code != wot.CodeQuota {
		t.Fatalf("fifth session: %v, want quota", err)
	}

	t.Run("Unbounded", func(t *testing.T) {
		thing := expose(t, agent, "urn:t:unrated")
		opts := loopback()
		opts.MaxSetupsPerMinute = -1
		l, err := Serve(thing, opts, func(*Channel) {})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		for i := range 3 {
			ch, err := Open(context.Background(), app, "urn:t:unrated", "s", loopback())
			if err != nil {
				t.Fatalf("session %d: %v", i+1, err)
			}
			ch.Close()
		}
	})
}

func TestSetupRateDefault(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxSetupsPerMinute != DefaultMaxSetupsPerMinute {
		t.Errorf("MaxSetupsPerMinute %d, want %d", o.MaxSetupsPerMinute, DefaultMaxSetupsPerMinute)
	}
}

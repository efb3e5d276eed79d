package storetest

import (
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
)

// The store contracts are the twin core's (package twin).
type (
	Directory = twin.Directory
	Presence  = twin.Presence
	Outbox    = twin.Outbox
	Inbox     = twin.Inbox
)

// Stores is one opening of a backend's stores. A nil store is skipped by
// the suite (a backend that has not got it yet). Close closes them all.
type Stores struct {
	Directory Directory
	Presence  Presence
	Outbox    Outbox
	Inbox     Inbox
	Retained  Retained
	// Authz is the backend of the account store (authz.Store).
	Authz authz.Backend
	Close func()
}

// Config is what a test asks of the stores it opens.
type Config struct {
	// Now is the stores' clock.
	Now func() time.Time
	// MaxHistory is the outbox's per-Thing history cap (0: none).
	MaxHistory int
	// OutcomeRecall is the inbox's outcomes kept per affordance.
	OutcomeRecall int
}

// Opener opens a backend's stores. Every call of one Opener opens the same
// data: what an earlier opening wrote (and closed) is there.
type Opener func(t *testing.T, c Config) Stores

// Run runs the suite. newBackend returns an Opener on fresh, empty data;
// it is called once per test.
func Run(t *testing.T, newBackend func(t *testing.T) Opener) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Directory", testDirectory},
		{"Presence", testPresence},
		{"Outbox", testOutbox},
		{"OutboxHistoryPages", testOutboxPages},
		{"OutboxAt", testOutboxAt},
		{"OutboxSeq", testOutboxSeq},
		{"Inbox", testInbox},
		{"InboxReplace", testInboxReplace},
		{"InboxStaged", testInboxStaged},
		{"InboxDesired", testInboxDesired},
		{"Authz", testAuthz},
		{"AuthzUpdates", testAuthzUpdates},
		{"AuthzNodes", testAuthzNodes},
		{"OutboxRestore", testOutboxRestore},
		{"InboxRestore", testInboxRestore},
		{"Retained", testRetained},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newBackend(t)) })
	}
}

// open opens stores and closes them when the test ends, unless the test
// closed them first (reopen).
func open(t *testing.T, o Opener, c Config) *opened {
	t.Helper()
	s := o(t, c)
	op := &opened{Stores: s}
	t.Cleanup(op.close)
	return op
}

type opened struct {
	Stores
	closed bool
}

func (o *opened) close() {
	if !o.closed && o.Stores.Close != nil {
		o.closed = true
		o.Stores.Close()
	}
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func newClock() *clock                   { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/wire"
)

// Directory is what the twin core asks of the directory.
type Directory interface {
	Get(thingID string) (*directory.Entry, bool)
	List() []*directory.Entry
	Len() int
	Put(ctx context.Context, e *directory.Entry, raw []byte) (prev *directory.Entry, err error)
	Delete(ctx context.Context, thingID, agentID string) (*directory.Entry, error)
	ByAgent(agentID string) []*directory.Entry
	Reassign(ctx context.Context, thingID, agentID string) (*directory.Entry, error)
}

// Presence is what the twin core asks of the presence store.
type Presence interface {
	Set(ctx context.Context, thingID string, state wire.Presence, byAgent bool) (presence.Thing, bool, error)
	Get(ctx context.Context, thingID string) (presence.Thing, error)
	Delete(ctx context.Context, thingID string) error
	SetAgent(ctx context.Context, a presence.Agent) error
	GetAgent(ctx context.Context, id string) (presence.Agent, bool, error)
	Agents(ctx context.Context) ([]presence.Agent, error)
}

// Outbox is what the twin core and the HTTP binding ask of the outbox.
type Outbox interface {
	Append(ctx context.Context, rec outbox.Record, retain outbox.Retain) (outbox.Record, error)
	Latest(ctx context.Context, thingID string, kind wire.HistoryKind, name string) (outbox.Record, bool, error)
	LatestAll(ctx context.Context, thingID string, kind wire.HistoryKind) ([]outbox.Record, error)
	History(ctx context.Context, thingID string, f outbox.Filter, q wire.HistoryQuery) (wire.HistoryPage, error)
	DeleteThing(ctx context.Context, thingID string) error
	DeleteLatest(ctx context.Context, thingID string, kind wire.HistoryKind, keep func(name string) bool) error
}

// Inbox is what the twin core asks of the inbox.
type Inbox interface {
	DefaultExpiry() time.Duration
	Add(ctx context.Context, r *inbox.Request) error
	Replace(ctx context.Context, r *inbox.Request, old []string, e *wire.Error) ([]*inbox.Request, error)
	Get(ctx context.Context, id string) (*inbox.Request, error)
	Transition(ctx context.Context, id string, to wire.Status, output json.RawMessage, e *wire.Error) (*inbox.Request, error)
	Latest(ctx context.Context, thingID, op, name string) (*inbox.Request, error)
	LatestAll(ctx context.Context, thingID string) ([]*inbox.Request, error)
	Outcomes(ctx context.Context, thingID, op, name string) ([]*inbox.Request, error)
	DeleteThing(ctx context.Context, thingID string) error
	Queue(ctx context.Context, agentID string) ([]inbox.Entry, error)
	Unfinished(ctx context.Context, agentID string) ([]*inbox.Request, error)
	Outstanding(agentID string) (delivered int, pending bool)
	Pending(ctx context.Context, agentID string) ([]*inbox.Request, error)
	Len() int
	ExpiredBefore(ctx context.Context, t time.Time, limit int) ([]string, error)
	Counts() map[wire.Status]int
	SetDesired(ctx context.Context, thingID, name string, value json.RawMessage, actionID string) (inbox.Desired, error)
	ClearDesired(ctx context.Context, thingID, name, actionID string) (bool, error)
	DesiredAll(ctx context.Context, thingID string) ([]inbox.Desired, error)
	GetDesired(ctx context.Context, thingID, name string) (inbox.Desired, bool, error)
}

// Stores is one opening of a backend's stores. A nil store is skipped by
// the suite (a backend that has not got it yet). Close closes them all.
type Stores struct {
	Directory Directory
	Presence  Presence
	Outbox    Outbox
	Inbox     Inbox
	Close     func()
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
		{"Inbox", testInbox},
		{"InboxReplace", testInboxReplace},
		{"InboxDesired", testInboxDesired},
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

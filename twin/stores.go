package twin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/wire"
)

// The stores the core works on, as the hub's parts ask of them. Two
// backends implement them: the Badger stores of a single node (package
// directory, inbox, outbox, presence) and the JetStream stores of a
// cluster (package jetstore). Both pass one conformance suite (package
// storetest), which is what the contracts below mean: each method as
// documented on the Badger store of the same name.

// Directory is the set of registered Things (directory.Directory).
type Directory interface {
	Get(thingID string) (*directory.Entry, bool)
	List() []*directory.Entry
	Len() int
	Put(ctx context.Context, e *directory.Entry, raw []byte) (prev *directory.Entry, err error)
	Delete(ctx context.Context, thingID, agentID string) (*directory.Entry, error)
	ByAgent(agentID string) []*directory.Entry
	Reassign(ctx context.Context, thingID, agentID string) (*directory.Entry, error)
}

// Presence keeps whether Things and agents are reachable (presence.Store).
type Presence interface {
	Set(ctx context.Context, thingID string, state wire.Presence, byAgent bool) (presence.Thing, bool, error)
	Get(ctx context.Context, thingID string) (presence.Thing, error)
	Delete(ctx context.Context, thingID string) error
	SetAgent(ctx context.Context, a presence.Agent) error
	GetAgent(ctx context.Context, id string) (presence.Agent, bool, error)
	Agents(ctx context.Context) ([]presence.Agent, error)
}

// Outbox keeps latest values and history (outbox.Store).
type Outbox interface {
	Append(ctx context.Context, rec outbox.Record, retain outbox.Retain) (outbox.Record, error)
	AppendLater(ctx context.Context, rec outbox.Record, retain outbox.Retain) (wait func() (outbox.Record, error))
	// LastSeq is the newest Record.Seq stored for a Thing (0: none).
	LastSeq(ctx context.Context, thingID string) (uint64, error)
	Latest(ctx context.Context, thingID string, kind wire.HistoryKind, name string) (outbox.Record, bool, error)
	LatestAll(ctx context.Context, thingID string, kind wire.HistoryKind) ([]outbox.Record, error)
	History(ctx context.Context, thingID string, f outbox.Filter, q wire.HistoryQuery) (wire.HistoryPage, error)
	PropertiesAt(ctx context.Context, thingID string, at time.Time, names []string) ([]outbox.Record, error)
	Recent(ctx context.Context, thingID string, f outbox.Filter, n int) ([]outbox.Record, error)
	DeleteThing(ctx context.Context, thingID string) error
	DeleteLatest(ctx context.Context, thingID string, kind wire.HistoryKind, keep func(name string) bool) error
	// Trimmed counts the history records the per-Thing cap removed (for
	// the metrics; 0 where the backend does not count them).
	Trimmed() uint64
}

// Inbox keeps requests and their progress (inbox.Store).
type Inbox interface {
	DefaultExpiry() time.Duration
	Add(ctx context.Context, r *inbox.Request) error
	Replace(ctx context.Context, r *inbox.Request, old []string, e *wire.Error) ([]*inbox.Request, error)
	// ReplaceLater and TransitionLater are Replace and Transition with
	// the change visible at once and its commit awaited by the returned
	// Commit (inbox/stage.go); a backend that commits as it goes returns a
	// nil Commit: nothing left to wait for.
	ReplaceLater(ctx context.Context, r *inbox.Request, old []string, e *wire.Error) ([]*inbox.Request, inbox.Commit, error)
	TransitionLater(ctx context.Context, id string, to wire.Status, output json.RawMessage, e *wire.Error) (*inbox.Request, inbox.Commit, error)
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

// The Badger stores are the default backend.
var (
	_ Directory = (*directory.Directory)(nil)
	_ Presence  = (*presence.Store)(nil)
	_ Outbox    = (*outbox.Store)(nil)
	_ Inbox     = (*inbox.Store)(nil)
)

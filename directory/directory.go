package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/td"
)

// Errors returned by the directory.
var (
	ErrNotFound = errors.New("directory: thing not found")
	ErrNotOwner = errors.New("directory: thing belongs to another agent")
)

const prefixThing = "dir/t/"

// Entry is one registered Thing.
type Entry struct {
	ThingID string
	AgentID string
	// TD is the agent's Thing Description as validated; do not modify.
	TD      *td.Thing
	Updated time.Time
}

type record struct {
	Agent   string          `json:"agent"`
	Updated time.Time       `json:"updated"`
	TD      json.RawMessage `json:"td"`
}

// Directory is the set of registered Things.
type Directory struct {
	db *badger.DB

	mu      sync.RWMutex
	things  map[string]*Entry
	byAgent map[string]map[string]*Entry // agent ID -> Thing ID -> entry
}

// set records e under its Thing and its agent, replacing the entry the
// Thing had. The caller holds mu.
func (d *Directory) set(e *Entry) {
	if prev, ok := d.things[e.ThingID]; ok {
		d.unset(prev)
	}
	d.things[e.ThingID] = e
	m := d.byAgent[e.AgentID]
	if m == nil {
		m = make(map[string]*Entry)
		d.byAgent[e.AgentID] = m
	}
	m[e.ThingID] = e
}

// unset forgets e. The caller holds mu.
func (d *Directory) unset(e *Entry) {
	delete(d.things, e.ThingID)
	if m := d.byAgent[e.AgentID]; m != nil {
		delete(m, e.ThingID)
		if len(m) == 0 {
			delete(d.byAgent, e.AgentID)
		}
	}
}

// Open loads the directory stored in db.
func Open(ctx context.Context, db *badger.DB) (*Directory, error) {
	d := &Directory{db: db, things: make(map[string]*Entry), byAgent: make(map[string]map[string]*Entry)}
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixThing), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			id := string(it.Item().Key()[len(prefixThing):])
			var rec record
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
				return fmt.Errorf("directory: decode %s: %w", id, err)
			}
			t, err := td.Parse(rec.TD)
			if err != nil {
				return fmt.Errorf("directory: decode TD of %s: %w", id, err)
			}
			d.set(&Entry{ThingID: id, AgentID: rec.Agent, TD: t, Updated: rec.Updated})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Get returns the entry of a Thing.
func (d *Directory) Get(thingID string) (*Entry, bool) {
	d.mu.RLock()
	e, ok := d.things[thingID]
	d.mu.RUnlock()
	return e, ok
}

// List returns every entry, ordered by Thing ID.
func (d *Directory) List() []*Entry {
	d.mu.RLock()
	out := make([]*Entry, 0, len(d.things))
	for _, e := range d.things {
		out = append(out, e)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ThingID < out[j].ThingID })
	return out
}

// Len is the number of registered Things.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.things)
}

// Put registers or replaces the TD of a Thing for agentID. raw is the TD's
// JSON encoding as stored. It fails with ErrNotOwner if another agent owns
// the Thing. It returns the previous entry, if any.
func (d *Directory) Put(ctx context.Context, e *Entry, raw []byte) (prev *Entry, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	prev = d.things[e.ThingID]
	if prev != nil && prev.AgentID != e.AgentID {
		return prev, fmt.Errorf("%w: %s is owned by %s", ErrNotOwner, e.ThingID, prev.AgentID)
	}
	val, err := json.Marshal(record{Agent: e.AgentID, Updated: e.Updated, TD: raw})
	if err != nil {
		return prev, fmt.Errorf("directory: encode %s: %w", e.ThingID, err)
	}
	err = d.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(prefixThing+e.ThingID), val) })
	if err != nil {
		return prev, fmt.Errorf("directory: store %s: %w", e.ThingID, err)
	}
	d.set(e)
	return prev, nil
}

// Delete removes a Thing registered by agentID and returns its entry.
func (d *Directory) Delete(ctx context.Context, thingID, agentID string) (*Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.things[thingID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, thingID)
	}
	if e.AgentID != agentID {
		return e, fmt.Errorf("%w: %s is owned by %s", ErrNotOwner, thingID, e.AgentID)
	}
	err := d.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(prefixThing + thingID)) })
	if err != nil {
		return e, fmt.Errorf("directory: delete %s: %w", thingID, err)
	}
	d.unset(e)
	return e, nil
}

// ByAgent returns the entries an agent registered, ordered by Thing ID.
// Its cost follows the agent's Things, not the directory's size: it runs
// at every connect and disconnect of an agent.
func (d *Directory) ByAgent(agentID string) []*Entry {
	d.mu.RLock()
	var out []*Entry
	for _, e := range d.byAgent[agentID] {
		out = append(out, e)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ThingID < out[j].ThingID })
	return out
}

// Reassign gives a registered Thing to another agent and returns the
// previous entry.
func (d *Directory) Reassign(ctx context.Context, thingID, agentID string) (*Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.things[thingID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, thingID)
	}
	raw, err := json.Marshal(e.TD)
	if err != nil {
		return e, err
	}
	n := *e
	n.AgentID = agentID
	val, err := json.Marshal(record{Agent: agentID, Updated: e.Updated, TD: raw})
	if err != nil {
		return e, err
	}
	if err := d.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(prefixThing+thingID), val) }); err != nil {
		return e, fmt.Errorf("directory: reassign %s: %w", thingID, err)
	}
	d.set(&n)
	return e, nil
}

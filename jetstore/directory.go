package jetstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/td"
)

// Directory is directory.Directory in the KV bucket DIR. Every instance
// watches the bucket, so what any node registers is in every node's
// in-memory copy (Get, List, ByAgent read only memory, as on Badger).
// Writes check ownership against the stored record, by compare-and-set,
// not against memory: two nodes racing for one Thing cannot both win.
type Directory struct {
	kv  jetstream.KeyValue
	o   Options
	w   jetstream.KeyWatcher
	mu  sync.RWMutex
	rev map[string]uint64 // newest revision applied, by Thing (deletions too)

	things  map[string]*directory.Entry
	byAgent map[string]map[string]*directory.Entry

	changed chan struct{} // closed and replaced at every applied change
	done    chan struct{}
}

type dirRecord struct {
	Thing   string          `json:"thing"`
	Agent   string          `json:"agent"`
	Updated time.Time       `json:"updated"`
	TD      json.RawMessage `json:"td"`
}

// OpenDirectory opens the directory and returns once its in-memory copy
// holds every stored entry.
func OpenDirectory(ctx context.Context, o Options) (*Directory, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	kv, err := bucket(ctx, o, "DIR")
	if err != nil {
		return nil, err
	}
	d := &Directory{kv: kv, o: o, rev: map[string]uint64{}, things: map[string]*directory.Entry{},
		byAgent: map[string]map[string]*directory.Entry{}, changed: make(chan struct{}), done: make(chan struct{})}
	// The watcher outlives ctx (which bounds the opening only).
	w, err := kv.WatchAll(context.Background())
	if err != nil {
		return nil, fmt.Errorf("jetstore: watch directory: %w", err)
	}
	d.w = w
	for e := range w.Updates() {
		if e == nil { // the initial values are all in
			break
		}
		d.applyWatched(e)
	}
	go d.watch()
	return d, nil
}

func (d *Directory) watch() {
	defer close(d.done)
	for e := range d.w.Updates() {
		if e != nil {
			d.applyWatched(e)
		}
	}
}

// Close stops the watcher.
func (d *Directory) Close() error {
	err := d.w.Stop()
	<-d.done
	return err
}

func (d *Directory) applyWatched(e jetstream.KeyValueEntry) {
	id, err := dec(e.Key())
	if err != nil {
		d.o.Log.Warn().Str("key", e.Key()).Msg("directory: a key that is no Thing ID")
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		d.apply(id, nil, e.Revision())
		return
	}
	ent, err := decodeDirRecord(e.Value())
	if err != nil {
		d.o.Log.Error().Err(err).Str("thing", id).Msg("directory: a stored TD does not decode; left out")
		return
	}
	d.apply(id, ent, e.Revision())
}

func decodeDirRecord(v []byte) (*directory.Entry, error) {
	var rec dirRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, err
	}
	t, err := td.Parse(rec.TD)
	if err != nil {
		return nil, err
	}
	return &directory.Entry{ThingID: rec.Thing, AgentID: rec.Agent, TD: t, Updated: rec.Updated}, nil
}

// apply sets (e != nil) or removes a Thing at revision rev, unless a newer
// revision of it was applied already (a write's own result and the
// watcher's copy of it arrive in either order).
func (d *Directory) apply(id string, e *directory.Entry, rev uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if rev <= d.rev[id] {
		return
	}
	d.rev[id] = rev
	if prev, ok := d.things[id]; ok {
		delete(d.things, id)
		if m := d.byAgent[prev.AgentID]; m != nil {
			delete(m, id)
			if len(m) == 0 {
				delete(d.byAgent, prev.AgentID)
			}
		}
	}
	if e != nil {
		d.things[id] = e
		m := d.byAgent[e.AgentID]
		if m == nil {
			m = map[string]*directory.Entry{}
			d.byAgent[e.AgentID] = m
		}
		m[id] = e
	}
	close(d.changed)
	d.changed = make(chan struct{})
}

// Get returns the entry of a Thing.
func (d *Directory) Get(thingID string) (*directory.Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.things[thingID]
	return e, ok
}

// List returns every entry, ordered by Thing ID.
func (d *Directory) List() []*directory.Entry {
	d.mu.RLock()
	out := make([]*directory.Entry, 0, len(d.things))
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

// ByAgent returns the entries an agent registered, ordered by Thing ID.
func (d *Directory) ByAgent(agentID string) []*directory.Entry {
	d.mu.RLock()
	var out []*directory.Entry
	for _, e := range d.byAgent[agentID] {
		out = append(out, e)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ThingID < out[j].ThingID })
	return out
}

// Put registers or replaces the TD of a Thing for e.AgentID; it fails with
// directory.ErrNotOwner when another agent owns the Thing. It returns the
// previous entry, if any.
func (d *Directory) Put(ctx context.Context, e *directory.Entry, raw []byte) (*directory.Entry, error) {
	val, err := json.Marshal(dirRecord{Thing: e.ThingID, Agent: e.AgentID, Updated: e.Updated, TD: raw})
	if err != nil {
		return nil, fmt.Errorf("directory: encode %s: %w", e.ThingID, err)
	}
	var prev *directory.Entry
	rev, err := kvUpdate(ctx, d.o, d.kv, enc(e.ThingID), func(cur []byte) ([]byte, bool, bool, error) {
		prev = nil
		if cur != nil {
			p, err := decodeDirRecord(cur)
			if err != nil {
				return nil, false, false, fmt.Errorf("directory: decode %s: %w", e.ThingID, err)
			}
			prev = p
			if p.AgentID != e.AgentID {
				return nil, false, false, fmt.Errorf("%w: %s is owned by %s", directory.ErrNotOwner, e.ThingID, p.AgentID)
			}
		}
		return val, false, false, nil
	})
	if err != nil {
		if errors.Is(err, directory.ErrNotOwner) {
			return prev, err
		}
		return prev, fmt.Errorf("directory: store %s: %w", e.ThingID, err)
	}
	d.apply(e.ThingID, e, rev)
	return prev, nil
}

// Delete removes a Thing registered by agentID and returns its entry.
func (d *Directory) Delete(ctx context.Context, thingID, agentID string) (*directory.Entry, error) {
	var prev *directory.Entry
	rev, err := d.change(ctx, thingID, func(cur *directory.Entry) (*directory.Entry, error) {
		prev = cur
		if cur.AgentID != agentID {
			return nil, fmt.Errorf("%w: %s is owned by %s", directory.ErrNotOwner, thingID, cur.AgentID)
		}
		return nil, nil
	})
	if err != nil {
		return prev, err
	}
	d.apply(thingID, nil, rev)
	return prev, nil
}

// Reassign gives a registered Thing to another agent and returns the
// previous entry.
func (d *Directory) Reassign(ctx context.Context, thingID, agentID string) (*directory.Entry, error) {
	var prev, next *directory.Entry
	rev, err := d.change(ctx, thingID, func(cur *directory.Entry) (*directory.Entry, error) {
		prev = cur
		n := *cur
		n.AgentID = agentID
		next = &n
		return next, nil
	})
	if err != nil {
		return prev, err
	}
	d.apply(thingID, next, rev)
	return prev, nil
}

// change is a compare-and-set on a registered Thing: f gets the stored
// entry and returns the next one (nil deletes it). It returns the
// revision written (for a deletion, the tombstone's).
func (d *Directory) change(ctx context.Context, thingID string, f func(cur *directory.Entry) (*directory.Entry, error)) (uint64, error) {
	key := enc(thingID)
	var rev uint64
	err := casLoop(ctx, d.o, func() error {
		ke, err := d.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, known := d.Get(thingID); known {
				return errStaleRead // registered here: the replica that answered is behind
			}
			return fmt.Errorf("%w: %s", directory.ErrNotFound, thingID)
		}
		if err != nil {
			return err
		}
		cur, err := decodeDirRecord(ke.Value())
		if err != nil {
			return fmt.Errorf("directory: decode %s: %w", thingID, err)
		}
		next, err := f(cur)
		if err != nil {
			return err
		}
		if next == nil {
			if err := d.kv.Delete(ctx, key, jetstream.LastRevision(ke.Revision())); err != nil {
				return err
			}
			// The tombstone's revision is not returned; the watcher
			// applies it. Memory forgets the Thing now at the entry's
			// revision + 1, which the tombstone's is at least.
			rev = ke.Revision() + 1
			return nil
		}
		raw, err := json.Marshal(next.TD)
		if err != nil {
			return err
		}
		val, err := json.Marshal(dirRecord{Thing: thingID, Agent: next.AgentID, Updated: next.Updated, TD: raw})
		if err != nil {
			return err
		}
		rev, err = d.kv.Update(ctx, key, val, ke.Revision())
		return err
	})
	if err != nil && !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, directory.ErrNotOwner) {
		err = fmt.Errorf("directory: %s: %w", thingID, err)
	}
	return rev, err
}

package jetstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/wire"
)

// Presence is presence.Store in the KV bucket PRESENCE: t.<thing> and
// a.<agent>. A Thing's transitions are compare-and-set on the key's
// revision, so the sequence numbers stay one above the last across the
// cluster, whichever node writes.
type Presence struct {
	kv jetstream.KeyValue
	o  Options
}

// OpenPresence opens the presence store.
func OpenPresence(ctx context.Context, o Options) (*Presence, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	kv, err := bucket(ctx, o, "PRESENCE")
	if err != nil {
		return nil, err
	}
	return &Presence{kv: kv, o: o}, nil
}

// Set records a Thing's state and reports whether it changed; a state
// equal to the current one changes nothing (but byAgent sticks).
func (p *Presence) Set(ctx context.Context, thingID string, state wire.Presence, byAgent bool) (presence.Thing, bool, error) {
	var cur presence.Thing
	changed := false
	_, err := kvUpdate(ctx, p.o, p.kv, "t."+enc(thingID), func(v []byte) ([]byte, bool, bool, error) {
		cur, changed = presence.Thing{}, false
		if v != nil {
			if err := json.Unmarshal(v, &cur); err != nil {
				return nil, false, false, err
			}
		}
		if cur.State == state && cur.Seq > 0 {
			if cur.ByAgent || !byAgent {
				return nil, false, true, nil
			}
			cur.ByAgent = true
		} else {
			cur = presence.Thing{State: state, Since: p.o.Now().UTC(), Seq: cur.Seq + 1, ByAgent: byAgent}
			changed = true
		}
		b, err := json.Marshal(cur)
		return b, false, false, err
	})
	if err != nil {
		return cur, false, fmt.Errorf("presence: set %s: %w", thingID, err)
	}
	return cur, changed, nil
}

// Get returns a Thing's presence; the zero Thing when none is known.
func (p *Presence) Get(ctx context.Context, thingID string) (presence.Thing, error) {
	var t presence.Thing
	_, err := p.get(ctx, "t."+enc(thingID), &t)
	return t, err
}

func (p *Presence) get(ctx context.Context, key string, v any) (bool, error) {
	e, err := p.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("presence: %w", err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return false, fmt.Errorf("presence: decode %s: %w", key, err)
	}
	return true, nil
}

// Delete forgets a Thing's presence. The sequence is lost with it, as on
// Badger.
func (p *Presence) Delete(ctx context.Context, thingID string) error {
	err := retry(ctx, p.o, func() error { return p.kv.Delete(ctx, "t."+enc(thingID)) })
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("presence: delete %s: %w", thingID, err)
	}
	return nil
}

// SetAgent records an agent's connection state.
func (p *Presence) SetAgent(ctx context.Context, a presence.Agent) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := retry(ctx, p.o, func() error { _, err := p.kv.Put(ctx, "a."+enc(a.ID), b); return err }); err != nil {
		return fmt.Errorf("presence: agent %s: %w", a.ID, err)
	}
	return nil
}

// GetAgent returns what is known of an agent.
func (p *Presence) GetAgent(ctx context.Context, id string) (presence.Agent, bool, error) {
	var a presence.Agent
	ok, err := p.get(ctx, "a."+enc(id), &a)
	return a, ok, err
}

// Agents returns every agent the hub has seen, ordered by ID.
func (p *Presence) Agents(ctx context.Context) ([]presence.Agent, error) {
	lister, err := p.kv.ListKeysFiltered(ctx, "a.>")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("presence: agents: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var out []presence.Agent
	for _, k := range keys {
		var a presence.Agent
		ok, err := p.get(ctx, k, &a)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, a)
		}
	}
	sortAgents(out)
	return out, nil
}

func sortAgents(as []presence.Agent) {
	sort.Slice(as, func(i, j int) bool { return as[i].ID < as[j].ID })
}

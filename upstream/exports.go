package upstream

import (
	"context"
	"sort"

	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/wot"
)

// exported lists the edge's Things the bridge exports, by Thing ID.
func (b *Bridge) exported() []*directory.Entry {
	var out []*directory.Entry
	for _, e := range b.opts.Directory.List() {
		if b.exports(e) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ThingID < out[j].ThingID })
	return out
}

// syncExports registers at the cloud every exported Thing that is not, or
// whose TD changed, and deletes there those the edge deleted or no longer
// exports. The cloud answers a Thing ID another agent registered with
// denied: the Thing stays at the edge only (counted, logged).
func (b *Bridge) syncExports(ctx context.Context, c *wot.Client) {
	b.mu.Lock()
	changed := b.tdChanged || len(b.things) == 0
	b.tdChanged = false
	b.mu.Unlock()
	if !changed {
		return
	}
	want := map[string]*directory.Entry{}
	for _, e := range b.exported() {
		want[e.ThingID] = e
	}
	b.mu.Lock()
	var gone []*exported
	for id, ex := range b.things {
		if want[id] == nil {
			gone = append(gone, ex)
			delete(b.things, id)
		}
	}
	b.mu.Unlock()
	for _, ex := range gone {
		err := ex.thing.Destroy(ctx)
		switch {
		case err == nil:
			b.log.Info().Str("thing", ex.entry.ThingID).Msg("Thing no longer exported; deleted upstream")
		case skippable(err):
			b.log.Warn().Err(err).Str("thing", ex.entry.ThingID).Msg("cannot delete the Thing upstream")
		default: // the link: try again on the next pass
			b.mu.Lock()
			if b.things[ex.entry.ThingID] == nil {
				b.things[ex.entry.ThingID] = ex
			}
			b.tdChanged = true
			b.mu.Unlock()
			return
		}
	}
	for _, e := range want {
		b.mu.Lock()
		ex := b.things[e.ThingID]
		refused := b.refusedTD[e.ThingID] == e
		b.mu.Unlock()
		if ex != nil && ex.entry == e || refused {
			continue
		}
		if err := b.expose(ctx, c, e); err != nil {
			if !skippable(err) {
				b.mu.Lock()
				b.tdChanged = true // try again on the next pass
				b.mu.Unlock()
				return
			}
			b.mu.Lock()
			b.refusedTD[e.ThingID] = e
			b.mu.Unlock()
			b.clashes.Add(1)
			b.log.Warn().Err(err).Str("thing", e.ThingID).Msg("the upstream hub refused the Thing (another agent has its ID, or the TD is over its limits); it stays at the edge only")
		}
	}
}

// expose registers one Thing at the cloud with a handler for each of its
// actions and writable properties.
func (b *Bridge) expose(ctx context.Context, c *wot.Client, e *directory.Entry) error {
	t := e.TD // the agent's TD as the edge stored it; the cloud writes its own forms
	et, err := c.Produce(t)
	if err != nil {
		return err
	}
	for name := range t.Actions {
		et.HandleAction(name, b.handleRequest)
	}
	for name, p := range t.Properties {
		if !p.ReadOnly {
			et.HandleWrite(name, b.handleRequest)
		}
	}
	if err := et.Expose(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	b.things[e.ThingID] = &exported{entry: e, thing: et, presence: true}
	b.dirty[e.ThingID] = true // its backlog goes up in this pass
	b.mu.Unlock()
	b.log.Info().Str("thing", e.ThingID).Msg("Thing exported upstream")
	return nil
}

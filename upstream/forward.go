package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
	"github.com/wotmq/wotmq/wot"
)

// forward sends a Thing's history from the bridge's position on, in order,
// each record once: it is sent with its origin time and its edge cursor as
// seq, and the cloud stores a seq it has stored before no second time. So
// the position needs no exactness: it is saved after each page, and a
// crash between an acknowledgement and the save only sends a few records
// again, which the cloud acknowledges without storing them.
func (b *Bridge) forward(ctx context.Context, id string) error {
	b.mu.Lock()
	ex := b.things[id]
	b.mu.Unlock()
	if ex == nil {
		return nil
	}
	cur, err := b.position(ctx, id)
	if err != nil {
		return err
	}
	refused := 0 // logged once per call, not per record
	defer func() {
		if refused > 1 {
			b.log.Warn().Str("thing", id).Int("records", refused).Msg("the upstream hub refused records; skipped")
		}
	}()
	for {
		page, err := b.opts.Outbox.History(ctx, id, outbox.Filter{}, wire.HistoryQuery{Cursor: cur, Limit: pageSize})
		if err != nil {
			return err
		}
		upTo := ""
		if page.Next != "" {
			upTo = page.Items[len(page.Items)-1].Cursor
		}
		items, err := b.withLatestOnly(ctx, id, cur, upTo, page.Items)
		if err != nil {
			return err
		}
		sent := cur
		for _, it := range items {
			if err := b.send(ctx, ex, it); err != nil {
				if !skippable(err) {
					b.savePosition(ctx, id, sent)
					return err
				}
				b.refused.Add(1)
				if refused++; refused == 1 {
					b.log.Warn().Err(err).Str("thing", id).Str("name", it.Name).Str("cursor", it.Cursor).Msg("the upstream hub refused a record; skipped")
				}
			} else {
				b.forwarded.Add(1)
			}
			sent = it.Cursor
		}
		b.savePosition(ctx, id, sent)
		cur = sent
		if page.Next == "" {
			break
		}
	}
	b.mu.Lock()
	again := ex.presence
	ex.presence = false
	b.mu.Unlock()
	if again {
		// The cloud marks the Things of an agent that connects online; a
		// Thing asleep at the edge must say so again.
		p, err := b.opts.Presence.Get(ctx, id)
		if err == nil && p.State != "" {
			if err := ex.thing.SetPresence(ctx, wot.Presence(p.State)); err != nil && !skippable(err) {
				b.mu.Lock()
				ex.presence = true
				b.mu.Unlock()
				return err
			}
		}
	}
	return nil
}

// withLatestOnly merges into a page of history, in cursor order, the values
// of the Thing in (after, upTo] ("" upTo: no bound) that the edge keeps
// only as the latest value (affordances with "wotmq:retention": "0", or a
// --retention-override of 0): they have no history, so the newest of each
// goes up in its place among the rest.
func (b *Bridge) withLatestOnly(ctx context.Context, id, after, upTo string, items []wire.HistoryItem) ([]wire.HistoryItem, error) {
	latest, err := b.opts.Outbox.LatestAll(ctx, id, "")
	if err != nil {
		return nil, err
	}
	var extra []wire.HistoryItem
	for _, r := range latest {
		c := r.Cursor()
		if c <= after || upTo != "" && c > upTo {
			continue
		}
		kept, err := b.opts.Outbox.InHistory(ctx, id, c)
		if err != nil {
			return nil, err
		}
		if !kept {
			extra = append(extra, wire.HistoryItem{Kind: r.Kind, Name: r.Name, Value: r.Value, Time: r.When(), Sender: r.Sender, Cursor: c})
		}
	}
	if len(extra) == 0 {
		return items, nil
	}
	out := append(append(make([]wire.HistoryItem, 0, len(items)+len(extra)), items...), extra...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Cursor < out[j].Cursor })
	return out, nil
}

// send forwards one history record.
func (b *Bridge) send(ctx context.Context, ex *exported, it wire.HistoryItem) error {
	seq, err := outbox.CursorSeq(it.Cursor)
	if err != nil {
		return err
	}
	st := wot.Stamp{Time: it.Time, Seq: seq}
	switch {
	case it.Kind == wire.KindEvent && it.Name == twin.PresenceEvent && ex.entry.TD.Events[twin.PresenceEvent] == nil:
		// The edge's own presence event: the cloud keeps presence from the
		// agent's report (with its own time) and makes its own event of it.
		var p wire.PresenceState
		if err := json.Unmarshal(it.Value, &p); err != nil || !p.State.Valid() {
			return fmt.Errorf("%w: presence record %s of %s", wot.ErrInvalidInput, it.Cursor, ex.entry.ThingID)
		}
		return ex.thing.SetPresence(ctx, wot.Presence(p.State))
	case it.Kind == wire.KindEvent:
		return ex.thing.PublishEventStamped(ctx, it.Name, value(it.Value), st)
	default:
		return ex.thing.UpdatePropertyStamped(ctx, it.Name, value(it.Value), st)
	}
}

// value is a stored payload as the SDK sends it as it is (nil: an event
// without data).
func value(v json.RawMessage) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// position is the cursor after which the Thing's history has not been
// forwarded ("" for none yet).
func (b *Bridge) position(ctx context.Context, id string) (string, error) {
	b.mu.Lock()
	cur, ok := b.pos[id]
	b.mu.Unlock()
	if ok {
		return cur, nil
	}
	cur, err := b.opts.Outbox.Position(ctx, Reader, id)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.pos[id] = cur
	b.mu.Unlock()
	return cur, nil
}

// savePosition keeps the position in memory and in the store.
func (b *Bridge) savePosition(ctx context.Context, id, cur string) {
	b.mu.Lock()
	same := b.pos[id] == cur
	b.pos[id] = cur
	b.mu.Unlock()
	if same || cur == "" {
		return
	}
	if err := b.opts.Outbox.SetPosition(context.WithoutCancel(ctx), Reader, id, cur); err != nil {
		b.log.Error().Err(err).Str("thing", id).Msg("cannot save the upstream position; records may be sent again (the cloud stores them once)")
	}
}

// Trimmed is outbox.Options.OnTrim: it counts the records the edge's
// history cap deleted before they were forwarded.
func (b *Bridge) Trimmed(thingID string, cursors []string) {
	if e, ok := b.opts.Directory.Get(thingID); !ok || !b.exports(e) {
		return
	}
	b.mu.Lock()
	cur, ok := b.pos[thingID]
	b.mu.Unlock()
	if !ok {
		var err error
		if cur, err = b.opts.Outbox.Position(context.Background(), Reader, thingID); err != nil {
			return
		}
	}
	n := 0
	for _, c := range cursors {
		if c > cur { // cursors are fixed-width hex: text order is time order
			n++
		}
	}
	if n > 0 {
		b.dropped.Add(uint64(n))
		b.log.Warn().Str("thing", thingID).Int("records", n).Msg("the history cap dropped records not yet forwarded upstream")
	}
}

// Backlog counts the history records of the exported Things not yet
// forwarded (whether or not the link is up), reading keys only.
func (b *Bridge) Backlog(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for _, e := range b.exported() {
		id := e.ThingID
		cur, err := b.position(ctx, id)
		if err == nil {
			var n int
			n, err = b.opts.Outbox.CountAfter(ctx, id, cur)
			total += n
		}
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

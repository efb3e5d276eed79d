package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
	for {
		page, err := b.opts.Outbox.History(ctx, id, outbox.Filter{}, wire.HistoryQuery{Cursor: cur, Limit: pageSize})
		if err != nil {
			return err
		}
		sent := cur
		for _, it := range page.Items {
			if err := b.send(ctx, ex, it); err != nil {
				if !skippable(err) {
					b.savePosition(ctx, id, sent)
					return err
				}
				b.refused.Add(1)
				b.log.Warn().Err(err).Str("thing", id).Str("name", it.Name).Str("cursor", it.Cursor).Msg("the upstream hub refused a record; skipped")
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

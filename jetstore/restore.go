package jetstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
)

// Restore stores a record another store took with the time it has (see
// outbox.Store.Restore; `wotmq import`, package migrate). History is read
// in the stream's order: the caller restores a Thing's records oldest
// first and after the history stored for it. The message ID is the one
// Append gives, so a record restored twice within the stream's duplicate
// window is stored once.
func (b *Outbox) Restore(ctx context.Context, rec outbox.Record, retain outbox.Retain) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec.Time.IsZero() {
		return outbox.ErrNoTime
	}
	ts := nanos(rec.Time)
	b.mu.Lock()
	b.last = max(b.last, ts)
	b.mu.Unlock()
	h := histRecord{Kind: rec.Kind, Name: rec.Name, Sender: rec.Sender, Time: ts, Value: rec.Value}
	if !rec.Origin.IsZero() {
		h.Origin = rec.Origin.UnixNano()
	}
	val, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if retain != outbox.RetainNone {
		ttl := time.Duration(retain)
		if ttl <= 0 {
			ttl = b.retention
		}
		ttl = (ttl + time.Second - 1).Truncate(time.Second)
		msgID := fmt.Sprintf("%s/%d", b.o.Prefix, ts)
		if err := retry(ctx, b.o, func() error {
			_, err := b.o.JS.Publish(ctx, b.subject+enc(rec.ThingID), val, jetstream.WithMsgTTL(ttl), jetstream.WithMsgID(msgID))
			return err
		}); err != nil {
			return fmt.Errorf("outbox: restore %s/%s: %w", rec.ThingID, rec.Name, err)
		}
	}
	_, err = kvUpdate(ctx, b.o, b.latest, latestKey(rec.ThingID, rec.Kind, rec.Name), func(cur []byte) ([]byte, bool, bool, error) {
		if cur != nil {
			if c, err := decodeHist(rec.ThingID, cur); err == nil && nanos(c.Time) >= ts {
				return nil, false, true, nil // the stored value is as new or newer
			}
		}
		return val, false, false, nil
	})
	if err != nil {
		return fmt.Errorf("outbox: restore %s/%s: %w", rec.ThingID, rec.Name, err)
	}
	return nil
}

// Restore stores a request another store held, as it was: ID, status and
// times (see inbox.Store.Restore). A request already stored under its ID
// is kept as it is.
func (s *Inbox) Restore(ctx context.Context, r *inbox.Request) error {
	if r.ID == "" {
		return inbox.ErrNoID
	}
	if _, err := s.Get(ctx, r.ID); err == nil {
		return nil
	} else if err != nil && !errors.Is(err, inbox.ErrNotFound) {
		return err
	}
	s.noteID(r.ID)
	c := *r
	if r.Status.Final() {
		if err := s.finish(ctx, &c); err != nil {
			return err
		}
	} else {
		val, err := json.Marshal(&c)
		if err != nil {
			return err
		}
		var rev uint64
		if err := retry(ctx, s.o, func() error { var err error; rev, err = s.req.Put(ctx, r.ID, val); return err }); err != nil {
			return fmt.Errorf("inbox: restore %s: %w", r.ID, err)
		}
		s.apply(r.ID, &c, rev)
	}
	_, err := kvUpdate(ctx, s.o, s.latest, affordanceKey(r.ThingID, r.Op, r.Name), func(cur []byte) ([]byte, bool, bool, error) {
		if cur != nil && string(cur) >= r.ID {
			return nil, false, true, nil // a newer request is the latest
		}
		return []byte(r.ID), false, false, nil
	})
	if err != nil {
		return fmt.Errorf("inbox: restore %s: %w", r.ID, err)
	}
	return nil
}

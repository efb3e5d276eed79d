package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// What `wotmq import` (package migrate) writes with, beside the core's
// contracts: records and requests as another store held them.
type (
	// OutboxRestorer is outbox.Store.Restore.
	OutboxRestorer interface {
		Restore(ctx context.Context, rec outbox.Record, retain outbox.Retain) error
	}
	// InboxRestorer is inbox.Store.Restore.
	InboxRestorer interface {
		Restore(ctx context.Context, r *inbox.Request) error
	}
)

func testOutboxRestore(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	b, ok := open(t, o, Config{Now: c.now}).Outbox.(OutboxRestorer)
	if !ok {
		t.Skip("no outbox restore")
	}
	ob := b.(Outbox)
	then := c.now().Add(time.Hour) // later than the store's clock: Append must stamp after it
	var cursors []string
	for i := range 3 {
		rec := outbox.Record{Kind: wire.KindProperty, ThingID: "urn:t:r", Name: "p", Value: fmt.Appendf(nil, "%d", i),
			Sender: "agent", Time: then.Add(time.Duration(i) * time.Second)}
		if err := b.Restore(ctx, rec, outbox.RetainDefault); err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, rec.Cursor())
	}
	// An older value without history does not replace the latest one.
	if err := b.Restore(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "urn:t:r", Name: "p", Value: []byte(`9`), Time: then.Add(-time.Minute)}, outbox.RetainNone); err != nil {
		t.Fatal(err)
	}
	if err := b.Restore(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "urn:t:r", Name: "p"}, outbox.RetainNone); err == nil {
		t.Fatal("a record without its time was restored")
	}
	page, err := ob.History(ctx, "urn:t:r", outbox.Filter{}, wire.HistoryQuery{})
	if err != nil || len(page.Items) != 3 {
		t.Fatalf("History = %+v, %v", page, err)
	}
	for i, it := range page.Items {
		if it.Cursor != cursors[i] || string(it.Value) != fmt.Sprint(i) || it.Sender != "agent" {
			t.Fatalf("item %d = %+v, want cursor %s", i, it, cursors[i])
		}
	}
	page, err = ob.History(ctx, "urn:t:r", outbox.Filter{}, wire.HistoryQuery{Cursor: cursors[0]})
	if err != nil || len(page.Items) != 2 || page.Items[0].Cursor != cursors[1] {
		t.Fatalf("History after the first cursor = %+v, %v", page, err)
	}
	l, ok, err := ob.Latest(ctx, "urn:t:r", wire.KindProperty, "p")
	if err != nil || !ok || string(l.Value) != "2" {
		t.Fatalf("Latest = %+v, %v, %v", l, ok, err)
	}
	rec, err := ob.Append(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "urn:t:r", Name: "p", Value: []byte(`3`)}, outbox.RetainDefault)
	if err != nil || rec.Cursor() <= cursors[2] {
		t.Fatalf("Append after Restore: cursor %s not after %s (%v)", rec.Cursor(), cursors[2], err)
	}
}

func testInboxRestore(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	s := open(t, o, Config{Now: c.now, OutcomeRecall: 3})
	r, ok := s.Inbox.(InboxRestorer)
	if !ok {
		t.Skip("no inbox restore")
	}
	in := s.Inbox
	then := c.now().Add(time.Hour)
	id := func(d time.Duration) string { return fmt.Sprintf("%016x", then.Add(d).UnixNano()) }
	open := request("urn:t:r", "agent-r", "go")
	open.ID, open.Status, open.Deliveries = id(0), wire.StatusDelivered, 2
	open.Requested, open.Updated, open.Expires = then, then.Add(time.Second), then.Add(24*time.Hour)
	done := request("urn:t:r", "agent-r", "stop")
	done.ID, done.Status, done.Output = id(-time.Minute), wire.StatusCompleted, json.RawMessage(`7`)
	done.Requested, done.Updated, done.Expires = then.Add(-time.Minute), then.Add(-time.Second), then.Add(24*time.Hour)
	for range 2 { // the second time changes nothing
		for _, q := range []*inbox.Request{open, done} {
			c := *q
			if err := r.Restore(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
	}
	g, err := in.Get(ctx, open.ID)
	if err != nil || g.Status != wire.StatusDelivered || g.Deliveries != 2 || !g.Requested.Equal(then) || g.ReplyTo != "r/x" {
		t.Fatalf("Get = %+v, %v", g, err)
	}
	q, err := in.Queue(ctx, "agent-r")
	if err != nil || len(q) != 1 || q[0].ID != open.ID {
		t.Fatalf("Queue = %+v, %v", q, err)
	}
	outs, err := in.Outcomes(ctx, "urn:t:r", wire.OpInvokeAction, "stop")
	if err != nil || len(outs) != 1 || outs[0].ID != done.ID || string(outs[0].Output) != "7" {
		t.Fatalf("Outcomes = %+v, %v", outs, err)
	}
	if l, err := in.Latest(ctx, "urn:t:r", wire.OpInvokeAction, "go"); err != nil || l == nil || l.ID != open.ID {
		t.Fatalf("Latest = %+v, %v", l, err)
	}
	// An older copy of a request does not undo what happened to it since.
	if _, err := in.Transition(ctx, open.ID, wire.StatusRunning, nil, nil); err != nil {
		t.Fatal(err)
	}
	stale := *open
	if err := r.Restore(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	if g, _ := in.Get(ctx, open.ID); g == nil || g.Status != wire.StatusRunning {
		t.Fatalf("a stale restore moved the request back: %+v", g)
	}
	n := request("urn:t:r", "agent-r", "go")
	if err := in.Add(ctx, n); err != nil || n.ID <= open.ID {
		t.Fatalf("Add after Restore: ID %s not after %s (%v)", n.ID, open.ID, err)
	}
}

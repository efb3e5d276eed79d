package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

func testOutbox(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	s := open(t, o, Config{Now: c.now})
	b := s.Outbox
	if b == nil {
		t.Skip("no outbox")
	}
	appendRec := func(b Outbox, thing string, kind wire.HistoryKind, name, value string, retain outbox.Retain) outbox.Record {
		t.Helper()
		c.advance(time.Millisecond)
		r, err := b.Append(ctx, outbox.Record{Kind: kind, ThingID: thing, Name: name, Value: []byte(value), Sender: "agent-0"}, retain)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Time.Equal(c.now()) {
			t.Fatalf("Append set Time %v, want the clock's %v", r.Time, c.now())
		}
		return r
	}
	appendRec(b, "urn:t:a", wire.KindProperty, "p", "1", outbox.RetainDefault)
	appendRec(b, "urn:t:a", wire.KindEvent, "e", `{"n":1}`, outbox.RetainDefault)
	appendRec(b, "urn:t:a", wire.KindProperty, "q", `"x"`, outbox.RetainNone) // latest only
	appendRec(b, "urn:t:a", wire.KindProperty, "p", "2", outbox.Retain(time.Hour))
	appendRec(b, "urn:t:b", wire.KindProperty, "p", "9", outbox.RetainDefault)
	// The same stamp again (a clock that stands still) still gets a later time.
	r1, err := b.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "urn:t:a", Name: "e", Value: []byte(`{"n":2}`)}, outbox.RetainDefault)
	if err != nil || !r1.Time.After(c.now()) {
		t.Fatalf("Append on a clock that did not move: %v, %v", r1.Time, err)
	}
	s.close()
	b = open(t, o, Config{Now: c.now}).Outbox

	if r, ok, err := b.Latest(ctx, "urn:t:a", wire.KindProperty, "p"); err != nil || !ok || string(r.Value) != "2" || r.Sender != "agent-0" || r.ThingID != "urn:t:a" {
		t.Fatalf("Latest p = %+v, %v, %v", r, ok, err)
	}
	if _, ok, err := b.Latest(ctx, "urn:t:a", wire.KindEvent, "p"); ok || err != nil {
		t.Fatalf("Latest of the wrong kind: %v, %v", ok, err)
	}
	names := func(recs []outbox.Record) string {
		var out []string
		for _, r := range recs {
			out = append(out, fmt.Sprintf("%s:%s=%s", r.Kind, r.Name, r.Value))
		}
		return fmt.Sprint(out)
	}
	all, err := b.LatestAll(ctx, "urn:t:a", "")
	if err != nil || names(all) != `[event:e={"n":2} property:p=2 property:q="x"]` {
		t.Fatalf("LatestAll = %s, %v", names(all), err)
	}
	props, err := b.LatestAll(ctx, "urn:t:a", wire.KindProperty)
	if err != nil || names(props) != `[property:p=2 property:q="x"]` {
		t.Fatalf("LatestAll properties = %s, %v", names(props), err)
	}

	page, err := b.History(ctx, "urn:t:a", outbox.Filter{}, wire.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	items := func(p wire.HistoryPage) string {
		var out []string
		for _, it := range p.Items {
			out = append(out, fmt.Sprintf("%s=%s", it.Name, it.Value))
		}
		return fmt.Sprint(out)
	}
	if items(page) != `[p=1 e={"n":1} p=2 e={"n":2}]` || page.Next != "" {
		t.Fatalf("History = %s next %q", items(page), page.Next)
	}
	for i := 1; i < len(page.Items); i++ {
		if !page.Items[i].Time.After(page.Items[i-1].Time) || page.Items[i].Cursor == page.Items[i-1].Cursor {
			t.Fatalf("history items not in time order with distinct cursors: %+v", page.Items)
		}
	}
	// The cursor of an item resumes after it.
	rest, err := b.History(ctx, "urn:t:a", outbox.Filter{}, wire.HistoryQuery{Cursor: page.Items[1].Cursor})
	if err != nil || items(rest) != `[p=2 e={"n":2}]` {
		t.Fatalf("History after the second item = %s, %v", items(rest), err)
	}
	ev, err := b.History(ctx, "urn:t:a", outbox.Filter{Kind: wire.KindEvent, Name: "e"}, wire.HistoryQuery{})
	if err != nil || items(ev) != `[e={"n":1} e={"n":2}]` {
		t.Fatalf("History of event e = %s, %v", items(ev), err)
	}
	// From is inclusive, To exclusive.
	rng, err := b.History(ctx, "urn:t:a", outbox.Filter{}, wire.HistoryQuery{From: page.Items[1].Time, To: page.Items[3].Time})
	if err != nil || items(rng) != `[e={"n":1} p=2]` {
		t.Fatalf("History in [second, fourth) = %s, %v", items(rng), err)
	}
	if _, err := b.History(ctx, "urn:t:a", outbox.Filter{}, wire.HistoryQuery{Cursor: "zz"}); !errors.Is(err, outbox.ErrBadCursor) {
		t.Fatalf("a bad cursor: %v, want ErrBadCursor", err)
	}
	if none, err := b.History(ctx, "urn:t:none", outbox.Filter{}, wire.HistoryQuery{}); err != nil || len(none.Items) != 0 || none.Items == nil {
		t.Fatalf("History of an unknown Thing = %+v, %v; want an empty, non-nil page", none, err)
	}

	if err := b.DeleteLatest(ctx, "urn:t:a", wire.KindProperty, func(n string) bool { return n == "p" }); err != nil {
		t.Fatal(err)
	}
	if all, _ := b.LatestAll(ctx, "urn:t:a", ""); names(all) != `[event:e={"n":2} property:p=2]` {
		t.Fatalf("after DeleteLatest keeping p: %s", names(all))
	}
	if err := b.DeleteThing(ctx, "urn:t:a"); err != nil {
		t.Fatal(err)
	}
	if all, _ := b.LatestAll(ctx, "urn:t:a", ""); len(all) != 0 {
		t.Fatalf("latest values after DeleteThing: %s", names(all))
	}
	if h, _ := b.History(ctx, "urn:t:a", outbox.Filter{}, wire.HistoryQuery{}); len(h.Items) != 0 {
		t.Fatalf("history after DeleteThing: %s", items(h))
	}
	if h, _ := b.History(ctx, "urn:t:b", outbox.Filter{}, wire.HistoryQuery{}); items(h) != `[p=9]` {
		t.Fatalf("another Thing's history after DeleteThing: %s", items(h))
	}
}

// testOutboxPages pages through a history longer than a page, and checks
// the per-Thing cap.
func testOutboxPages(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	const maxHistory = 300
	b := open(t, o, Config{Now: c.now, MaxHistory: maxHistory}).Outbox
	if b == nil {
		t.Skip("no outbox")
	}
	const total = 450
	for i := range total {
		c.advance(time.Millisecond)
		if _, err := b.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "urn:t:a", Name: "e", Value: fmt.Appendf(nil, "%d", i)}, outbox.RetainDefault); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	q := wire.HistoryQuery{Limit: 70}
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatal("paging does not end")
		}
		p, err := b.History(ctx, "urn:t:a", outbox.Filter{}, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > 70 {
			t.Fatalf("a page of %d items, limit 70", len(p.Items))
		}
		for _, it := range p.Items {
			got = append(got, string(it.Value))
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	// The cap keeps the newest: at least maxHistory of them, at most 10 %
	// more (the Badger outbox trims in steps), contiguous up to the last.
	if len(got) < maxHistory || len(got) > maxHistory+maxHistory/10+1 {
		t.Fatalf("%d records kept of %d with a cap of %d", len(got), total, maxHistory)
	}
	first := total - len(got)
	for i, v := range got {
		if v != fmt.Sprint(first+i) {
			t.Fatalf("record %d is %s, want %d (kept: %v...)", i, v, first+i, got[:min(5, len(got))])
		}
	}
}

// testOutboxSeq: a publisher's sequence numbers store a record once (a
// publish sent again is refused with ErrRepeat), and a record's Origin is
// kept.
func testOutboxSeq(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	b := open(t, o, Config{Now: c.now}).Outbox
	if b == nil {
		t.Skip("no outbox")
	}
	origin := c.now().Add(-time.Hour)
	for _, tc := range []struct {
		seq  uint64
		want error
	}{{1, nil}, {2, nil}, {2, outbox.ErrRepeat}, {1, outbox.ErrRepeat}, {5, nil}} {
		c.advance(time.Millisecond)
		_, err := b.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "urn:t:a", Name: "e", Value: fmt.Appendf(nil, "%d", tc.seq), Seq: tc.seq, Origin: origin}, outbox.RetainDefault)
		if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Fatalf("seq %d: %v, want %v", tc.seq, err, tc.want)
		}
	}
	if last, err := b.LastSeq(ctx, "urn:t:a"); err != nil || last != 5 {
		t.Fatalf("LastSeq = %d, %v; want 5", last, err)
	}
	if last, err := b.LastSeq(ctx, "urn:t:none"); err != nil || last != 0 {
		t.Fatalf("LastSeq of an unknown Thing = %d, %v", last, err)
	}
	p, err := b.History(ctx, "urn:t:a", outbox.Filter{}, wire.HistoryQuery{})
	if err != nil || len(p.Items) != 3 {
		t.Fatalf("history of 3 stored records: %d items, %v", len(p.Items), err)
	}
	r, ok, err := b.Latest(ctx, "urn:t:a", wire.KindEvent, "e")
	if err != nil || !ok || !r.Origin.Equal(origin) || string(r.Value) != "5" {
		t.Fatalf("Latest = %+v (origin %v), %v", r, origin, err)
	}
	w := b.AppendLater(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "urn:t:a", Name: "e", Value: []byte("6")}, outbox.RetainDefault)
	if r, err := w(); err != nil || string(r.Value) != "6" || r.Time.IsZero() {
		t.Fatalf("AppendLater: %+v, %v", r, err)
	}
}

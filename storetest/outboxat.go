package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

func testOutboxAt(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	b := open(t, o, Config{Now: c.now}).Outbox
	if b == nil {
		t.Skip("no outbox")
	}
	at := b
	var times []time.Time
	for i, r := range []struct {
		kind wire.HistoryKind
		name string
	}{{wire.KindProperty, "p"}, {wire.KindProperty, "q"}, {wire.KindEvent, "e"}, {wire.KindProperty, "p"}, {wire.KindEvent, "e"}, {wire.KindProperty, "q"}} {
		c.advance(time.Second)
		rec, err := b.Append(ctx, outbox.Record{Kind: r.kind, ThingID: "urn:t:a", Name: r.name, Value: fmt.Appendf(nil, "%d", i)}, outbox.RetainDefault)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, rec.Time)
	}
	vals := func(recs []outbox.Record) string {
		var out []string
		for _, r := range recs {
			out = append(out, fmt.Sprintf("%s=%s", r.Name, r.Value))
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{times[0].Add(-time.Millisecond), "[]"},
		{times[0], "[p=0]"},
		{times[2], "[p=0 q=1]"},
		{times[3], "[p=3 q=1]"},
		{times[5].Add(time.Hour), "[p=3 q=5]"},
	} {
		got, err := at.PropertiesAt(ctx, "urn:t:a", tc.at, []string{"q", "p", "p", "none"})
		if err != nil || vals(got) != tc.want {
			t.Fatalf("PropertiesAt(%v) = %s, %v; want %s", tc.at.Sub(times[0]), vals(got), err, tc.want)
		}
	}
	rec, err := at.Recent(ctx, "urn:t:a", outbox.Filter{Kind: wire.KindEvent}, 5)
	if err != nil || vals(rec) != "[e=4 e=2]" {
		t.Fatalf("Recent events = %s, %v", vals(rec), err)
	}
	rec, err = at.Recent(ctx, "urn:t:a", outbox.Filter{}, 3)
	if err != nil || vals(rec) != "[q=5 e=4 p=3]" {
		t.Fatalf("Recent 3 = %s, %v", vals(rec), err)
	}
}

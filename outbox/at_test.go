package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// TestPropertiesAt: time travel answers, for each property asked, the
// newest value stamped at or before the instant, from the history only.
func TestPropertiesAt(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	now := t0
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{Now: func() time.Time { return now }})
	put := func(at time.Duration, kind wire.HistoryKind, name, value string, retain outbox.Retain) {
		t.Helper()
		now = t0.Add(at)
		if _, err := s.Append(ctx, outbox.Record{Kind: kind, ThingID: "lamp", Name: name, Value: []byte(value), Sender: "ag"}, retain); err != nil {
			t.Fatal(err)
		}
	}
	put(1*time.Second, wire.KindProperty, "level", "1", outbox.RetainDefault)
	put(2*time.Second, wire.KindProperty, "level", "2", outbox.RetainDefault)
	put(2*time.Second+500*time.Millisecond, wire.KindProperty, "on", "true", outbox.RetainDefault)
	put(3*time.Second, wire.KindEvent, "level", "99", outbox.RetainDefault) // an event of the same name
	put(4*time.Second, wire.KindProperty, "level", "4", outbox.RetainDefault)
	put(5*time.Second, wire.KindProperty, "secret", "7", outbox.RetainNone) // latest only
	// another Thing whose ID extends this one's must not leak in
	now = t0.Add(3 * time.Second)
	if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "lamp2", Name: "level", Value: []byte("50")}, outbox.RetainDefault); err != nil {
		t.Fatal(err)
	}
	names := []string{"level", "on", "secret", "missing"}
	for _, tc := range []struct {
		name string
		at   time.Duration
		want string
	}{
		{"BeforeAnyValue", 500 * time.Millisecond, "[]"},
		{"AtTheInstantOfAValue", 2 * time.Second, "[level=2]"},
		{"BetweenValues", 3*time.Second + 500*time.Millisecond, "[level=2 on=true]"},
		{"AfterTheLast", time.Hour, "[level=4 on=true]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := s.PropertiesAt(ctx, "lamp", t0.Add(tc.at), names)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				if r.Kind != wire.KindProperty || r.ThingID != "lamp" || r.Time.After(t0.Add(tc.at)) {
					t.Errorf("record %+v", r)
				}
				got = append(got, r.Name+"="+string(r.Value))
			}
			if fmt.Sprint(got) != tc.want && !(tc.want == "[]" && len(got) == 0) {
				t.Errorf("values at +%v = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

// TestRecent: the newest records a filter selects, newest first.
func TestRecent(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{})
	for i := range 5 {
		for _, name := range []string{"a", "b"} {
			if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: name, Value: []byte(fmt.Sprint(i))}, outbox.RetainDefault); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t2", Name: "a", Value: []byte("99")}, outbox.RetainDefault); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Recent(ctx, "t", outbox.Filter{Kind: wire.KindEvent, Name: "a"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Name+"="+string(r.Value))
	}
	if fmt.Sprint(got) != "[a=4 a=3 a=2]" {
		t.Errorf("recent a = %v", got)
	}
	if recs, _ := s.Recent(ctx, "none", outbox.Filter{}, 3); len(recs) != 0 {
		t.Errorf("recent of an unknown Thing = %v", recs)
	}
}

package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

func mustOpenDB(tb testing.TB, dir string) *badger.DB {
	tb.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10).WithValueLogFileSize(16 << 20))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

func TestAppendAndLatest(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{})
	for i := range 3 {
		if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "t", Name: "p", Value: []byte(fmt.Sprint(i)), Sender: "ag"}, outbox.RetainDefault); err != nil {
			t.Fatal(err)
		}
	}
	rec, ok, err := s.Latest(ctx, "t", wire.KindProperty, "p")
	if err != nil || !ok || string(rec.Value) != "2" || rec.Sender != "ag" {
		t.Fatalf("latest = %+v %v %v", rec, ok, err)
	}
	if _, ok, _ := s.Latest(ctx, "t", wire.KindEvent, "p"); ok {
		t.Error("property found as event")
	}
	t.Run("RetainNoneKeepsNoHistory", func(t *testing.T) {
		if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "e", Value: []byte("1")}, outbox.RetainNone); err != nil {
			t.Fatal(err)
		}
		page, err := s.History(ctx, "t", outbox.Filter{Name: "e"}, wire.HistoryQuery{})
		if err != nil || len(page.Items) != 0 {
			t.Errorf("history %+v %v", page, err)
		}
		if _, ok, _ := s.Latest(ctx, "t", wire.KindEvent, "e"); !ok {
			t.Error("latest event not kept")
		}
	})
}

func TestHistoryPaging(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := base
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{Now: func() time.Time { return now }})
	for i := range 10 {
		now = base.Add(time.Duration(i) * time.Minute)
		name := "a"
		if i%2 == 1 {
			name = "b"
		}
		if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: name, Value: []byte(fmt.Sprint(i))}, outbox.RetainDefault); err != nil {
			t.Fatal(err)
		}
	}
	// Another Thing whose ID extends this one must not leak in.
	if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t2", Name: "a", Value: []byte("x")}, outbox.RetainDefault); err != nil {
		t.Fatal(err)
	}
	var got []string
	q := wire.HistoryQuery{Limit: 2}
	for {
		page, err := s.History(ctx, "t", outbox.Filter{Name: "a"}, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			got = append(got, string(it.Value))
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if fmt.Sprint(got) != "[0 2 4 6 8]" {
		t.Errorf("paged = %v", got)
	}
	page, _ := s.History(ctx, "t", outbox.Filter{}, wire.HistoryQuery{From: base.Add(3 * time.Minute), To: base.Add(6 * time.Minute)})
	if len(page.Items) != 3 || string(page.Items[0].Value) != "3" {
		t.Errorf("range = %+v", page.Items)
	}
	if _, err := s.History(ctx, "t", outbox.Filter{}, wire.HistoryQuery{Cursor: "nothex"}); !errors.Is(err, outbox.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestDeleteThing(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{})
	for _, id := range []string{"t", "t2"} {
		if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: id, Name: "p", Value: []byte("1")}, outbox.RetainDefault); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteThing(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Latest(ctx, "t", wire.KindProperty, "p"); ok {
		t.Error("latest survived delete")
	}
	if _, ok, _ := s.Latest(ctx, "t2", wire.KindProperty, "p"); !ok {
		t.Error("delete of t removed t2")
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(b, b.TempDir()), outbox.Options{})
	val := []byte(`{"temperature":21.5,"unit":"celsius"}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "urn:t", Name: "e", Value: val}, outbox.RetainDefault); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

func TestRetentionExpires(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{})
	if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "e", Value: []byte("1")}, outbox.Retain(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "keep", Value: []byte("2")}, outbox.RetainDefault); err != nil {
		t.Fatal(err)
	}
	// Badger TTLs have whole-second granularity: poll until the short-lived
	// entry is gone, for at most a few seconds.
	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err := s.History(ctx, "t", outbox.Filter{}, wire.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) == 1 && page.Items[0].Name == "keep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history still %+v after retention", page.Items)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, bounded by the deadline
	}
	if _, ok, _ := s.Latest(ctx, "t", wire.KindEvent, "e"); !ok {
		t.Error("latest value expired with history")
	}
}

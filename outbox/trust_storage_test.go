package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wot"
)

// TestDeleteThingInBatches deletes a Thing with more history than one
// delete transaction takes (issue 12, item 18: no DropPrefix, which blocks
// every write): all of it goes, another Thing's stays.
func TestDeleteThingInBatches(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{})
	for i := range 2500 {
		for _, id := range []string{"t", "t2"} {
			if i >= 10 && id == "t2" {
				continue
			}
			if _, err := s.Append(ctx, outbox.Record{Kind: wot.KindEvent, ThingID: id, Name: "e", Value: []byte(fmt.Sprint(i))}, outbox.RetainDefault); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteThing(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if page, err := s.History(ctx, "t", outbox.Filter{}, wot.HistoryQuery{Limit: 10}); err != nil || len(page.Items) != 0 {
		t.Errorf("history of the deleted Thing: %d items, %v", len(page.Items), err)
	}
	if _, ok, _ := s.Latest(ctx, "t", wot.KindEvent, "e"); ok {
		t.Error("latest value survived the delete")
	}
	if page, err := s.History(ctx, "t2", outbox.Filter{}, wot.HistoryQuery{Limit: 100}); err != nil || len(page.Items) != 10 {
		t.Errorf("history of the other Thing: %d items, %v; want 10", len(page.Items), err)
	}
}

// TestStampsOutliveAClockSetBack reopens a store with a clock an hour
// earlier (issue 12, item 20): a new record's stamp still follows the
// newest stored one, whichever Thing holds it, and so does a record kept
// only as a latest value.
func TestStampsOutliveAClockSetBack(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, t.TempDir())
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	s := outbox.New(db, outbox.Options{Now: clock})
	add := func(s *outbox.Store, thing string, retain outbox.Retain) outbox.Record {
		t.Helper()
		rec, err := s.Append(ctx, outbox.Record{Kind: wot.KindEvent, ThingID: thing, Name: "e", Value: []byte("1")}, retain)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	add(s, "b", outbox.RetainDefault)
	now = t0.Add(10 * time.Second)
	newest := add(s, "a", outbox.RetainDefault) // the newest stamp is not in the last Thing's history
	now = t0.Add(20 * time.Second)
	latestOnly := add(s, "c", outbox.RetainNone)

	now = t0.Add(-time.Hour)
	s2 := outbox.New(db, outbox.Options{Now: clock})
	if rec := add(s2, "b", outbox.RetainDefault); !rec.Time.After(latestOnly.Time) || !rec.Time.After(newest.Time) {
		t.Errorf("stamp after the clock went back: %v, newest stored %v", rec.Time, latestOnly.Time)
	}
}

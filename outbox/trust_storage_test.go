package outbox_test

import (
	"context"
	"fmt"
	"testing"

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

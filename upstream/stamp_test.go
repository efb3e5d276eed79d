package upstream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// TestEdgeStampedPublish is what makes the edge's forwarding store each
// record once with its time, at any hub: an agent's event with the user
// property seq is stored and relayed once however often it is sent (the
// edge sends again what it sent before a crash that came between the
// PUBACK and the saving of its position), and its time is kept.
func TestEdgeStampedPublish(t *testing.T) {
	ctx := context.Background()
	h := hubtest.Start(t)
	agent := hubtest.Connect(t, hubtest.URL(h), "stamp-agent")
	et, err := agent.Produce(wot.NewThing("urn:stamp:1", "Stamped").Event("e", &td.DataSchema{Type: "integer"}).TD())
	if err != nil {
		t.Fatal(err)
	}
	if err := et.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	consumer := hubtest.Connect(t, hubtest.URL(h), "stamp-consumer")
	th, err := consumer.Thing(ctx, "urn:stamp:1")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []wot.Message
	if _, err := th.SubscribeEvent(ctx, "e", func(m wot.Message) { mu.Lock(); got = append(got, m); mu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, p := range []struct {
		v   int
		seq uint64
	}{{1, 10}, {1, 10}, {1, 9}, {2, 11}} {
		if err := et.PublishEventStamped(ctx, "e", p.v, wot.Stamp{Time: at.Add(time.Duration(p.v) * time.Second), Seq: p.seq}); err != nil {
			t.Fatalf("seq %d: %v", p.seq, err)
		}
	}
	hubtest.WaitFor(t, "the second event (the sentinel)", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0 && string(got[len(got)-1].Payload) == "2"
	})
	mu.Lock()
	if len(got) != 2 || string(got[0].Payload) != "1" || !got[0].Time.Equal(at.Add(time.Second)) {
		t.Errorf("relayed %d events (%+v), want 1 then 2, the first at %v", len(got), got, at.Add(time.Second))
	}
	mu.Unlock()
	page, err := th.EventHistory(ctx, "e", wot.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || !page.Items[1].Time.Equal(at.Add(2*time.Second)) {
		t.Errorf("history %+v, want two items at the agent's times", page.Items)
	}

	t.Run("RefusesATimeInTheFuture", func(t *testing.T) {
		err := et.PublishEventStamped(ctx, "e", 3, wot.Stamp{Time: time.Now().Add(time.Hour)})
		if !errors.Is(err, wot.ErrInvalidInput) {
			t.Errorf("err %v, want invalid input", err)
		}
	})
}

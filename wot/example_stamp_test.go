package wot_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// A device that kept readings while it was offline uploads them with the
// time each was taken, and numbers them so that a reading sent again after
// a lost acknowledgement is stored once (an edge hub forwarding its history
// to a cloud hub does the same).
func ExampleExposedThing_PublishEventStamped() {
	url, stop := exampleHub()
	defer stop()
	ctx := context.Background()
	agent, err := wot.Connect(ctx, wot.Options{URL: url, ClientID: "logger-agent"})
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close(ctx)
	logger, err := agent.Produce(wot.NewThing("urn:dev:ops:logger-1", "Logger").
		Event("reading", &td.DataSchema{Type: td.TypeNumber}).TD())
	if err != nil {
		log.Fatal(err)
	}
	if err := logger.Expose(ctx); err != nil {
		log.Fatal(err)
	}
	taken := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	kept := []float64{20.5, 20.75, 21}
	for i, v := range kept {
		st := wot.Stamp{Time: taken.Add(time.Duration(i) * time.Hour), Seq: uint64(i + 1)}
		if err := logger.PublishEventStamped(ctx, "reading", v, st); err != nil {
			log.Fatal(err)
		}
	}
	// The last one again, as after a lost PUBACK: acknowledged, not stored.
	if err := logger.PublishEventStamped(ctx, "reading", kept[2], wot.Stamp{Time: taken.Add(2 * time.Hour), Seq: 3}); err != nil {
		log.Fatal(err)
	}

	app, err := wot.Connect(ctx, wot.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(ctx)
	twin, err := app.Thing(ctx, "urn:dev:ops:logger-1")
	if err != nil {
		log.Fatal(err)
	}
	page, err := twin.EventHistory(ctx, "reading", wot.HistoryQuery{})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range page.Items {
		fmt.Println(it.Time.Format(time.RFC3339), string(it.Value))
	}
	// Output:
	// 2026-11-30T06:00:00Z 20.5
	// 2026-11-30T07:00:00Z 20.75
	// 2026-11-30T08:00:00Z 21
}

package main

import (
	"context"
	"testing"
	"time"

	"github.com/wotmq/wotmq/examples/internal/testhub"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

const testThing = "urn:dev:test:lamp"

// TestConsumer starts the consumer before the Thing exists: it waits for
// it in the directory, then prints its properties and events and the
// statuses and output of toggle.
func TestConsumer(t *testing.T) {
	h := testhub.Start(t, nil)
	out := testhub.NewOutput()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{Broker: testhub.URL(h), ID: "consumer-1", ThingID: testThing,
			Action: "toggle", Duration: time.Hour}, out)
	}()
	out.WaitFor(t, "connected to "+testhub.URL(h)+" as consumer-1")

	// A small lamp, exposed after the consumer started.
	actx, acancel := context.WithTimeout(context.Background(), testhub.Wait)
	defer acancel()
	agent := testhub.Connect(t, h, "test-agent")
	lamp, err := agent.Produce(wot.NewThing(testThing, "Test lamp").
		Property("on", td.DataSchema{Type: td.TypeBoolean}).
		Event("overheating", &td.DataSchema{Type: td.TypeNumber}).
		Action("toggle", nil, &td.DataSchema{Type: td.TypeBoolean}).
		TD())
	if err != nil {
		t.Fatal(err)
	}
	lamp.HandleAction("toggle", func(ctx context.Context, req *wot.Request) (any, error) {
		if err := req.Progress(ctx, nil); err != nil {
			return nil, err
		}
		return true, lamp.UpdateProperty(ctx, "on", true)
	})
	if err := lamp.Expose(actx); err != nil {
		t.Fatal(err)
	}
	if err := lamp.UpdateProperty(actx, "on", false); err != nil {
		t.Fatal(err)
	}

	out.WaitFor(t,
		`discovered urn:dev:test:lamp "Test lamp": properties [on], actions [toggle], events [overheating presence]`,
		"invoked toggle", "toggle: delivered\n", "toggle: running\n", "toggle: completed, output true\n",
		"property on = true\n")
	if err := lamp.PublishEvent(actx, "overheating", 70.5); err != nil {
		t.Fatal(err)
	}
	out.WaitFor(t, "event overheating: 70.5\n")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(testhub.Wait):
		t.Fatal("run did not return after cancel")
	}
	out.WaitFor(t, "done\n")
	t.Log("\n" + out.String())
}

// TestConsumerNoThing: without the Thing, the consumer gives up after
// -duration.
func TestConsumerNoThing(t *testing.T) {
	h := testhub.Start(t, nil)
	out := testhub.NewOutput()
	err := run(context.Background(), config{Broker: testhub.URL(h), ID: "consumer-2", ThingID: "urn:dev:none",
		Duration: 300 * time.Millisecond}, out)
	if err != nil {
		t.Fatal(err)
	}
	out.WaitFor(t, "urn:dev:none did not show up; done")
}

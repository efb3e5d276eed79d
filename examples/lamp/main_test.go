package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/examples/internal/testhub"
	"github.com/wotmq/wotmq/wot"
)

const testThing = "urn:dev:ops:lamp-1"

// TestLamp runs the lamp against an in-process hub and uses it as a
// consumer would: toggle, fade, a property write and the event.
func TestLamp(t *testing.T) {
	h := testhub.Start(t, nil)
	out := testhub.NewOutput()
	testhub.Run(t, func(ctx context.Context) error {
		return run(ctx, config{Broker: testhub.URL(h), Agent: "lamp-agent", ThingID: testThing,
			EventEvery: 20 * time.Millisecond, FadeStep: time.Millisecond}, out)
	})
	out.WaitFor(t, "exposed "+testThing+" as agent lamp-agent", "property on = false, brightness = 50")

	ctx, cancel := context.WithTimeout(context.Background(), testhub.Wait)
	defer cancel()
	app := testhub.Connect(t, h, "tester")
	lamp, err := app.Thing(ctx, testThing)
	if err != nil {
		t.Fatal(err)
	}
	if got := lamp.TD().Title; got != "Dimmable lamp" {
		t.Errorf("title %q", got)
	}
	events := make(chan float64, 16)
	if _, err := lamp.SubscribeEvent(ctx, "overheating", func(m wot.Message) {
		var c float64
		if m.Decode(&c) == nil {
			select {
			case events <- c:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}

	var on bool
	if err := lamp.InvokeAction(ctx, "toggle", nil, &on); err != nil || !on {
		t.Errorf("toggle: output %v, %v; want true", on, err)
	}
	if err := lamp.ReadProperty(ctx, "on", &on); err != nil || !on {
		t.Errorf("on after toggle: %v, %v; want true", on, err)
	}

	inv, err := lamp.InvokeActionAsync(ctx, "fade", map[string]int{"to": 100})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	var last wot.ActionUpdate
	for u := range inv.Updates() {
		statuses = append(statuses, string(u.Status)+" "+string(u.Payload))
		last = u
	}
	want := "delivered |running 60|running 70|running 80|running 90|completed 100"
	if got := strings.Join(statuses, "|"); got != want || last.Err != nil {
		t.Errorf("fade: statuses %q (%v), want %q", got, last.Err, want)
	}

	// A write: the lamp applies it and the SDK reports the value.
	if err := lamp.WriteProperty(ctx, "brightness", 7); err != nil {
		t.Fatal(err)
	}
	var b int
	if err := lamp.ReadProperty(ctx, "brightness", &b); err != nil || b != 7 {
		t.Errorf("brightness after write: %d, %v; want 7", b, err)
	}
	// The hub checks inputs against the TD before the lamp sees them.
	if err := lamp.InvokeAction(ctx, "fade", map[string]int{"to": 101}, nil); wot.CodeOf(err) != wot.CodeInvalidPayload {
		t.Errorf("fade to 101: %v, want invalid_payload", err)
	}

	select {
	case c := <-events:
		if c < 40 || c > 90 {
			t.Errorf("overheating %v, want 40..90", c)
		}
	case <-ctx.Done():
		t.Fatal("no overheating event")
	}
	out.WaitFor(t, "toggle from tester: on = true", "fade from tester: to 100", "fade done: brightness = 100",
		"write from tester: brightness = 7", "event overheating ")
}

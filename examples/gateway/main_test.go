package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/examples/internal/testhub"
	"github.com/wotmq/wotmq/wot"
)

func sensorID(n int) string { return fmt.Sprintf("urn:dev:gw-test:sensor-%d", n) }

// TestGateway runs the gateway against an in-process hub, polling its
// sensors when the test says, and checks what a consumer sees: three
// Things, their readings, each one's presence, and identify done at once,
// after waiting for a sleeping sensor, or refused for a lost one.
func TestGateway(t *testing.T) {
	h := testhub.Start(t, nil)
	out := testhub.NewOutput()
	ticks := make(chan time.Time)
	testhub.Run(t, func(ctx context.Context) error {
		return run(ctx, config{Broker: testhub.URL(h), Agent: "gw-test", ticks: ticks}, out)
	})
	ctx, cancel := context.WithTimeout(context.Background(), testhub.Wait)
	defer cancel()
	poll := func() { // the next poll; it returns when the previous one is done
		t.Helper()
		select {
		case ticks <- time.Now():
		case <-ctx.Done():
			t.Fatal("the gateway does not poll")
		}
	}
	// Poll 0 runs at once: every sensor is online with a reading.
	out.WaitFor(t, "connected to "+testhub.URL(h)+" as agent gw-test",
		"exposed "+sensorID(1), "exposed "+sensorID(2), "exposed "+sensorID(3),
		"sensor-1 is online", "sensor-2 is online", "sensor-3 is online", "sensor-3: temperature ")

	app := testhub.Connect(t, h, "tester")
	things, err := app.Things(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, th := range things {
		ids = append(ids, th.ID+" "+th.Title)
	}
	if got, want := strings.Join(ids, ", "), sensorID(1)+" Sensor 1, "+sensorID(2)+" Sensor 2, "+sensorID(3)+" Sensor 3"; got != want {
		t.Errorf("Things: %s, want %s", got, want)
	}
	twins := map[int]*wot.ConsumedThing{}
	presence := map[int]chan wot.Presence{}
	for n := 1; n <= 3; n++ {
		if twins[n], err = app.Thing(ctx, sensorID(n)); err != nil {
			t.Fatal(err)
		}
		ch := make(chan wot.Presence, 16)
		presence[n] = ch
		if _, err := twins[n].ObservePresence(ctx, func(p wot.PresenceState) { ch <- p.State }); err != nil {
			t.Fatal(err)
		}
		var c float64
		if err := twins[n].ReadProperty(ctx, "temperature", &c); err != nil || c < 17 || c > 26 {
			t.Errorf("sensor-%d: temperature %v, %v", n, c, err)
		}
	}
	expect := func(n int, want wot.Presence) {
		t.Helper()
		select {
		case p := <-presence[n]:
			if p != want {
				t.Fatalf("sensor-%d is %s, want %s", n, p, want)
			}
		case <-ctx.Done():
			t.Fatalf("sensor-%d: no presence %s", n, want)
		}
	}
	for n := 1; n <= 3; n++ {
		expect(n, wot.PresenceOnline) // the retained state
	}

	poll() // poll 1: sensor-2 falls asleep
	expect(2, wot.PresenceSleeping)
	inv, err := twins[2].InvokeActionAsync(ctx, "identify", nil)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for u := range inv.Updates() {
		statuses = append(statuses, string(u.Status))
		if u.Status == wot.StatusWaiting {
			poll() // poll 2: still asleep
			poll() // poll 3: sensor-2 wakes (and blinks); sensor-3 is lost
		}
		if u.Err != nil {
			t.Errorf("identify: %v", u.Err)
		}
	}
	if got := strings.Join(statuses, ","); got != "delivered,waiting,completed" {
		t.Errorf("identify of the sleeping sensor-2: %s", got)
	}
	expect(2, wot.PresenceOnline)
	expect(3, wot.PresenceLost)

	if err := twins[3].InvokeAction(ctx, "identify", nil, nil); wot.CodeOf(err) != wot.CodeOffline {
		t.Errorf("identify of the lost sensor-3: %v, want code offline", err)
	}
	if err := twins[1].InvokeAction(ctx, "identify", nil, nil); err != nil {
		t.Errorf("identify of sensor-1: %v", err)
	}
	out.WaitFor(t, "sensor-2: identify from tester waits until it wakes", "sensor-2: blink (identify from tester)",
		"sensor-3 is lost", "sensor-1: blink (identify from tester)")
	if s := out.String(); strings.Contains(s, "sensor-3: blink") {
		t.Errorf("the lost sensor-3 blinked:\n%s", s)
	}
}

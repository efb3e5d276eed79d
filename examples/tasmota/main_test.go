package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/examples/internal/testhub"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
)

const plugID = "urn:dev:tasmota:plug1"

// TestTasmota runs the simulated plug against an in-process hub, registers
// plug1.td.json as an integrator would (HTTP PUT), and uses the twin as a
// consumer: presence, a write confirmed by the plug's report, the toggle
// action, the energy reading as a property and an event.
func TestTasmota(t *testing.T) {
	h := testhub.Start(t, func(o *hub.Options) { o.HTTPAddr = "127.0.0.1:0" })
	out := testhub.NewOutput()
	testhub.Run(t, func(ctx context.Context) error {
		return run(ctx, config{Broker: testhub.URL(h), Name: "plug1", Tele: 20 * time.Millisecond}, out)
	})
	out.WaitFor(t, "online as plug1, power OFF")

	td, err := os.ReadFile("plug1.td.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+h.HTTPAddr()+"/things/"+plugID, strings.NewReader(string(td)))
	req.SetBasicAuth("integrator", "")
	req.Header.Set("Content-Type", "application/td+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT TD: %s", resp.Status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), testhub.Wait)
	defer cancel()
	app := testhub.Connect(t, h, "app")
	plug, err := app.Thing(ctx, plugID)
	if err != nil {
		t.Fatal(err)
	}
	energy := make(chan float64, 64)
	if _, err := plug.SubscribeEvent(ctx, "energy", func(m wot.Message) {
		var e struct{ Power float64 }
		if m.Decode(&e) == nil {
			select {
			case energy <- e.Power:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := plug.WriteProperty(ctx, "power", true); err != nil {
		t.Fatalf("write power: %v", err)
	}
	out.WaitFor(t, `command "ON": power ON`)
	var on bool
	if err := plug.InvokeAction(ctx, "toggle", nil, &on); err != nil || on {
		t.Fatalf("toggle: %v %v, want false", on, err)
	}
	if err := plug.InvokeAction(ctx, "toggle", nil, &on); err != nil || !on {
		t.Fatalf("toggle again: %v %v, want true", on, err)
	}
	// On, the plug draws 40 to 60 W: seen as the event and the property.
	deadline := time.After(testhub.Wait)
	for w := 0.0; w < 40; {
		select {
		case w = <-energy:
		case <-deadline:
			t.Fatal("no energy reading of a plug that is on")
		}
	}
	var watts float64
	if err := plug.ReadProperty(ctx, "watts", &watts); err != nil {
		t.Fatalf("read watts: %v", err)
	}
}

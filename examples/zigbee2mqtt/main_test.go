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
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

const sensorID = "urn:dev:zigbee:sensor1"

// TestZigbee2MQTT runs the simulated bridge against an in-process hub,
// registers sensor1.td.json (HTTP PUT) and uses the twin: the three
// readings out of one JSON object, the report interval written (confirmed
// by the sensor's report), identify, and the bridge going away.
func TestZigbee2MQTT(t *testing.T) {
	h := testhub.Start(t, func(o *hub.Options) { o.HTTPAddr = "127.0.0.1:0" })
	out := testhub.NewOutput()
	stopBridge := make(chan struct{})
	testhub.Run(t, func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-stopBridge:
				cancel()
			case <-ctx.Done():
			}
		}()
		return run(ctx, config{Broker: testhub.URL(h), Name: "sensor1", Unit: 5 * time.Millisecond}, out)
	})
	out.WaitFor(t, "online: sensor1 reports every 10")

	td, err := os.ReadFile("sensor1.td.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+h.HTTPAddr()+"/things/"+sensorID, strings.NewReader(string(td)))
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
	sensor, err := app.Thing(ctx, sensorID)
	if err != nil {
		t.Fatal(err)
	}
	presence := make(chan wot.Presence, 8)
	if _, err := sensor.SubscribeEvent(ctx, "presence", func(m wot.Message) {
		var p wot.PresenceState
		if m.Decode(&p) == nil {
			presence <- p.State
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"temperature", "humidity", "battery"} {
		hubtest.WaitFor(t, name+" read from the bridge's JSON", func() bool {
			var v float64
			return sensor.ReadProperty(ctx, name, &v) == nil && v > 0
		})
	}
	if err := sensor.WriteProperty(ctx, "reportInterval", 20); err != nil {
		t.Fatalf("write reportInterval: %v", err)
	}
	out.WaitFor(t, "report_interval = 20")
	if err := sensor.InvokeAction(ctx, "identify", nil, nil); err != nil {
		t.Fatal(err)
	}
	out.WaitFor(t, "identify: blinking")

	close(stopBridge) // says offline on its way out
	deadline := time.After(testhub.Wait)
	for p := wot.Presence(""); p != wot.PresenceOffline; {
		select {
		case p = <-presence:
		case <-deadline:
			t.Fatal("the twin did not go offline with the bridge")
		}
	}
}

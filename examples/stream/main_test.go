package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/examples/internal/testhub"
	"github.com/wotmq/wotmq/hubtest"
)

// TestStream runs the sensor and the consumer against an in-process hub
// for 500 readings at 1 kHz, which must all arrive, in order.
func TestStream(t *testing.T) {
	h := testhub.Start(t, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := &syncBuffer{}
	cfg := config{Broker: h.MQTTAddr(), ThingID: "urn:dev:ops:sensor-1", Role: "both", Rate: 1000, Count: 500, Loopback: true}
	if err := run(ctx, cfg, out); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if ctx.Err() != nil {
		t.Fatalf("timed out:\n%s", out)
	}
	for _, want := range []string{"sensor: urn:dev:ops:sensor-1 exposed", "consumer: channel to urn:dev:ops:sensor-1 open", "500 in all, last seq 500, 0 out of order"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Log(out)
	if err := run(ctx, config{Role: "viewer", Rate: 1}, out); err == nil {
		t.Error("role viewer accepted")
	}
}

// syncBuffer collects output written concurrently (hubtest.Buffer).
type syncBuffer = hubtest.Buffer

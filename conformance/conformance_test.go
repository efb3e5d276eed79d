package conformance_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/conformance"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// startHub starts a wotmq hub (hubtest.Start) with HTTP on: HTTP forms
// come first in twin TDs, and the suite must pick the MQTT ones.
func startHub(tb testing.TB) *hub.Hub {
	tb.Helper()
	return hubtest.Start(tb, func(o *hub.Options) { o.HTTPAddr = "127.0.0.1:0" })
}

func TestHubConforms(t *testing.T) {
	h := startHub(t)
	results := conformance.Run(t.Context(), conformance.Config{Broker: h.MQTTAddr()})
	if len(results) != len(conformance.Checks()) {
		t.Fatalf("%d results for %d checks", len(results), len(conformance.Checks()))
	}
	for _, r := range results {
		t.Run(r.ID, func(t *testing.T) {
			if r.Err != nil {
				t.Errorf("%s: %v (cites %s)", r.Title, r.Err, r.Cites)
			}
		})
	}
	if err := conformance.Err(results); err != nil {
		t.Logf("summary:\n%v", err)
	}
}

func TestRunCleansUp(t *testing.T) {
	h := startHub(t)
	cfg := conformance.Config{Broker: h.MQTTAddr(), ThingID: "urn:wotmq:conformance:cleanup", AgentID: "cleanup-agent"}
	if err := conformance.Err(conformance.Run(t.Context(), cfg)); err != nil {
		t.Fatal(err)
	}
	// A second run with the same Thing ID and agent registers it anew: the
	// first run deleted it and left no retained state behind.
	if err := conformance.Err(conformance.Run(t.Context(), cfg)); err != nil {
		t.Fatalf("second run: %v", err)
	}
}

func TestChecksCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range conformance.Checks() {
		if c.ID == "" || c.Title == "" || c.Cites == "" {
			t.Errorf("incomplete check %+v", c)
		}
		if seen[c.ID] {
			t.Errorf("duplicate ID %s", c.ID)
		}
		seen[c.ID] = true
	}
	for _, id := range []string{"HUB-TD", "TD-REGISTER", "TD-VALID", "TD-MQV-CONTEXT", "TD-FORMS-COVER-OPS",
		"TD-INVALID-REFUSED", "PROP-RETAINED", "PROP-INVALID-REFUSED", "EVENT-RELAY", "ACTION-ROUNDTRIP",
		"ACTION-FINAL-ONLY", "ACTION-QUERY", "ACTION-INVALID-INPUT", "ACTION-UNKNOWN", "WRITE-READONLY",
		"TWIN-TOPICS-HUB-ONLY", "HISTORY", "DELETE"} {
		if !seen[id] {
			t.Errorf("no check %s", id)
		}
	}
}

func TestWrongHubFails(t *testing.T) {
	addr := hubtest.StartMochi(t)
	start := time.Now()
	results := conformance.Run(t.Context(), conformance.Config{Broker: addr, Timeout: 300 * time.Millisecond})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v against a bare broker", d)
	}
	byID := map[string]error{}
	for _, r := range results {
		byID[r.ID] = r.Err
	}
	if byID["CONNECT"] != nil {
		t.Errorf("CONNECT failed against a plain MQTT 5 broker: %v", byID["CONNECT"])
	}
	if byID["HUB-TD"] == nil {
		t.Error("HUB-TD passed against a bare broker")
	}
	if err := byID["DELETE"]; !errors.Is(err, conformance.ErrSkipped) || !strings.Contains(err.Error(), "skipped: prerequisite TD-REGISTER failed") {
		t.Errorf("DELETE: %v, want skipped", err)
	}
	err := conformance.Err(results)
	if err == nil {
		t.Fatal("Err = nil for a bare broker")
	}
	if !strings.Contains(err.Error(), "HUB-TD ") || !strings.Contains(err.Error(), "(cites ") {
		t.Errorf("Err = %v", err)
	}
}

func TestNoBrokerFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	results := conformance.Run(t.Context(), conformance.Config{Broker: addr, Timeout: time.Second})
	for _, r := range results {
		if r.Err == nil {
			t.Errorf("%s passed without a broker", r.ID)
		}
	}
	if results[0].ID != "CONNECT" || results[0].Err == nil {
		t.Errorf("first result %+v", results[0])
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range conformance.Run(ctx, conformance.Config{Broker: "127.0.0.1:1"}) {
		if r.Err == nil {
			t.Errorf("%s passed with a cancelled context", r.ID)
		}
	}
}

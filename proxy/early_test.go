package proxy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hubtest"
)

// TestReportRightAfterRegistration: a device that reports once, right
// after its TD was registered, has that report taken, even while the
// proxy's worker is busy with another device's burst. Before, the proxy
// tapped a new device's topics only when its worker reached the TD, so a
// report sent between the registration's answer and then was lost (CI:
// interop's TestNodeWoTConsumesAProxiedDevice under load).
func TestReportRightAfterRegistration(t *testing.T) {
	h := bfStart(t, t.TempDir())
	// No availability topic: the twins are online while the hub runs.
	td := strings.Replace(bfReadTD(t, "tasmota/plug1.td.json"), `"wotmq:availability"`, `"x-unused"`, 1)
	if code, body := bfHTTP(t, h, "integrator", http.MethodPut, bfThingPath(bfPlugID), td); code != http.StatusCreated {
		t.Fatalf("PUT plug1: %d %s", code, body)
	}
	noisy := hubtest.Dial(t, h, "plug1")
	quiet := hubtest.Dial(t, h, "plug2")
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	// A backlog for the proxy's worker: plug1's burst of reports.
	for i := 0; i < 5000; i++ {
		state := []byte("ON")
		if i%2 == 1 {
			state = []byte("OFF")
		}
		if _, err := noisy.Publish(ctx, &paho.Publish{Topic: "stat/plug1/POWER", Payload: state}); err != nil {
			t.Fatal(err)
		}
	}
	const plug2 = "urn:dev:tasmota:plug2"
	if code, body := bfHTTP(t, h, "integrator", http.MethodPut, bfThingPath(plug2), strings.ReplaceAll(td, "plug1", "plug2")); code != http.StatusCreated {
		t.Fatalf("PUT plug2: %d %s", code, body)
	}
	quiet.MustPub("stat/plug2/POWER", []byte("ON"), nil) // its only report
	hubtest.WaitFor(t, "plug2's report taken", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(plug2)+"/properties/power", "")
		return code == http.StatusOK && strings.TrimSpace(string(body)) == "true"
	})
}

package proxy_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// TestHeldWaitsForTheDeviceToSubscribe: a device that says Online long
// before it subscribes to its command topic (here: its settle time is zero
// and it subscribes only after the twin shows it online and reports a
// value) still gets what was held for it. Before, the held command went
// out at the settle time to nobody and the write never completed (CI saw
// it with the default 1 s settle on a loaded machine).
func TestHeldWaitsForTheDeviceToSubscribe(t *testing.T) {
	h := bfStart(t, t.TempDir())
	tdText := strings.Replace(bfReadTD(t, "tasmota/plug1.td.json"), `"offline": "Offline"`, `"offline": "Offline", "wotmq:settle": "0s"`, 1)
	if code, body := bfHTTP(t, h, "integrator", http.MethodPut, bfThingPath(bfPlugID), tdText); code != http.StatusCreated {
		t.Fatalf("PUT TD: %d %s", code, body)
	}
	st := bfWriteAsync(t, h, bfPlugID, "power", "true")
	hubtest.WaitFor(t, "the write held for the absent device", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/writes/"+st, "")
		return code == http.StatusOK && bytes.Contains(body, []byte(`"waiting"`))
	})

	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	plug := &bfPlug{conn: conn, c: hubtest.NewClient(t, conn, "plug1")}
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	if _, err := plug.c.Connect(ctx, &paho.Connect{ClientID: "plug1", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	plug.c.MustPub("tele/plug1/LWT", []byte("Online"), nil)
	hubtest.WaitFor(t, "presence online", func() bool {
		var p wot.PresenceState
		return bfPresence(t, h, &p) && p.State == wot.PresenceOnline
	})
	// The proxy handles device messages in order: once it took this report,
	// the round that heard Online (and, before, sent what was held) is over.
	plug.c.MustPub("stat/plug1/POWER", []byte("OFF"), nil)
	hubtest.WaitFor(t, "the report taken", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power", "")
		return code == http.StatusOK && strings.TrimSpace(string(body)) == "false"
	})
	if got := plug.commands(); len(got) != 0 {
		t.Fatalf("the device got %q before it subscribed", got)
	}
	plug.c.Sub("cmnd/plug1/#")
	go plug.serve()
	hubtest.WaitFor(t, "the held write completed once the device subscribed", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/writes/"+st, "")
		return code == http.StatusOK && bytes.Contains(body, []byte(`"completed"`))
	})
	if got := plug.commands(); len(got) != 1 || got[0] != "ON" {
		t.Fatalf("the device got %q, want [ON]", got)
	}
}

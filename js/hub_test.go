package js_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
)

// wait bounds every wait of the Go side of a test.
const wait = 15 * time.Second

// startHub starts a development hub (loopback clients need no
// credentials) with MQTT over TCP and WebSocket on free ports of
// 127.0.0.1, closed when the test ends.
func startHub(t testing.TB) *hub.Hub {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	opts := hub.Options{
		TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", TLSAddr: "off", WSSAddr: "off",
		HTTPAddr: "off", HTTPSAddr: "off", MetricsAddr: "off",
		DataDir: t.TempDir(), Dev: true, Logger: &log,
	}
	h, err := hub.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// connect connects a Go SDK client to the hub, closed when the test ends.
func connect(t testing.TB, h *hub.Hub, clientID string) *wot.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := wot.Connect(ctx, wot.Options{URL: "mqtt://" + h.MQTTAddr(), ClientID: clientID, Timeout: wait})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// node returns the node binary, or skips the test when node or the npm
// packages of js/ are missing.
func node(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the JavaScript client is not tested (install Node.js 18 or later, then make js-deps)")
	}
	if _, err := os.Stat("node_modules/mqtt/package.json"); err != nil {
		t.Skip("js/node_modules has no mqtt: run make js-deps (npm ci --prefix js; make test does)")
	}
	return bin
}

package hubtest

import (
	"io"
	"log/slog"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// StartMochi starts a bare Mochi MQTT 5 broker on 127.0.0.1:0 that lets
// every client do everything, with the hub's socket buffer sizes, and
// returns its address: the baseline beside the hub in benchmarks, or a
// broker that is not a hub. It closes when the test ends.
func StartMochi(tb testing.TB) string {
	tb.Helper()
	srv := mqtt.New(&mqtt.Options{
		Capabilities:             mqtt.NewDefaultServerCapabilities(),
		Logger:                   slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClientNetWriteBufferSize: 4096, // as broker.New sets them
		ClientNetReadBufferSize:  4096,
	})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		tb.Fatal(err)
	}
	tcp := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: "127.0.0.1:0"})
	if err := srv.AddListener(tcp); err != nil {
		tb.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return tcp.Address()
}

// allowAll is Mochi's auth.AllowHook, restated: importing hooks/auth
// would pull gopkg.in/yaml.v3 into go.mod.
type allowAll struct{ mqtt.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

// Command mochi-relay is a bare Mochi MQTT broker that lets every client do
// everything: no hub logic, no storage. It is the baseline "wotmq bench
// --target raw" measures beside wotmq and Mosquitto (make bench).
//
//	mochi-relay --addr 127.0.0.1:1885
//
// It serves until interrupted. It has the socket buffer sizes the hub
// uses, so the difference to wotmq is the hub's work, not the buffers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mochi-relay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mochi-relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	m := &Main{}
	fs.StringVar(&m.Addr, "addr", "127.0.0.1:1885", "MQTT over TCP listen address")
	fs.IntVar(&m.BufferSize, "buffer", 4096, "per-client socket read and write buffer size, bytes (the hub's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := m.Run(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mochi-relay: listening on %s\n", m.Address())
	<-ctx.Done()
	return m.Close()
}

// Main is the relay: a Mochi server with an allow-all hook and one TCP
// listener.
type Main struct {
	Addr       string // listen address, e.g. 127.0.0.1:0
	BufferSize int    // per-client read and write buffer; Mochi's default when 0

	srv *mqtt.Server
	tcp *listeners.TCP
}

// Run starts serving and returns once clients can connect.
func (m *Main) Run() error {
	m.srv = mqtt.New(&mqtt.Options{
		Capabilities:             mqtt.NewDefaultServerCapabilities(),
		Logger:                   slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClientNetWriteBufferSize: m.BufferSize,
		ClientNetReadBufferSize:  m.BufferSize,
	})
	if err := m.srv.AddHook(new(allowAll), nil); err != nil {
		return err
	}
	m.tcp = listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: m.Addr})
	if err := m.srv.AddListener(m.tcp); err != nil {
		return fmt.Errorf("listen on %s: %w", m.Addr, err)
	}
	return m.srv.Serve()
}

// Address is the bound listen address.
func (m *Main) Address() string { return m.tcp.Address() }

// Close stops the server.
func (m *Main) Close() error { return m.srv.Close() }

// allowAll admits every client and allows every publish and subscription.
// It restates Mochi's auth.AllowHook: importing hooks/auth would pull a
// YAML module into go.mod.
type allowAll struct{ mqtt.HookBase }

func (allowAll) ID() string { return "allow-all" }

func (allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (allowAll) OnACLCheck(*mqtt.Client, string, bool) bool { return true }

package hub_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
)

// TestCloseWhileClientsLeave closes the hub while its clients are
// disconnecting. Mochi's own listener shutdown took the client list's
// read lock twice over, and a connection ending in between (waiting for
// the write lock) deadlocked Close; the patched Mochi takes it once
// (mqtt.TestWotmqGetByListenerWithWriter, docs/architecture.md).
func TestCloseWhileClientsLeave(t *testing.T) {
	rounds := 30
	if testing.Short() {
		rounds = 5
	}
	for r := range rounds {
		h := startBareHub(t)
		var clients []*paho.Client
		for i := range 20 {
			conn, err := net.Dial("tcp", h.MQTTAddr())
			if err != nil {
				t.Fatal(err)
			}
			c := paho.NewClient(paho.ClientConfig{ClientID: fmt.Sprintf("leaver-%d", i), Conn: conn, OnClientError: func(error) {}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err = c.Connect(ctx, &paho.Connect{ClientID: fmt.Sprintf("leaver-%d", i), CleanStart: true, KeepAlive: 30})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
		}
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Go(func() { _ = c.Disconnect(&paho.Disconnect{}) })
		}
		closed := make(chan error, 1)
		go func() { closed <- h.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("round %d: close: %v", r, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: Close still waiting after 20 s", r)
		}
		wg.Wait()
	}
}

// startBareHub starts a hub that the test closes itself: startHub's cleanup
// would call Close again, and block behind a Close that hung.
func startBareHub(t *testing.T) *hub.Hub {
	t.Helper()
	h, err := hub.New(hub.Options{TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", DataDir: t.TempDir(), Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		h.Close()
		t.Fatal(err)
	}
	return h
}

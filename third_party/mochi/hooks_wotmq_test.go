package mqtt

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmqBlockHook holds the OnPublish of one client until released.
type wotmqBlockHook struct {
	HookBase
	client  string
	entered chan struct{}
	release chan struct{}
}

func (h *wotmqBlockHook) ID() string           { return "wotmq-block" }
func (h *wotmqBlockHook) Provides(b byte) bool { return b == OnPublish }

func (h *wotmqBlockHook) OnPublish(cl *Client, pk packets.Packet) (packets.Packet, error) {
	if cl.ID == h.client {
		close(h.entered)
		<-h.release
	}
	return pk, nil
}

// TestWotmqPublishHookHoldsItsConnectionOnly pins down what the hub builds
// on by running its work (a store commit before the PUBACK) inside
// OnPublish, on the goroutine that reads the connection (a read worker
// since clients_handoff.go, while the connection's own goroutine waits for
// it; docs/architecture.md): while the hook runs, Mochi reads nothing more
// from that client, so its packets are handled in order and a client that
// publishes faster than the store commits is slowed by TCP rather than
// queued; other clients go on meanwhile.
func TestWotmqPublishHookHoldsItsConnectionOnly(t *testing.T) {
	s := newServer()
	s.Options.Capabilities.ReceiveMaximum = 10
	hook := &wotmqBlockHook{client: "slow", entered: make(chan struct{}), release: make(chan struct{})}
	if err := s.AddHook(hook, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	slow := wotmqDial(t, s, "slow", nil)
	defer slow.c.Close()
	fast := wotmqDial(t, s, "fast", nil)
	defer fast.c.Close()

	slow.write([]byte{0x32, 7, 0, 1, 't', 0, 1, 0, 'x', packets.Pingreq << 4, 0}) // PUBLISH QoS 1, PINGREQ
	<-hook.entered
	fast.write([]byte{0x32, 7, 0, 1, 't', 0, 1, 0, 'x'})
	wotmqExpect(t, fast.c, fast.br, packets.Puback, 0)
	fast.write([]byte{packets.Pingreq << 4, 0})
	wotmqExpect(t, fast.c, fast.br, packets.Pingresp, 0)

	close(hook.release)
	wotmqExpect(t, slow.c, slow.br, packets.Puback, 0)
	wotmqExpect(t, slow.c, slow.br, packets.Pingresp, 0)
}

package mqtt

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmqDeliveryHook holds the delivery of each message to one client
// (OnACLCheck for reading, which publishToClient asks) until released.
type wotmqDeliveryHook struct {
	HookBase
	client  string
	armed   atomic.Bool // once the client subscribed (a SUBSCRIBE asks OnACLCheck too)
	entered chan struct{}
	release chan struct{}
}

func (h *wotmqDeliveryHook) ID() string { return "wotmq-delivery" }
func (h *wotmqDeliveryHook) Provides(b byte) bool {
	return b == OnACLCheck || b == OnConnectAuthenticate
}
func (h *wotmqDeliveryHook) OnConnectAuthenticate(*Client, packets.Packet) bool { return true }

func (h *wotmqDeliveryHook) OnACLCheck(cl *Client, topic string, write bool) bool {
	if cl.ID == h.client && !write && h.armed.Load() {
		h.entered <- struct{}{}
		<-h.release
	}
	return true
}

// TestWotmqFanoutBeforeAck: a QoS 1 or 2 publish is handed to its
// subscribers before the publisher gets its PUBACK or PUBREC, as Mosquitto
// does. Mochi acknowledged first, so a client that subscribed once the
// publisher had its PUBACK (told so by the publisher, or a test) could get
// a retained message twice: the retained copy, then the late live one (the
// hub's TestRetainedWillSurvivesRestart failed so in CI). While the
// delivery to a subscriber is held, no acknowledgement may come.
func TestWotmqFanoutBeforeAck(t *testing.T) {
	for _, qos := range []byte{1, 2} {
		s := New(&Options{Logger: logger})
		hook := &wotmqDeliveryHook{client: "sub", entered: make(chan struct{}), release: make(chan struct{})}
		if err := s.AddHook(hook, nil); err != nil {
			t.Fatal(err)
		}
		sub := wotmqDial(t, s, "sub", nil)
		sub.subscribe(t, 't', 1)
		hook.armed.Store(true)
		pub := wotmqDial(t, s, "pub", nil)
		acks := make(chan packets.Packet, 1)
		go func() {
			pk, _ := wotmqRead(t, pub.c, pub.br)
			acks <- pk
		}()
		pub.write([]byte{0x30 | qos<<1, 7, 0, 1, 't', 0, 1, 0, 'x'}) // PUBLISH t, id 1, "x"
		select {
		case pk := <-acks:
			t.Fatalf("QoS %d: the publisher got packet type %d before its message was delivered", qos, pk.FixedHeader.Type)
		case <-hook.entered:
		}
		// The delivery is held: an acknowledgement now would come before
		// it (the pipe holds a write until it is read, so one made would be
		// read at once; a slow machine can only make this pass wrongly).
		select {
		case pk := <-acks:
			t.Fatalf("QoS %d: the publisher got packet type %d while its message was not delivered yet", qos, pk.FixedHeader.Type)
		case <-time.After(200 * time.Millisecond):
		}
		close(hook.release)
		want := byte(packets.Puback)
		if qos == 2 {
			want = packets.Pubrec
		}
		if pk := <-acks; pk.FixedHeader.Type != want {
			t.Fatalf("QoS %d: the publisher got packet type %d, want %d", qos, pk.FixedHeader.Type, want)
		}
		wotmqExpect(t, sub.c, sub.br, packets.Publish, 0)
		pub.c.Close()
		sub.c.Close()
		s.Close()
	}
}

package mqtt

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestWotmqPacketIDSpaces: the client and the server choose packet ids from
// spaces of their own [MQTT-2.2.1]. While the server has a QoS 1 delivery
// outstanding under id 1, the client uses id 1 for a SUBSCRIBE, an
// UNSUBSCRIBE, a QoS 1 and a QoS 2 PUBLISH: each succeeds, and the
// server's delivery is still there to be acknowledged. Mochi refused the
// SUBSCRIBE and UNSUBSCRIBE with 0x91 (the wotmq SDK's CI failure), deleted
// the delivery on the QoS 1 PUBLISH and overwrote it on the QoS 2 one.
func TestWotmqPacketIDSpaces(t *testing.T) {
	s := New(&Options{Logger: logger, InlineClient: true}) // a receive maximum: the client may publish QoS 1 and 2
	_ = s.AddHook(new(AllowHook), nil)
	defer s.Close()
	w := wotmqDial(t, s, "spaces", nil)
	defer w.c.Close()
	w.subscribe(t, 't', 1) // id 1, acknowledged: free again
	if err := s.Publish("t", []byte("x"), false, 1); err != nil {
		t.Fatal(err)
	}
	pk, err := wotmqRead(t, w.c, w.br)
	if err != nil || pk.FixedHeader.Type != packets.Publish {
		t.Fatalf("got %+v, %v, want the PUBLISH", pk.FixedHeader, err)
	}
	cl, _ := s.Clients.Get("spaces")
	out, ok := cl.State.Inflight.Get(1)
	if !ok || out.FixedHeader.Type != packets.Publish {
		t.Fatalf("the server's delivery is not in flight under id 1: %+v %v", out.FixedHeader, ok)
	}

	// SUBSCRIBE id 1, filter "u", QoS 1.
	w.write([]byte{0x82, 7, 0, 1, 0, 0, 1, 'u', 1})
	if sa := wotmqExpect(t, w.c, w.br, packets.Suback, 0); string(sa.ReasonCodes) != "\x01" {
		t.Fatalf("SUBACK %#x, want granted QoS 1", sa.ReasonCodes)
	}
	// UNSUBSCRIBE id 1, filter "u".
	w.write([]byte{0xa2, 6, 0, 1, 0, 0, 1, 'u'})
	if ua := wotmqExpect(t, w.c, w.br, packets.Unsuback, 0); string(ua.ReasonCodes) != "\x00" {
		t.Fatalf("UNSUBACK %#x, want success", ua.ReasonCodes)
	}
	// PUBLISH QoS 1, id 1, topic "v".
	w.write([]byte{0x32, 6, 0, 1, 'v', 0, 1, 0})
	wotmqExpect(t, w.c, w.br, packets.Puback, 0)
	// PUBLISH QoS 2, id 1, topic "v"; PUBREL id 1.
	w.write([]byte{0x34, 6, 0, 1, 'v', 0, 1, 0})
	wotmqExpect(t, w.c, w.br, packets.Pubrec, 0)
	w.write([]byte{0x62, 2, 0, 1})
	wotmqExpect(t, w.c, w.br, packets.Pubcomp, 0)

	if out, ok := cl.State.Inflight.Get(1); !ok || out.FixedHeader.Type != packets.Publish {
		t.Fatalf("the server's delivery under id 1 is gone: %+v %v", out.FixedHeader, ok)
	}
	// The client acknowledges it, and then pings: once the PINGRESP is
	// back, the PUBACK before it was handled and the delivery has ended.
	w.write([]byte{0x40, 2, 0, 1, 0xc0, 0})
	wotmqExpect(t, w.c, w.br, packets.Pingresp, 0)
	if _, ok := cl.State.Inflight.Get(1); ok {
		t.Fatal("the delivery is still in flight after its PUBACK")
	}
}

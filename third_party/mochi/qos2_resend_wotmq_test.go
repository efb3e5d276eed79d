package mqtt

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestWotmqQoS2ResendGetsPubrec: a client that sends a QoS 2 PUBLISH again
// before it has the PUBREC (DUP, after a reconnect or a lost packet) gets a
// PUBREC that lets the flow go on, and the message is delivered once
// [MQTT-4.3.3-10]. Mochi answered PUBREC 0x91 (packet identifier in use):
// the client then gave the message up as failed though it was delivered,
// never sent the PUBREL, and the server kept the flow for ever, so every
// later QoS 2 PUBLISH of the session with that identifier was refused with
// 0x91 too: lost.
func TestWotmqQoS2ResendGetsPubrec(t *testing.T) {
	s := New(&Options{Logger: logger})
	_ = s.AddHook(new(AllowHook), nil)
	defer s.Close()
	sub := wotmqDial(t, s, "sub", nil)
	defer sub.c.Close()
	sub.subscribe(t, 't', 0)
	pub := wotmqDial(t, s, "pub", nil)
	defer pub.c.Close()

	publish := func(dup bool, payload byte) {
		h := byte(0x34) // PUBLISH QoS 2
		if dup {
			h |= 0x08
		}
		pub.write([]byte{h, 7, 0, 1, 't', 0, 5, 0, payload}) // topic t, id 5, no properties
	}
	publish(false, 'a')
	wotmqExpect(t, pub.c, pub.br, packets.Pubrec, 0)
	publish(true, 'a') // resent: the PUBREC was lost, say
	wotmqExpect(t, pub.c, pub.br, packets.Pubrec, 0)
	pub.write([]byte{0x62, 2, 0, 5}) // PUBREL 5
	wotmqExpect(t, pub.c, pub.br, packets.Pubcomp, 0)
	publish(false, 'b') // the identifier is free again
	wotmqExpect(t, pub.c, pub.br, packets.Pubrec, 0)
	pub.write([]byte{0x62, 2, 0, 5})
	wotmqExpect(t, pub.c, pub.br, packets.Pubcomp, 0)

	// The subscriber gets a, then b: a once.
	for _, want := range "ab" {
		pk := wotmqExpect(t, sub.c, sub.br, packets.Publish, 0)
		if string(pk.Payload) != string(want) {
			t.Fatalf("delivered %q, want %q (the resent PUBLISH delivered again?)", pk.Payload, string(want))
		}
	}
}

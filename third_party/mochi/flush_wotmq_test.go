package mqtt

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestWotmqFlushAfterDroppedPacket: a client with a Maximum Packet Size of
// 64 subscribes to a topic and publishes on it, at QoS 1, a message too
// large for itself (the Paho suite's test_maximum_packet_size). The
// delivery is dropped [MQTT-3.1.2-25]; the PUBACK must still come. The
// PUBACK was written while the delivery was queued, so it waited in the
// write buffer for the writer's last packet to flush it, and that packet
// was the dropped one: the PUBACK never went out.
func TestWotmqFlushAfterDroppedPacket(t *testing.T) {
	s := New(&Options{Logger: logger})
	_ = s.AddHook(new(AllowHook), nil)
	defer s.Close()
	a := wotmqDial(t, s, "a", []byte{0x27, 0, 0, 0, 64}) // Maximum Packet Size 64
	defer a.c.Close()
	a.subscribe(t, 't', 1)
	body := append([]byte{0, 1, 't', 0, 12, 0}, make([]byte, 64)...) // topic t, id 12, no properties
	a.write(append([]byte{0x32, byte(len(body))}, body...))
	wotmqExpect(t, a.c, a.br, packets.Puback, 0)
	// Nothing else came: the next packet is the answer to a PINGREQ.
	a.write([]byte{packets.Pingreq << 4, 0})
	wotmqExpect(t, a.c, a.br, packets.Pingresp, 0)
}

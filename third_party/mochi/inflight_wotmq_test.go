package mqtt

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestWotmqInflightOrder: the messages of a session are resent in the
// order they were queued, also when many were queued within one second
// and their packet IDs are not in that order [MQTT-4.6.0-6]. Mochi sorted
// by the low 16 bits of the creation second, unstably: three events
// queued for an away subscriber came back as 3, 1, 2.
func TestWotmqInflightOrder(t *testing.T) {
	in := NewInflights()
	ids := []uint16{300, 7, 65535, 1, 42, 9, 128, 2}
	for n := 0; n < 50; n++ {
		ids = append(ids, uint16(1000+(n*7919)%5000))
	}
	for _, id := range ids {
		in.Set(packets.Packet{PacketID: id, Created: 1700000000, FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}})
	}
	// Updating a packet (PUBREC -> PUBREL) keeps its place.
	in.Set(packets.Packet{PacketID: 7, Created: 1700000001, FixedHeader: packets.FixedHeader{Type: packets.Pubrel}})
	check := func(name string, got []packets.Packet, want []uint16) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d packets, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i].PacketID != want[i] {
				t.Fatalf("%s: packet %d is id %d, want %d", name, i, got[i].PacketID, want[i])
			}
		}
	}
	check("GetAll", in.GetAll(false), ids)
	check("Clone", in.Clone().GetAll(false), ids)
	in.Delete(65535)
	in.Set(packets.Packet{PacketID: 65535, Created: 1700000000})
	check("re-added goes last", in.GetAll(false), append(append(append([]uint16{}, ids[:2]...), ids[3:]...), 65535))
}

package packets

import (
	"bytes"
	"testing"
)

// Mochi's tests allow every property in packet type Reserved (the init in
// properties_test.go, which runs before this file's: files initialise in
// name order); the table follows.
func init() { validPropertiesTable = buildValidPropertiesTable() }

// TestWotmqPropertiesTable: the array canEncode reads says for every
// property and packet type what the map of valid properties says.
func TestWotmqPropertiesTable(t *testing.T) {
	var p Properties
	for k := 0; k < 256; k++ {
		for pkt := 0; pkt < 256; pkt++ {
			want := validPacketProperties[byte(k)][byte(pkt)] == 1
			if got := p.canEncode(byte(pkt), byte(k)); got != want {
				t.Fatalf("property %d in packet type %d: canEncode %v, want %v", k, pkt, got, want)
			}
		}
	}
}

// BenchmarkWotmqPublishEncode encodes a hub event: a QoS 1 PUBLISH with
// the two user properties the hub stamps.
func BenchmarkWotmqPublishEncode(b *testing.B) {
	pk := Packet{
		FixedHeader:     FixedHeader{Type: Publish, Qos: 1},
		ProtocolVersion: 5,
		TopicName:       "wotmq/things/bench-t0/events/tick",
		PacketID:        7,
		Payload:         bytes.Repeat([]byte("x"), 64),
		Properties: Properties{User: []UserProperty{
			{Key: "sender", Val: "bench-a0"}, {Key: "time", Val: "2026-12-07T09:00:00.123456789Z"},
		}},
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := pk.PublishEncode(&buf); err != nil {
			b.Fatal(err)
		}
	}
}

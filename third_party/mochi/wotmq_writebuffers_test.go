package mqtt

import (
	"bytes"
	"io"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestWotmqWriteBuffersPooled: writing a PUBLISH with a 1 KiB payload
// takes its encoding buffer from a pool instead of growing a new one, and
// the bytes on the wire stay those of the packet.
func TestWotmqWriteBuffersPooled(t *testing.T) {
	cl, r, w := newTestClient()
	cl.Net.Conn = w
	cl.ops.options.ClientNetWriteBufferSize = 4096 // as the server sets it
	cl.Properties.ProtocolVersion = 5
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 0},
		TopicName:   "wotmq/things/t/events/e",
		Payload:     bytes.Repeat([]byte("x"), 1024),
		Properties:  packets.Properties{User: []packets.UserProperty{{Key: "sender", Val: "a"}}},
	}
	var want bytes.Buffer
	enc := pk
	enc.ProtocolVersion = 5
	enc.Mods.AllowResponseInfo = true
	if err := enc.PublishEncode(&want); err != nil {
		t.Fatal(err)
	}
	if err := cl.WritePacket(pk); err != nil { // warms the pool
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if err := cl.WritePacket(pk); err != nil {
			t.Fatal(err)
		}
	})
	_ = w.Close()
	wire := <-got
	if n := len(wire) / want.Len(); n != 52 || !bytes.Equal(wire[:want.Len()], want.Bytes()) || !bytes.Equal(wire[len(wire)-want.Len():], want.Bytes()) {
		t.Fatalf("%d bytes on the wire, want 52 packets of %d", len(wire), want.Len())
	}
	if allocs > 1 && !wotmqRace {
		t.Fatalf("%.0f allocations per 1 KiB PUBLISH written, want at most 1", allocs)
	}
}

package mqtt

import (
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmqCountingConn counts the writes made on a connection.
type wotmqCountingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *wotmqCountingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestWotmqHoldWrites: between HoldWrites and ReleaseWrites the packets
// written outside the writer (PUBACKs) are buffered and go out in one
// write(2), in order; without a hold each goes out at once.
func TestWotmqHoldWrites(t *testing.T) {
	cl, r, w := newTestClient()
	cc := &wotmqCountingConn{Conn: w}
	cl.Net.Conn = cc
	cl.ops.options.ClientNetWriteBufferSize = 4096 // as the server sets it
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	puback := func(id uint16) packets.Packet {
		return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: id}
	}
	if err := cl.WritePacket(puback(1)); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load(); n != 1 {
		t.Fatalf("%d writes for one PUBACK without a hold", n)
	}
	cl.HoldWrites()
	for id := uint16(2); id <= 4; id++ {
		if err := cl.WritePacket(puback(id)); err != nil {
			t.Fatal(err)
		}
	}
	if n := cc.writes.Load(); n != 1 {
		t.Fatalf("%d writes while held, want none more", n-1)
	}
	if err := cl.ReleaseWrites(); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load(); n != 2 {
		t.Fatalf("%d writes for three held PUBACKs, want one", n-1)
	}
	_ = w.Close()
	b := <-got
	// A PUBACK is 4 bytes (MQTT 3.1.1 encoding of the test client): 0x40 0x02 id.
	if len(b) != 16 || b[3] != 1 || b[7] != 2 || b[11] != 3 || b[15] != 4 {
		t.Fatalf("written % x, want PUBACKs 1 to 4 in order", b)
	}
}

package mqtt

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestWotmqStreamWritesShareAWrite: the writer of a client in a stream of
// deliveries (its last writer ended within streamGap) yields before it
// takes its batch, so that a packet another publisher queues meanwhile
// goes out in the same write(2); a client that gets a packet now and then
// is written at once, without yielding. The yield is replaced by a
// publisher queueing a packet: what the Go scheduler then runs is its own
// business, what the writer does around it is the patch's.
func TestWotmqStreamWritesShareAWrite(t *testing.T) {
	for _, tc := range []struct {
		name         string
		ended        int64 // writerEnded
		yields       int
		writes       int
		packetsInOne int
	}{
		{"InAStream", sinceStart() + int64(time.Hour), 1, 1, 2}, // ended "just now", however long the test takes to get there
		{"NowAndThen", 0, 0, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, r, w := newTestClient()
			conn := &wotmqCountingConn{Conn: w} // writes counted (wotmq_holdwrites_test.go)
			cl.Net.Conn = conn
			wire := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(r)
				wire <- b
			}()
			cl.Properties.ProtocolVersion = 5
			cl.ops.options.ClientNetWriteBufferSize = 4096
			cl.State.writerEnded.Store(tc.ended)
			pk := func(i byte) *packets.Packet {
				return &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "t", Payload: []byte{i}}
			}
			yields := 0
			cl.ops.yield = func() {
				yields++
				if !cl.enqueue(pk(2)) { // another publisher, while the writer yields
					t.Error("second packet refused")
				}
			}
			if !cl.enqueue(pk(1)) { // starts the writer
				t.Fatal("first packet refused")
			}
			// Wait for the writer to end (a condition, not a clock).
			for {
				cl.State.outMu.Lock()
				done := !cl.State.outWriting
				cl.State.outMu.Unlock()
				if done {
					break
				}
				time.Sleep(time.Millisecond)
			}
			enc := *pk(1)
			enc.ProtocolVersion = 5
			enc.Mods.AllowResponseInfo = true
			var one bytes.Buffer
			if err := enc.PublishEncode(&one); err != nil {
				t.Fatal(err)
			}
			_ = w.Close()
			bytesOut := len(<-wire)
			if writes := int(conn.writes.Load()); yields != tc.yields || writes != tc.writes || bytesOut != one.Len()*tc.packetsInOne {
				t.Fatalf("%d yields, %d writes of %d bytes; want %d yields and %d packets in %d write", yields, writes, bytesOut, tc.yields, tc.packetsInOne, tc.writes)
			}
			if cl.State.writerEnded.Load() == tc.ended {
				t.Fatal("the writer's end was not recorded")
			}
		})
	}
}

package mqtt

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestWotmqClientQueueBytes: MaximumClientWritesPendingBytes bounds the
// memory of a client's queue apart from its count of messages; a packet
// larger than the whole bound still goes out when the queue is empty, and
// the room comes back once the writer took the queue.
func TestWotmqClientQueueBytes(t *testing.T) {
	cl, _, _ := newTestClient()
	cl.ops.options.Capabilities.MaximumClientWritesPending = 1000
	pk := func(n int) *packets.Packet {
		return &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "t", Payload: make([]byte, n)}
	}
	one := queuedCost(pk(1000))
	cl.ops.options.Capabilities.MaximumClientWritesPendingBytes = 3 * one
	cl.State.outMu.Lock()
	cl.State.outWriting = true // no writer: the queue keeps what was sent
	cl.State.outMu.Unlock()
	for i := 0; i < 3; i++ {
		if !cl.enqueue(pk(1000)) {
			t.Fatalf("packet %d refused within the bound", i+1)
		}
	}
	if cl.enqueue(pk(1000)) {
		t.Fatal("a fourth packet was queued beyond the byte bound")
	}
	if cl.enqueue(pk(0)) {
		t.Fatal("an empty packet (its struct still costs) was queued beyond the byte bound")
	}
	cl.State.outMu.Lock()
	cl.State.outQueue, cl.State.outBytes = nil, 0 // as the writer takes a batch
	cl.State.outMu.Unlock()
	if !cl.enqueue(pk(int(10 * one))) {
		t.Fatal("a packet larger than the bound was refused on an empty queue")
	}
	if cl.enqueue(pk(1)) {
		t.Fatal("a packet was queued behind one that fills the bound")
	}
}

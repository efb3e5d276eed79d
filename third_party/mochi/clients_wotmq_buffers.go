package mqtt

import "github.com/mochi-mqtt/server/v2/mempool"

// wotmq: the buffers a client's packets are encoded into (WritePacket) and
// gathered in before a write (Net.outbuf) come from a pool. Each was a new
// bytes.Buffer grown step by step to the packet's size (64, 128, ... 2048
// bytes for an event with a 1 KiB payload), then copied into a second one
// grown the same way: a quarter of the bytes the hub allocated under a
// stream of 1 KiB events. Buffers grown past maxPooledWriteBuffer (a large
// packet) are left to the garbage collector.
const maxPooledWriteBuffer = 64 << 10

var writeBuffers = mempool.NewBuffer(maxPooledWriteBuffer)

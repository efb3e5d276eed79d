package mqtt

import (
	"io"
	"net"
	"sync"
)

// wotmq: a client's read buffer (ClientNetReadBufferSize, 4 KiB in the
// hub) was a bufio.Reader each connection held for its whole life, idle or
// not. connReader holds a pooled buffer of that size only while a client
// sends more than fits a small one; a client that is idle, or sends one
// small packet at a time, reads into a small buffer inside the reader.

// connSmallRead is the size of the buffer an idle connection waits with:
// PINGREQs, acknowledgements, subscriptions and small publishes fit.
const connSmallRead = 128

// readPools holds a sync.Pool of read buffers per buffer size.
var readPools sync.Map // int -> *sync.Pool of *[]byte

func readPool(size int) *sync.Pool {
	if p, ok := readPools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := readPools.LoadOrStore(size, &sync.Pool{New: func() any { b := make([]byte, size); return &b }})
	return p.(*sync.Pool)
}

// connReader is a buffered reader of a client's connection. It must be
// used by one goroutine (the client's reader).
type connReader struct {
	conn   net.Conn
	size   int     // size of the pooled buffers
	pooled *[]byte // the pooled buffer in use, nil while reading into small
	buf    []byte  // small[:] or *pooled
	r, w   int     // buf[r:w] is read and not yet consumed
	busy   bool    // the last read filled its buffer: more is likely waiting
	small  [connSmallRead]byte
}

func newConnReader(c net.Conn, size int) *connReader {
	if size < connSmallRead {
		size = connSmallRead
	}
	cr := &connReader{conn: c, size: size}
	cr.buf = cr.small[:]
	return cr
}

// Buffered is the number of bytes read and not yet consumed.
func (b *connReader) Buffered() int { return b.w - b.r }

// fill reads more into an empty buffer: into the small one, giving back
// the pooled buffer, unless the last read filled its buffer.
func (b *connReader) fill() error {
	b.r, b.w = 0, 0
	switch {
	case b.busy && b.pooled == nil:
		b.pooled = readPool(b.size).Get().(*[]byte)
		b.buf = *b.pooled
	case !b.busy && b.pooled != nil:
		readPool(b.size).Put(b.pooled)
		b.pooled = nil
		b.buf = b.small[:]
	}
	for i := 0; i < 100; i++ { // as bufio: a reader that keeps returning nothing is broken
		n, err := b.conn.Read(b.buf)
		b.w = n
		b.busy = n == len(b.buf)
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// ReadByte reads one byte.
func (b *connReader) ReadByte() (byte, error) {
	for b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.r]
	b.r++
	return c, nil
}

// Read reads what is buffered into p, or reads from the connection when
// nothing is: straight into p when p is at least a pooled buffer's size.
func (b *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if len(p) >= b.size {
			if b.pooled != nil { // nothing buffered: give it back
				readPool(b.size).Put(b.pooled)
				b.pooled = nil
				b.buf = b.small[:]
			}
			return b.conn.Read(p)
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

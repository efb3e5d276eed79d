package mqtt

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmq: a connection's goroutine (the one a listener starts, which
// returns when the connection ends) only waits. It waits for the CONNECT
// and then for the first byte of each burst of packets, in a few frames
// (about 1 KiB in use, a 4 KiB stack); a pooled worker decodes and handles
// what came, for as long as more is buffered or (TCP, TLS) arrives within
// workerLinger, and hands the connection back. Deciding a CONNECT or
// handling a packet takes over 10 KiB of stack (Mochi's packet frames, the
// hooks): when the connection's own goroutine did it, its stack grew to
// 16 KiB with every packet, even a PINGREQ, and the garbage collector
// halved it at most once per cycle, so an idle hub's connections kept 8 to
// 16 KiB of stack each, and what was freed by the halving stayed in the
// heap besides. A worker's grown stack serves every connection in turn.
// There are at most as many workers as connections with work under way.

// workerIdle is how long a worker without work waits for more before it
// ends.
const workerIdle = 10 * time.Second

// readWorkers runs connections' work on a pool of goroutines that grows
// when every worker is busy and shrinks when they idle.
type readWorkers struct {
	tasks chan readTask // unbuffered: a send succeeds only to an idle worker
	done  <-chan bool   // the server's: closed when it closes; idle workers end
}

// readTask is one turn of a connection's work; its result goes to
// cl.State.turnDone.
type readTask struct {
	cl *Client
	fn func(*Client) error
}

func newReadWorkers(done <-chan bool) *readWorkers {
	return &readWorkers{tasks: make(chan readTask), done: done}
}

// run runs fn(cl) on a worker and waits for its result.
func (w *readWorkers) run(cl *Client, fn func(*Client) error) error {
	cl.State.turnOnce.Do(func() { cl.State.turnDone = make(chan error, 1) })
	t := readTask{cl: cl, fn: fn}
	select {
	case w.tasks <- t:
	default:
		go w.work(t)
	}
	return <-cl.State.turnDone
}

// work runs t and then whatever task comes, until none came for
// workerIdle or the server closed.
func (w *readWorkers) work(t readTask) {
	var idle *time.Timer
	for {
		t.cl.State.turnDone <- t.fn(t.cl)
		t = readTask{}
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case t = <-w.tasks:
		case <-idle.C:
			return
		case <-w.done:
			return
		}
	}
}

// readHandingOff is Read with the work on the server's workers: the
// connection's goroutine waits for bytes and a worker handles every packet
// they complete, reading on while more is buffered.
func (cl *Client) readHandingOff(w *readWorkers, packetHandler ReadFn) error {
	turn := func(cl *Client) error { return cl.readBuffered(packetHandler) }
	for {
		if cl.Closed() {
			return nil
		}
		cl.refreshDeadline(cl.State.Keepalive)
		if err := cl.Net.bconn.wait(); err != nil {
			return err
		}
		if err := w.run(cl, turn); err != nil {
			return err
		}
	}
}

// readBuffered reads and handles packets until none came for
// workerLinger at the start of one (or the client closed): it may wait for
// the rest of a packet it began, as Read does. A connection whose packets
// follow each other closely (a publisher waiting for each PUBACK, an agent
// answering requests) keeps its worker, without a hand-off per packet; a
// connection whose reads cannot time out and go on (a WebSocket's) is
// handed back as soon as nothing is buffered.
func (cl *Client) readBuffered(packetHandler ReadFn) error {
	linger := lingerable(cl.Net.Conn)
	for {
		fh := new(packets.FixedHeader)
		if err := cl.ReadFixedHeader(fh); err != nil {
			return err
		}
		if err := cl.readAndHandle(fh, packetHandler); err != nil {
			return err
		}
		if cl.Closed() {
			return nil
		}
		if cl.Net.bconn.Buffered() == 0 {
			if !linger {
				return nil
			}
			_ = cl.Net.Conn.SetReadDeadline(time.Now().Add(workerLinger))
			if err := cl.Net.bconn.wait(); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					return nil // quiet: the connection's goroutine waits with the keep alive deadline
				}
				return err
			}
		}
		cl.refreshDeadline(cl.State.Keepalive)
	}
}

// workerLinger is how long a worker waits for a connection's next packet
// before it hands the connection back: long enough for a client that
// waits for each answer, short enough that few workers wait at a time
// (a hub whose 10,000 idle clients each send a PINGREQ a second: some 200).
const workerLinger = 20 * time.Millisecond

// lingerable reports whether a read of c that timed out leaves c usable:
// TCP and TLS connections (a WebSocket's reader is broken by a timeout).
func lingerable(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *tls.Conn:
		return true
	}
	return false
}

// handoffState is a client's part of the hand-off: the channel its turns'
// results come back on, made at its first turn.
type handoffState struct {
	turnOnce sync.Once
	turnDone chan error
}

// wait returns once something is buffered, reading when nothing is.
func (b *connReader) wait() error {
	for b.r == b.w {
		if err := b.fill(); err != nil {
			return err
		}
	}
	return nil
}

// establishHandingOff is establish on a worker, once the CONNECT's first
// byte came (a socket that sends nothing holds no worker).
func (s *Server) establishHandingOff(cl *Client, listener string) (connected bool, err error) {
	w := cl.ops.workers
	if w == nil || cl.Net.bconn == nil {
		return s.establish(cl, listener)
	}
	if err := cl.Net.bconn.wait(); err != nil {
		return s.establish(cl, listener) // which reads the error again and answers it
	}
	err = w.run(cl, func(cl *Client) error {
		var err error
		connected, err = s.establish(cl, listener)
		return err
	})
	return connected, err
}

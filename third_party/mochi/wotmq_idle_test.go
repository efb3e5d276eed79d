package mqtt

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmq: an idle connection costs one goroutine (its reader), with a
// small stack, and no preallocated queue; a writer goroutine exists only
// while packets are queued for the client.

// wotmqIdleConn connects an MQTT 5 client with the given ID over a pipe
// and waits for its CONNACK.
func wotmqIdleConn(t *testing.T, s *Server, id string) (net.Conn, *bufio.Reader) {
	t.Helper()
	r, w := net.Pipe()
	go func() { _ = s.EstablishConnection("tcp", r) }()
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0, 0, byte(len(id) >> 8), byte(len(id))}
	body = append(body, id...)
	go func() { _, _ = w.Write(append([]byte{packets.Connect << 4, byte(len(body))}, body...)) }()
	br := bufio.NewReader(w)
	wotmqExpect(t, w, br, packets.Connack, 0)
	return w, br
}

// wotmqWriterIdle reports whether a client has no writer and no queue.
func wotmqWriterIdle(cl *Client) bool {
	cl.State.outMu.Lock()
	defer cl.State.outMu.Unlock()
	return !cl.State.outWriting && cl.State.outQueue == nil
}

func TestWotmqWriterOnDemand(t *testing.T) {
	s := newServer()
	defer s.Close()
	c, br := wotmqIdleConn(t, s, "writer")
	defer c.Close()
	cl, ok := s.Clients.Get("writer")
	if !ok {
		t.Fatal("client not listed")
	}
	if !wotmqWriterIdle(cl) {
		t.Fatal("a connected client that was sent nothing has a writer or a queue")
	}

	const n = 200
	go func() {
		for i := 0; i < n; i++ {
			pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "a/b",
				Payload: []byte(fmt.Sprint(i))}
			if _, err := s.publishToClient(cl, packets.Subscription{Filter: "a/b"}, pk); err != nil {
				t.Errorf("publish %d: %v", i, err)
			}
		}
	}()
	for i := 0; i < n; i++ {
		pk, err := wotmqRead(t, c, br)
		if err != nil || pk.FixedHeader.Type != packets.Publish {
			t.Fatalf("packet %d: %+v %v", i, pk.FixedHeader, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second) // a last-resort bound
	for !wotmqWriterIdle(cl) {
		if time.Now().After(deadline) {
			t.Fatal("the writer did not end with the queue empty")
		}
		runtime.Gosched()
	}
}

// TestWotmqIdleStackSmall: the goroutines of an idle connection hold
// about 4 KiB of stack once the garbage collector shrank them (8 KiB
// before the hand-off to workers, clients_handoff.go; Mochi: 20.6
// KiB, a reader whose frames held the CONNECT and the last packet, which
// kept its stack from shrinking, and a writer).
func TestWotmqIdleStackSmall(t *testing.T) {
	s := newServer()
	defer s.Close()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.StackInuse
	const n = 200
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, br := wotmqIdleConn(t, s, fmt.Sprint("idle-", i))
		// One packet each way after the CONNACK, as a client that subscribed.
		go func() { _, _ = c.Write([]byte{packets.Pingreq << 4, 0}) }()
		wotmqExpect(t, c, br, packets.Pingresp, 0)
		conns = append(conns, c)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	per := float64(ms.StackInuse-before) / n
	t.Logf("stack per idle connection: %.0f bytes", per)
	if per > 6<<10 { // 4 KiB measured since the hand-off (clients_handoff.go), 8 KiB before
		t.Errorf("idle connections hold %.0f bytes of stack each, want at most 6 KiB", per)
	}
}

package mqtt

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmq: a connection's goroutine only waits; a pool of workers decides
// its CONNECT and handles its packets (clients_handoff.go).

// TestWotmqHandOffStackSmall: handling a packet does not grow the stack of
// the connection's goroutine. Before, each reader grew to 16 KiB for a
// PINGREQ and kept it until garbage collections halved it, once per
// cycle; so the figure is taken without a collection.
func TestWotmqHandOffStackSmall(t *testing.T) {
	s := newServer()
	defer s.Close()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.StackInuse
	const n = 300
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, br := wotmqIdleConn(t, s, fmt.Sprint("handoff-", i))
		go func() { _, _ = c.Write([]byte{packets.Pingreq << 4, 0}) }()
		wotmqExpect(t, c, br, packets.Pingresp, 0)
		conns = append(conns, c)
	}
	runtime.ReadMemStats(&ms) // no collection: a stack that grew is counted grown
	per := float64(ms.StackInuse-before) / n
	t.Logf("stack per connection after a PINGREQ, no GC: %.0f bytes", per)
	if per > 6<<10 { // 4 KiB measured (the workers' stacks included); 16 KiB before
		t.Errorf("connections hold %.0f bytes of stack each after a packet, want at most 6 KiB", per)
	}
}

// TestWotmqHandOffBursts: packets that come together are handled in a
// turn, in order, and a packet that comes in pieces is waited for.
func TestWotmqHandOffBursts(t *testing.T) {
	s := newServer()
	defer s.Close()
	c, br := wotmqIdleConn(t, s, "bursts")
	defer c.Close()

	const n = 50
	burst := bytes.Repeat([]byte{packets.Pingreq << 4, 0}, n)
	go func() { _, _ = c.Write(burst) }()
	for i := 0; i < n; i++ {
		wotmqExpect(t, c, br, packets.Pingresp, 0)
	}

	// A SUBSCRIBE in three writes: its first byte, its length, its rest.
	sub := []byte{packets.Subscribe<<4 | 2, 0, 0, 1, 0, 0, 3, 'a', '/', 'b', 0}
	sub[1] = byte(len(sub) - 2)
	go func() {
		for _, part := range [][]byte{sub[:1], sub[1:2], sub[2:]} {
			if _, err := c.Write(part); err != nil {
				return
			}
		}
	}()
	wotmqExpect(t, c, br, packets.Suback, 0)
	if _, ok := s.Topics.Subscribers("a/b").Subscriptions["bursts"]; !ok {
		t.Fatal("the SUBSCRIBE that came in pieces was not handled")
	}
}

// TestWotmqHandOffWorkersEnd: the workers end when the server closes.
func TestWotmqHandOffWorkersEnd(t *testing.T) {
	s := newServer()
	c, br := wotmqIdleConn(t, s, "ends")
	go func() { _, _ = c.Write([]byte{packets.Pingreq << 4, 0}) }()
	wotmqExpect(t, c, br, packets.Pingresp, 0)
	if wotmqWorkers() == 0 {
		t.Fatal("no worker after a packet was handled")
	}
	c.Close()
	_ = s.Close()
	deadline := time.Now().Add(30 * time.Second) // a last-resort bound
	for wotmqWorkers() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still run after the server closed", wotmqWorkers())
		}
		runtime.Gosched()
	}
}

// wotmqWorkers counts the goroutines that are read workers.
func wotmqWorkers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "(*readWorkers).work(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// BenchmarkWotmqHandOff: a PINGREQ answered, one at a time, over loopback
// TCP, with the packet handled by a worker (the patch) and on the
// connection's goroutine (Mochi): the cost of a hand-off per turn.
func BenchmarkWotmqHandOff(b *testing.B) {
	for _, workers := range []bool{true, false} {
		b.Run(map[bool]string{true: "Workers", false: "OwnGoroutine"}[workers], func(b *testing.B) {
			s := newServer()
			defer s.Close()
			if !workers {
				s.workers = nil
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err == nil {
					_ = s.EstablishConnection("tcp", c)
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			id := "bench"
			body := []byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0, 0, byte(len(id) >> 8), byte(len(id))}
			body = append(body, id...)
			if _, err := c.Write(append([]byte{packets.Connect << 4, byte(len(body))}, body...)); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64)
			if _, err := c.Read(buf); err != nil { // the CONNACK
				b.Fatal(err)
			}
			ping := []byte{packets.Pingreq << 4, 0}
			cpu0 := wotmqCPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(ping); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf[:2]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// CPU time of the process (the client's side included), less
			// disturbed than the time per round trip on a busy machine.
			b.ReportMetric(float64(wotmqCPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// wotmqCPUTime is the process's user and system CPU time.
func wotmqCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package listeners

import (
	"net"
	"testing"
	"time"
)

// wotmqWaitListening waits until something accepts connections on addr.
//
// wotmq: the HTTP listeners bind in Serve, on the test's goroutine for
// it; the tests slept 1 ms and then connected, which a loaded machine
// loses ("connection refused"), and the failed test left its server to
// bind the shared test port afterwards, so that every later test of the
// package failed with "address already in use" (seen in wotmq's CI).
func wotmqWaitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "localhost"+addr)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(5 * time.Millisecond) // polling the condition
	}
}

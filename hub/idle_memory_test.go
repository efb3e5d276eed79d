package hub_test

import (
	"fmt"
	"runtime"
	"testing"
)

// TestIdleConnectionStack: an idle MQTT 5 connection to the hub holds one
// small goroutine (issue 15). It waits under the TCP listener, the hub's
// connection watch (broker/links.go) and Mochi's attachClient; a pool of
// workers decides the CONNECT and handles the packets (patched Mochi,
// clients_handoff.go, whose TestWotmqHandOffStackSmall covers a packet
// after the CONNECT). Before, the connection's goroutine grew to 16 KiB
// deciding the CONNECT and the garbage collector halved it at most once
// per cycle, so the figure is taken without a collection. The
// connections connect one after the other, so one worker serves them all.
func TestIdleConnectionStack(t *testing.T) {
	h := startHub(t, t.TempDir())
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	stacks, goroutines := ms.StackInuse, runtime.NumGoroutine()
	const n = 300
	for i := range n {
		dialRaw(t, h, fmt.Sprint("idle-", i), 0)
	}
	runtime.ReadMemStats(&ms) // no collection: a stack that grew is counted grown
	per := float64(ms.StackInuse-stacks) / n
	t.Logf("per idle connection: %.0f bytes of stack, %.2f goroutines",
		per, float64(runtime.NumGoroutine()-goroutines)/n)
	if per > 6<<10 { // 4 KiB measured; 16 KiB before
		t.Errorf("idle connections hold %.0f bytes of stack each, want at most 6 KiB", per)
	}
}

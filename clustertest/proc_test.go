package clustertest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fatalTB records the first Fatalf and ends the goroutine that called it,
// as testing.T does, without failing the test that runs it.
type fatalTB struct {
	testing.TB
	msg chan string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg <- fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A process that exits before its line fails the wait at once, while the
// others still run and have printed nothing: a cluster node that lost
// its port is named, not waited for behind its peers.
func TestWaitLineAllFailsOnAnExit(t *testing.T) {
	ft := &fatalTB{TB: t, msg: make(chan string, 1)}
	quiet := Start(t, "quiet", "sleep", nil, "", "600")
	gone := Start(t, "gone", "sh", nil, "", "-c", "echo bye; exit 3")
	go func() {
		WaitLineAll(ft, []*Proc{quiet, gone}, "ready", time.Hour)
		ft.msg <- "returned"
	}()
	msg := <-ft.msg
	if !strings.HasPrefix(msg, "gone exited (exit status 3)") || !strings.Contains(msg, "bye") {
		t.Fatalf("WaitLineAll: %q, want gone's exit and its output", msg)
	}
}

// FreePorts gives distinct ports that can be listened on, below the
// kernel's ephemeral range where there is one to stay under.
func TestFreePortsBelowTheEphemeralRange(t *testing.T) {
	ports := FreePorts(t, 6)
	low := ephemeralLow()
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d twice in %v", p, ports)
		}
		seen[p] = true
		if low-minFreePort > 24 && (p < minFreePort || p >= low) {
			t.Errorf("port %d outside [%d, %d)", p, minFreePort, low)
		}
	}
}

package loadtest

import (
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestFindListenerFindsThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pid, err := FindListener(l.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	if pid != os.Getpid() {
		t.Fatalf("pid %d, want %d", pid, os.Getpid())
	}
}

func TestReadProcOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	w := watchProc(os.Getpid(), 10*time.Millisecond)
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // burn some CPU
	}
	cpu, rss := w.finish()
	if cpu <= 0 || rss <= 1<<20 {
		t.Fatalf("cpu %.1f%% rss %d", cpu, rss)
	}
	if cpu, rss := watchProc(0, time.Second).finish(); cpu != -1 || rss != -1 {
		t.Fatalf("no process: cpu %.1f rss %d", cpu, rss)
	}
}

func TestEventPayloadRoundTrip(t *testing.T) {
	p := eventPayload(42, 123456789, true, 100)
	if len(p) != 100 {
		t.Errorf("payload %d bytes, want 100: %s", len(p), p)
	}
	ts, measured, ok := parseEvent(p)
	if !ok || ts != 123456789 || !measured {
		t.Fatalf("parse %s: %d %v %v", p, ts, measured, ok)
	}
	if _, _, ok := parseEvent([]byte(`{"seq":1}`)); ok {
		t.Error("truncated payload parsed")
	}
}

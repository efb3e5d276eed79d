package main

import (
	"flag"
	"io"
	"testing"

	"github.com/wotmq/wotmq/hub"
)

// TestClientQueueAndWindowFlags: the client queue's bounds and the
// request window are set apart, by flag or WOTMQ_* variable, with their
// defaults when unset and 0 turning a bound off.
func TestClientQueueAndWindowFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) hub.Limits {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		m := &Main{}
		serveFlags(fs, m)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		return m.Options.Limits
	}
	l := parse(nil)
	if l.ClientQueue != hub.DefaultClientQueue || l.ClientQueueBytes != hub.DefaultClientQueueBytes || l.RequestWindow != hub.DefaultRequestWindow {
		t.Errorf("defaults: queue %d, bytes %d, window %d", l.ClientQueue, l.ClientQueueBytes, l.RequestWindow)
	}
	l = parse(map[string]string{"WOTMQ_REQUEST_WINDOW": "7"}, "--client-queue", "100", "--client-queue-bytes", "1MiB")
	if l.ClientQueue != 100 || l.ClientQueueBytes != 1<<20 || l.RequestWindow != 7 {
		t.Errorf("set: queue %d, bytes %d, window %d", l.ClientQueue, l.ClientQueueBytes, l.RequestWindow)
	}
	if l = parse(nil, "--client-queue-bytes", "0"); l.ClientQueueBytes >= 0 {
		t.Errorf("--client-queue-bytes 0: %d, want off (negative)", l.ClientQueueBytes)
	}
}

package rtc_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHubImports keeps package rtc free of the hub, as package wot is: a
// device that opens channels links pion, but not the broker, Badger, Mochi
// or the hub's stores.
func TestNoHubImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/wotmq/wotmq/wot/rtc").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/wotmq/wotmq/broker",
		"github.com/wotmq/wotmq/hub",
		"github.com/wotmq/wotmq/inbox",
		"github.com/wotmq/wotmq/outbox",
		"github.com/wotmq/wotmq/directory",
		"github.com/wotmq/wotmq/authz",
		"github.com/wotmq/wotmq/presence",
		"github.com/wotmq/wotmq/cmd",
		"github.com/dgraph-io/",
		"github.com/mochi-mqtt/",
		"github.com/rs/zerolog",
	}
	deps := strings.Fields(string(out))
	pion := false
	for _, d := range deps {
		pion = pion || strings.HasPrefix(d, "github.com/pion/webrtc/")
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("package rtc depends on %s", d)
			}
		}
	}
	if !pion {
		t.Errorf("go list -deps does not list pion/webrtc: %q", deps)
	}
}

package wot_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHubImports keeps package wot free of the hub: a device binary that
// imports it must not link the broker, Badger, Mochi or the hub's stores,
// nor pion's WebRTC stack (package wot/rtc) (tailscale's tstest/deptest
// does the same).
func TestNoHubImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/wotmq/wotmq/wot").Output()
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
		"github.com/pion/", // WebRTC lives in wot/rtc: devices without channels do not link it
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed nothing")
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("package wot depends on %s", d)
			}
		}
	}
}

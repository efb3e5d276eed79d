package httpapi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the HTTP binding a room of its own (tailscale's
// tstest/deptest does the same): it serves the twin core over HTTP and
// links no MQTT library (neither Mochi nor paho), not zerolog's global
// logger, and neither the MQTT adapter nor the hub that builds on it.
func TestDependencies(t *testing.T) {
	const mod = "github.com/wotmq/wotmq/"
	forbidden := []string{
		"github.com/mochi-mqtt/",
		"github.com/eclipse/paho.golang/",
		"github.com/rs/zerolog/log",
		mod + "broker",
		mod + "hub",
		mod + "wot",
		mod + "cmd/",
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", mod+"httpapi").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/")) {
				t.Errorf("httpapi links %s", dep)
			}
		}
	}
}

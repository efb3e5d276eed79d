package explorer_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the explorer a room of its own: pages over the
// HTTP binding's handler, the twin core and the stores, linking no MQTT
// library, neither the MQTT adapter nor the hub that builds on it, no
// HTTP binding internals (it is given the binding's handler) and not
// zerolog's global logger.
func TestDependencies(t *testing.T) {
	const mod = "github.com/wotmq/wotmq/"
	forbidden := []string{
		"github.com/mochi-mqtt/",
		"github.com/eclipse/paho.golang/",
		"github.com/rs/zerolog/log",
		mod + "broker",
		mod + "httpapi",
		mod + "hub",
		mod + "wot",
		mod + "cmd/",
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", mod+"explorer").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/")) {
				t.Errorf("explorer links %s", dep)
			}
		}
	}
}

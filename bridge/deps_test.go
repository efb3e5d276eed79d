package bridge_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBridgeDependencies keeps the bridges views over the twin core: they
// publish through twin.Core and hear it through Listen and Tap, so they
// link no MQTT library, no transport and nothing of the hub that composes
// them; and no bridge imports another (feed and unit are what they
// share).
func TestBridgeDependencies(t *testing.T) {
	const mod = "github.com/wotmq/wotmq/"
	forbidden := []string{
		"github.com/mochi-mqtt/",
		"github.com/eclipse/paho.golang/",
		"github.com/rs/zerolog/log",
		mod + "broker",
		mod + "hub",
		mod + "httpapi",
		mod + "wot",
		mod + "cmd/",
	}
	shared := map[string]bool{mod + "bridge/feed": true, mod + "bridge/unit": true}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		deps, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(deps)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/")) {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
			if dep != pkg && strings.HasPrefix(dep, mod+"bridge/") && !shared[dep] {
				t.Errorf("%s imports the bridge %s", pkg, dep)
			}
		}
	}
}

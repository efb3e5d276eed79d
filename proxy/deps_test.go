package proxy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the proxy a part of the hub beside the
// transports: it works on the twin core, the stores, the wire contract and
// TDs, and reaches the broker only through its Transport interface. It
// links no MQTT library, no net/http (beyond the store engine, see
// twin.TestDependencies), no package of the hub that builds on it; and
// twin never imports it (twin.TestDependencies has no room for it either,
// and a cycle would not build).
func TestDependencies(t *testing.T) {
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
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-f", "{{join .Imports \"\\n\"}}", mod+"proxy").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	direct := strings.Fields(string(out))
	allowed := map[string]bool{
		mod + "twin": true, mod + "td": true, mod + "wire": true, mod + "authz": true,
		mod + "directory": true, mod + "inbox": true, mod + "presence": true,
		"github.com/rs/zerolog": true,
	}
	for _, imp := range direct {
		if !strings.Contains(imp, ".") { // the standard library
			if imp == "net/http" {
				t.Errorf("proxy imports net/http")
			}
			continue
		}
		if !allowed[imp] {
			t.Errorf("proxy imports %s; it may import only twin, the stores, wire, td and zerolog", imp)
		}
	}
	all, err := exec.Command(gobin, "list", "-deps", mod+"proxy").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(all)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("proxy links %s", dep)
			}
		}
	}
}

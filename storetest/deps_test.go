package storetest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStoretestDependencies keeps the package in its place in the layering
// (see docs/architecture.md): it links none of these.
func TestStoretestDependencies(t *testing.T) {
	forbidden := []string{
		"github.com/nats-io/",
		"github.com/mochi-mqtt/",
		"github.com/eclipse/paho.golang/",
		"github.com/wotmq/wotmq/broker",
		"github.com/wotmq/wotmq/hub",
		"github.com/wotmq/wotmq/httpapi",
		"github.com/wotmq/wotmq/jetstore",
		"github.com/wotmq/wotmq/natsnode",
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/wotmq/wotmq/storetest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		if dep == "github.com/wotmq/wotmq/storetest" {
			continue
		}
		for _, f := range forbidden {
			if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/")) {
				t.Errorf("storetest links %s", dep)
			}
		}
	}
}

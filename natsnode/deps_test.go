package natsnode_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNatsnodeDependencies keeps the package in its place in the layering
// (see docs/architecture.md): it links none of these.
func TestNatsnodeDependencies(t *testing.T) {
	forbidden := []string{
		"github.com/mochi-mqtt/",
		"github.com/eclipse/paho.golang/",
		"github.com/wotmq/wotmq/",
		"github.com/dgraph-io/badger/",
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/wotmq/wotmq/natsnode").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		if dep == "github.com/wotmq/wotmq/natsnode" {
			continue
		}
		for _, f := range forbidden {
			if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/")) {
				t.Errorf("natsnode links %s", dep)
			}
		}
	}
}

package cluster_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClusterDependencies keeps the package in its place in the layering
// (see docs/architecture.md): it links none of these.
func TestClusterDependencies(t *testing.T) {
	forbidden := []string{
		"github.com/wotmq/wotmq/",
		"github.com/mochi-mqtt/",
		"github.com/eclipse/paho.golang/",
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/wotmq/wotmq/cluster").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		if dep == "github.com/wotmq/wotmq/cluster" {
			continue
		}
		for _, f := range forbidden {
			if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/")) {
				t.Errorf("cluster links %s", dep)
			}
		}
	}
}

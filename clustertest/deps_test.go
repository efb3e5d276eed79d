package clustertest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClustertestDependencies keeps the package in its place in the layering
// (see docs/architecture.md): it links none of these.
func TestClustertestDependencies(t *testing.T) {
	forbidden := []string{
		// natsnode (the children's NATS) only, of wotmq's packages.
		"github.com/wotmq/wotmq/authz",
		"github.com/wotmq/wotmq/broker",
		"github.com/wotmq/wotmq/hub",
		"github.com/wotmq/wotmq/twin",
		"github.com/mochi-mqtt/",
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/wotmq/wotmq/clustertest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		if dep == "github.com/wotmq/wotmq/clustertest" {
			continue
		}
		for _, f := range forbidden {
			if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/")) {
				t.Errorf("clustertest links %s", dep)
			}
		}
	}
}

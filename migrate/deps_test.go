package migrate_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMigrateDependencies keeps the package in its place in the layering
// (see docs/architecture.md): it works on the store contracts, and the
// composition root opens the stores.
func TestMigrateDependencies(t *testing.T) {
	forbidden := []string{
		"github.com/nats-io/",
		"github.com/mochi-mqtt/",
		"github.com/eclipse/paho.golang/",
		"github.com/wotmq/wotmq/broker",
		"github.com/wotmq/wotmq/hub",
		"github.com/wotmq/wotmq/httpapi",
		"github.com/wotmq/wotmq/jetstore",
		"github.com/wotmq/wotmq/natsnode",
		"github.com/wotmq/wotmq/cluster",
		"github.com/wotmq/wotmq/wot",
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/wotmq/wotmq/migrate").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		if dep == "github.com/wotmq/wotmq/migrate" {
			continue
		}
		for _, f := range forbidden {
			if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/")) {
				t.Errorf("migrate links %s", dep)
			}
		}
	}
}

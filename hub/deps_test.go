package hub_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyTheBinaryImportsHub: hub is the composition root. The rooms it
// puts together (twin, broker, httpapi, the stores) never import it, nor
// does anything else the module builds, but the binary and the test
// harness: a room that reached for the root would tie itself to every
// other room (tailscale's tstest/deptest does the same for its packages).
func TestOnlyTheBinaryImportsHub(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	// Non-test imports only: tests anywhere may start a whole hub.
	out, err := exec.Command(gobin, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/wotmq/wotmq/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/wotmq/wotmq/cmd/wotmq":                 true, // the binary
		"github.com/wotmq/wotmq/hubtest":                   true, // the test harness
		"github.com/wotmq/wotmq/examples/internal/testhub": true, // the examples' harness
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list printed %d packages", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == "github.com/wotmq/wotmq/hub" && !allowed[f[0]] {
				t.Errorf("%s imports hub, the composition root", f[0])
			}
		}
	}
}

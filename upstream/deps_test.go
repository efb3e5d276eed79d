package upstream_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies keeps the bridge a client of the cloud hub and a user of
// the edge's core: it reaches the cloud only through the wot SDK (so it
// speaks what any agent speaks) and the edge through twin and the stores'
// exported methods. It links no broker (neither Mochi nor the broker
// adapter), no HTTP binding, not the composition root, and owns no Badger
// keys (its position is the outbox's).
func TestDependencies(t *testing.T) {
	const mod = "github.com/wotmq/wotmq/"
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	deps, err := exec.Command(gobin, "list", "-deps", mod+"upstream").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(deps)) {
		for _, f := range []string{"github.com/mochi-mqtt/", mod + "broker", mod + "hub", mod + "httpapi", mod + "cmd/"} {
			if dep == f || strings.HasPrefix(dep, f+"/") || strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f) {
				t.Errorf("upstream links %s", dep)
			}
		}
	}
	direct, err := exec.Command(gobin, "list", "-f", `{{join .Imports " "}}`, mod+"upstream").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := strings.Fields(string(direct))
	for _, f := range []string{"github.com/dgraph-io/badger/v4", "github.com/eclipse/paho.golang/paho", "net/http"} {
		if slices.Contains(imports, f) {
			t.Errorf("upstream imports %s itself", f)
		}
	}
	for _, need := range []string{mod + "twin", mod + "wot"} {
		if !slices.Contains(imports, need) {
			t.Errorf("upstream does not import %s: what reaches the cloud or the edge now?", need)
		}
	}
}

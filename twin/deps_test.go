package twin_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the core free of its transports (tailscale's
// tstest/deptest does the same): twin links no MQTT library (neither
// Mochi nor paho), not zerolog's global logger, no package of the hub that
// builds on it, and serves no HTTP: no package it imports, other than the
// store engine, imports net/http. (Badger publishes its metrics through
// expvar, which registers an HTTP handler; that is the stores' engine, not
// a transport, so the walk does not descend into it.)
func TestDependencies(t *testing.T) {
	const mod = "github.com/wotmq/wotmq/"
	anywhere := []string{ // nowhere in the build
		"github.com/mochi-mqtt/",
		"github.com/eclipse/paho.golang/",
		"github.com/rs/zerolog/log",
		mod + "broker",
		mod + "hub",
		mod + "httpapi",
		mod + "wot",
		mod + "upstream",
		mod + "cmd/",
		mod + "bridge", // the bridges build on the core, never the reverse
	}
	outsideStore := []string{"net/http"} // nowhere but under Badger
	const store = "github.com/dgraph-io/badger/"

	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"twin").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			imports[f[0]] = f[1:]
		}
	}
	match := func(dep, f string) bool {
		return dep == f || strings.HasPrefix(dep, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(dep, f+"/"))
	}
	for dep := range imports {
		for _, f := range anywhere {
			if match(dep, f) {
				t.Errorf("twin links %s", dep)
			}
		}
	}
	// Walk from twin without entering the store engine.
	seen := map[string]string{mod + "twin": ""} // package -> the one that imported it
	queue := []string{mod + "twin"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range imports[p] {
			if _, ok := seen[imp]; ok || strings.HasPrefix(imp, store) {
				continue
			}
			seen[imp] = p
			queue = append(queue, imp)
		}
	}
	for dep, by := range seen {
		for _, f := range outsideStore {
			if match(dep, f) && !match(by, f) {
				t.Errorf("twin links %s (imported by %s)", dep, by)
			}
		}
	}
}

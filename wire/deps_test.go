package wire_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The wire contract is a package of its own so that the hub's stores can
// share it with the SDK without linking an MQTT client. TestDependencies
// keeps it so (tailscale's tstest/deptest does the same): wire links
// nothing but the standard library and td, and each store links no MQTT library
// (neither paho nor Mochi), not the SDK or the hub, and none of the other
// stores.
func TestDependencies(t *testing.T) {
	const mod = "github.com/wotmq/wotmq/"
	stores := []string{"authz", "directory", "inbox", "outbox", "presence", "retained"}
	forbidden := map[string][]string{} // package -> forbidden import path prefixes
	for _, s := range stores {
		f := []string{"github.com/eclipse/paho.golang/", "github.com/mochi-mqtt/", mod + "wot", mod + "broker", mod + "cmd/"}
		for _, other := range stores {
			if other != s {
				f = append(f, mod+other)
			}
		}
		forbidden[mod+s] = f
	}

	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	args := []string{"list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", mod + "wire"}
	for p := range forbidden {
		args = append(args, p)
	}
	out, err := exec.Command(gobin, args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		deps := strings.Fields(line)
		if len(deps) == 0 {
			continue
		}
		pkg, deps := deps[0], deps[1:]
		seen++
		for _, d := range deps {
			if pkg == mod+"wire" {
				if first, _, _ := strings.Cut(d, "/"); strings.Contains(first, ".") && d != mod+"td" {
					t.Errorf("package wire depends on %s; it may import only the standard library and td", d)
				}
				continue
			}
			for _, f := range forbidden[pkg] {
				if d == f || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") {
					t.Errorf("package %s depends on %s", strings.TrimPrefix(pkg, mod), d)
				}
			}
		}
	}
	if seen != len(forbidden)+1 {
		t.Fatalf("go list printed %d packages, want %d:\n%s", seen, len(forbidden)+1, out)
	}
}

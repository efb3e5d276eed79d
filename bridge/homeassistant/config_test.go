package homeassistant

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/wotmq/wotmq/td"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// GoldenConfigHA compares got with testdata/name, or rewrites it with
// -update.
func GoldenConfigHA(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("config differs from %s (run with -update to accept):\n%s", path, got)
	}
}

// TestConfigMapsEveryRow checks the config of a TD with an affordance for
// every row of the mapping (docs/bridges.md) against the golden file, and
// what it leaves out.
func TestConfigMapsEveryRow(t *testing.T) {
	raw, err := os.ReadFile("../testdata/thermostat.td.json")
	if err != nil {
		t.Fatal(err)
	}
	thing, err := td.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg, skipped, err := Config(thing, Origin{Name: "wotmq", Version: "test", URL: DefaultOrigin.URL})
	if err != nil {
		t.Fatal(err)
	}
	GoldenConfigHA(t, "thermostat.ha.golden.json", cfg)
	want := []Skipped{
		{"property", "schedule", "no Home Assistant platform for a value of type object"},
		{"action", "boost", "an action with input has no Home Assistant platform"},
	}
	if len(skipped) != len(want) {
		t.Fatalf("skipped %v, want %v", skipped, want)
	}
	for i := range want {
		if skipped[i] != want[i] {
			t.Errorf("skipped[%d] = %v, want %v", i, skipped[i], want[i])
		}
	}
}

func TestObjectID(t *testing.T) {
	for in, want := range map[string]string{
		"lamp_1":             "lamp_1",
		"lamp-1":             "lamp_1_" + hash4("lamp-1"),
		"urn:dev:ops:Lamp-1": "urn_dev_ops_lamp_1_" + hash4("urn:dev:ops:Lamp-1"),
		"::":                 hash4("::"),
		"Küche":              "k_che_" + hash4("Küche"),
	} {
		if got := ObjectID(in); got != want {
			t.Errorf("ObjectID(%q) = %q, want %q", in, got, want)
		}
	}
	if ObjectID("lamp-1") == ObjectID("lamp_1") || ObjectID("lamp-1") == ObjectID("lamp.1") {
		t.Error("two Thing IDs share an object ID")
	}
}

// TestConfigWithoutEntities: a Thing none of whose affordances maps gets
// no config (Home Assistant wants at least one component).
func TestConfigWithoutEntities(t *testing.T) {
	thing, err := td.Parse([]byte(`{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:x", "title": "X",
		"securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
		"properties": {"blob": {"type": "object"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, skipped, err := Config(thing, DefaultOrigin); cfg != nil || len(skipped) != 1 || err != nil {
		t.Errorf("Config = %s, %v, %v; want nil and the property skipped", cfg, skipped, err)
	}
}

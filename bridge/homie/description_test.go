package homie

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wotmq/wotmq/td"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenHomie compares got with testdata/name, or rewrites it with
// -update.
func goldenHomie(t *testing.T, name string, got []byte) {
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
		t.Errorf("differs from %s (run with -update to accept):\n%s", path, got)
	}
}

func readThermostatHomie(t *testing.T) *td.Thing {
	t.Helper()
	raw, err := os.ReadFile("../testdata/thermostat.td.json")
	if err != nil {
		t.Fatal(err)
	}
	thing, err := td.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return thing
}

// TestDescribeMapsEveryRow checks the $description of the TD that has an
// affordance for every mapping row against the golden file.
func TestDescribeMapsEveryRow(t *testing.T) {
	d, skipped := Describe(readThermostatHomie(t))
	var out bytes.Buffer
	if err := json.Indent(&out, d.marshal(1), "", "  "); err != nil {
		t.Fatal(err)
	}
	goldenHomie(t, "thermostat.homie.golden.json", out.Bytes())
	if len(skipped) != 0 {
		t.Errorf("skipped %v", skipped)
	}
}

func TestDeviceID(t *testing.T) {
	for in, want := range map[string]string{
		"lamp-1":             "lamp-1",
		"lamp1":              "lamp1",
		"Lamp-1":             "lamp-1-" + hash8("Lamp-1"),
		"lamp_1":             "lamp-1-" + hash8("lamp_1"),
		"-lamp":              "lamp-" + hash8("-lamp"),
		"lamp-":              "lamp-" + hash8("lamp-"),
		"a--b":               "a-b-" + hash8("a--b"),
		"urn:dev:ops:Lamp-1": "urn-dev-ops-lamp-1-" + hash8("urn:dev:ops:Lamp-1"),
		"::":                 hash8("::"),
	} {
		if got := DeviceID(in); got != want {
			t.Errorf("DeviceID(%q) = %q, want %q", in, got, want)
		}
	}
	ids := []string{DeviceID("lamp-1"), DeviceID("Lamp-1"), DeviceID("lamp_1"), DeviceID("lamp.1")}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 4 {
		t.Errorf("Thing IDs share a device ID: %v", ids)
	}
}

// GoldenHomie is goldenHomie for the end-to-end tests.
func GoldenHomie(t *testing.T, name string, got []byte) { t.Helper(); goldenHomie(t, name, got) }

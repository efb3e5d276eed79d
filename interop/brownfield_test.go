package interop_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hubtest"
)

// TestNodeWoTConsumesAProxiedDevice: a plain MQTT client plays a
// Tasmota-style plug (no wotmq code on its side); its TD, registered with
// "wotmq:proxy", makes the hub its agent; node-wot consumes the twin from
// the twin TD (brownfield.mjs): read, observe, write, invoke over HTTP and
// a read over MQTT, each reaching the device on its own topics; the twin TD
// passes the TD playground's validator.
func TestNodeWoTConsumesAProxiedDevice(t *testing.T) {
	bin := node(t)
	h := startHub(t, true)
	dev := hubtest.Dial(t, h, "plug1")
	dev.Sub("cmnd/plug1/POWER")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the plug: obeys and reports its state
		on := false
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-dev.Msgs:
				switch string(m.Payload) {
				case "ON":
					on = true
				case "OFF":
					on = false
				case "TOGGLE":
					on = !on
				}
				state := map[bool]string{true: "ON", false: "OFF"}[on]
				_, _ = dev.Publish(ctx, &paho.Publish{Topic: "stat/plug1/POWER", QoS: 1, Payload: []byte(state)})
			}
		}
	}()

	td, err := os.ReadFile("../examples/tasmota/plug1.td.json")
	if err != nil {
		t.Fatal(err)
	}
	// The interop plug has no availability topic: the twin is online while
	// the hub runs.
	doc := strings.Replace(string(td), `"wotmq:availability"`, `"x-unused"`, 1)
	req, _ := http.NewRequest(http.MethodPut, "http://"+h.HTTPAddr()+"/things/urn:dev:tasmota:plug1", strings.NewReader(doc))
	req.SetBasicAuth("integrator", "")
	req.Header.Set("Content-Type", "application/td+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT TD: %s", resp.Status)
	}
	dev.MustPub("stat/plug1/POWER", []byte("OFF"), nil)
	hubtest.WaitFor(t, "the first report stored", func() bool {
		r, err := http.Get("http://" + h.HTTPAddr() + "/things/urn:dev:tasmota:plug1/properties/power")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	})

	out := runNode(t, bin, nil, "brownfield.mjs", "http://"+h.HTTPAddr()+"/things/urn:dev:tasmota:plug1")
	for _, want := range []string{
		"http readproperty power = false", "http observeproperty power saw true",
		"http invokeaction toggle = false", "mqtt readproperty power = false",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("node-wot did not report %q", want)
		}
	}
	// The twin TD of a proxied device passes the W3C TD playground too.
	base := "http://" + h.HTTPAddr()
	runNode(t, bin, nil, "validate.mjs", base+"/things/urn:dev:tasmota:plug1")
}

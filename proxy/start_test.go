package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// TestDevicesOnlineAtHubStart: devices that say Online the moment the hub
// is back from a restart are heard, however many the proxy takes up. At
// start the proxy does not trust what was left retained (the device may be
// gone), so a device is offline until it says otherwise; before, the hub
// accepted clients before the proxy had tapped its devices' topics, and a
// device that said Online in between stayed offline, and what was held for
// it stayed held (CI: TestBrownfieldPlug, "the held write completed").
func TestDevicesOnlineAtHubStart(t *testing.T) {
	const plugs = 100
	dir := t.TempDir()
	h := bfStart(t, dir)
	td := bfReadTD(t, "tasmota/plug1.td.json")
	for i := range plugs {
		name := fmt.Sprintf("plug%d", 100+i) // one length: no plug's topic is a prefix of another's
		if code, body := bfHTTP(t, h, "integrator", http.MethodPut, bfThingPath("urn:dev:tasmota:"+name), strings.ReplaceAll(td, "plug1", name)); code != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", name, code, body)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h = bfStart(t, dir)
	site := hubtest.Dial(t, h, "site") // says Online for every plug at once
	for i := range plugs {
		site.MustPub(fmt.Sprintf("tele/plug%d/LWT", 100+i), []byte("Online"), nil)
	}
	for i := range plugs {
		id := fmt.Sprintf("urn:dev:tasmota:plug%d", 100+i)
		hubtest.WaitFor(t, id+" online", func() bool {
			var p wot.PresenceState
			return bfPresenceOf(t, h, id, &p) && p.State == wot.PresenceOnline
		})
	}
}

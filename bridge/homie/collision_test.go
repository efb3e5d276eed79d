package homie_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/wotmq/wotmq/bridge/homie"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// TestHomieDeviceIDCollision: a Thing whose ID is literally another's
// device ID (slug and hash) would share its device; the bridge keeps the
// first and leaves the second out, and a Thing exposed after them (the
// marker) is published.
func TestHomieDeviceIDCollision(t *testing.T) {
	h := hubtest.Start(t, func(o *hub.Options) { o.Homie = true })
	ctl := hubtest.Dial(t, h, "controller")
	ctl.Sub(homie.Root + "/+/$description")
	agent := hubtest.Connect(t, hubtest.URL(h), "collider", func(o *wot.Options) { o.Username = "collider" })
	first := "Lamp"
	shared := homie.DeviceID(first)
	for _, id := range []string{first, shared, "marker"} {
		e, err := agent.Produce(wot.NewThing(id, "thing "+id).TD())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Expose(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Mochi may deliver a publish that races the subscription twice (as
	// retained and live): count descriptions by version.
	names := map[int64]string{}
	for {
		m := ctl.Next("")
		var d homie.Description
		if err := json.Unmarshal(m.Payload, &d); err != nil {
			t.Fatal(err)
		}
		if m.Topic == homie.Root+"/marker/$description" {
			break
		}
		if m.Topic == homie.Root+"/"+shared+"/$description" {
			names[d.Version] = d.Name
		}
	}
	if len(names) != 1 || names[maxKey(names)] != "thing Lamp" {
		t.Errorf("descriptions on the shared device ID: %v, want the first Thing's only", names)
	}
}

func maxKey(m map[int64]string) (k int64) {
	for v := range m {
		k = max(k, v)
	}
	return k
}

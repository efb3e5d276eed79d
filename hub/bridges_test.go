package hub_test

import (
	"context"
	"os"
	"testing"

	"github.com/wotmq/wotmq/bridge/homeassistant"
	"github.com/wotmq/wotmq/bridge/homie"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// TestBridgesAfterRestart: Mochi keeps retained messages in memory only,
// so after a restart the bridges must publish again what the core
// restores: a client that subscribes to a restarted hub (development
// mode: free topics open) finds the Home Assistant config and the Homie
// device of a Thing registered before, and a bad prefix is refused.
func TestBridgesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	on := func(o *hub.Options) { o.HomeAssistant, o.Homie = true, true }
	h := startHub(t, dir, on)
	raw, err := os.ReadFile("testdata/lamp.td.json")
	if err != nil {
		t.Fatal(err)
	}
	thing, err := td.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	agent := hubtest.Connect(t, hubtest.URL(h), "bridged-lamp", func(o *wot.Options) { o.Username = "lamp-agent" })
	e, err := agent.Produce(thing)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Expose(context.Background()); err != nil {
		t.Fatal(err)
	}
	ha := homeassistant.ConfigTopic(homeassistant.DefaultPrefix, thing.ID)
	state := homie.Root + "/" + homie.DeviceID(thing.ID) + "/$state"
	first := dial(t, h, "bridge-watcher-1")
	first.subscribe(ha, state)
	cfg := first.next(ha)
	if err := agent.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h = startHub(t, dir, on)
	// The bridges publish on goroutines of their own: wait until the
	// config and the Homie device's state are out (its presence comes
	// after the TD), then a new subscriber must find both retained.
	w := dial(t, h, "bridge-watcher-2")
	w.subscribe(ha, state)
	for seenConfig, seenState := false, false; !seenConfig || !seenState; {
		m := w.next("")
		seenConfig = seenConfig || m.Topic == ha
		seenState = seenState || m.Topic == state && string(m.Payload) == "disconnected"
	}
	c := dial(t, h, "bridge-watcher-3")
	c.subscribe(ha)
	if m := c.next(ha); string(m.Payload) != string(cfg.Payload) || !m.Retain {
		t.Errorf("config after restart (retain %v):\n%s\nwant:\n%s", m.Retain, m.Payload, cfg.Payload)
	}
	c.subscribe(state)
	if m := c.next(state); string(m.Payload) != "disconnected" || !m.Retain {
		t.Errorf("$state after restart: %q (retain %v), want disconnected", m.Payload, m.Retain)
	}

	if _, err := hub.New(hub.Options{DataDir: t.TempDir(), HomeAssistant: true, HomeAssistantPrefix: "things/ha"}); err == nil {
		t.Error("a discovery prefix in the hub's namespace was accepted")
	}
}

// TestBridgeTopicsNotKeptOnDisk: the bridges' retained topics are rebuilt
// from the twins at every start, like the hub's own; kept on disk with the
// site's retained free topics they would outlive the bridge: a hub
// restarted without --homeassistant would still show Home Assistant the
// configs of Things it may since have deleted.
func TestBridgeTopicsNotKeptOnDisk(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir, func(o *hub.Options) { o.HomeAssistant = true })
	agent := hubtest.Connect(t, hubtest.URL(h), "kept-lamp", func(o *wot.Options) { o.Username = "lamp-agent" })
	e, err := agent.Produce(wot.NewThing("urn:test:kept-lamp", "Lamp").Property("on", td.DataSchema{Type: "boolean"}).TD())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Expose(context.Background()); err != nil {
		t.Fatal(err)
	}
	topic := homeassistant.ConfigTopic(homeassistant.DefaultPrefix, e.ID())
	w := dial(t, h, "kept-watcher-1")
	w.subscribe(topic)
	w.next(topic)
	if err := agent.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h = startHub(t, dir) // the bridge off
	c := dial(t, h, "kept-watcher-2")
	c.subscribe("homeassistant/#")
	c.mustPublish("homeassistant/marker", []byte("m"), nil) // a retained config would come first
	if m := c.next(""); m.Topic != "homeassistant/marker" {
		t.Errorf("after a restart without the bridge, a new subscriber got %s first:\n%s", m.Topic, m.Payload)
	}
}

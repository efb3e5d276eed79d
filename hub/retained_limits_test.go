package hub_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// TestRetainedWillSurvivesRestart: a device's retained Will on a free
// topic (Tasmota's LWT "Offline") replaces its retained "Online" for good:
// after a restart the hub still says Offline. Before, the Will went through
// the hub's own client, whose retained messages are not kept, and the
// stale "Online" came back.
func TestRetainedWillSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir)
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	dev := hubtest.NewClient(t, conn, "plug9")
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	if _, err := dev.Connect(ctx, &paho.Connect{ClientID: "plug9", CleanStart: true, KeepAlive: 30,
		WillMessage: &paho.WillMessage{Topic: "tele/plug9/LWT", Payload: []byte("Offline"), Retain: true, QoS: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Publish(ctx, &paho.Publish{Topic: "tele/plug9/LWT", Payload: []byte("Online"), Retain: true, QoS: 1}); err != nil {
		t.Fatal(err)
	}
	watcher := dial(t, h, "watcher")
	watcher.subscribe("tele/plug9/LWT")
	if m := watcher.next("tele/plug9/LWT"); string(m.Payload) != "Online" {
		t.Fatalf("retained %q, want Online", m.Payload)
	}
	conn.Close() // no DISCONNECT: the Will goes out
	if m := watcher.next("tele/plug9/LWT"); string(m.Payload) != "Offline" {
		t.Fatalf("Will %q, want Offline", m.Payload)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = startHub(t, dir)
	late := dial(t, h, "late")
	late.subscribe("tele/plug9/LWT")
	if m := late.next("tele/plug9/LWT"); string(m.Payload) != "Offline" || !m.Retain {
		t.Fatalf("after a restart the retained LWT is %q (retain %v), want Offline", m.Payload, m.Retain)
	}
}

// TestMaxRetained: --max-retained bounds the free topics holding a retained
// message: a new one beyond is refused with 0x97 and a reason; replacing or
// clearing one is taken; the count is the stored one after a restart.
func TestMaxRetained(t *testing.T) {
	dir := t.TempDir()
	limit := func(o *hub.Options) { o.Limits.MaxRetained = 2 }
	h := startHub(t, dir, limit)
	c := dial(t, h, "dashboard")
	ret := &paho.PublishProperties{}
	pub := func(c *client, topic, payload string) (byte, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
		defer cancel()
		ack, err := c.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: true, Properties: ret})
		if ack == nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
		return ack.ReasonCode, ack.Properties.ReasonString
	}
	for _, topic := range []string{"site/a", "site/b"} {
		if rc, reason := pub(c, topic, "1"); rc != 0 {
			t.Fatalf("%s: %#x %q", topic, rc, reason)
		}
	}
	if rc, reason := pub(c, "site/c", "1"); rc != 0x97 || !strings.Contains(reason, "--max-retained") {
		t.Fatalf("a third retained topic: %#x %q, want 0x97 naming --max-retained", rc, reason)
	}
	if rc, reason := pub(c, "site/a", "2"); rc != 0 {
		t.Fatalf("replacing one: %#x %q", rc, reason)
	}
	if rc, reason := pub(c, "site/b", ""); rc != 0 {
		t.Fatalf("clearing one: %#x %q", rc, reason)
	}
	if rc, reason := pub(c, "site/c", "1"); rc != 0 {
		t.Fatalf("after a clear: %#x %q", rc, reason)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = startHub(t, dir, limit)
	c = dial(t, h, "dashboard")
	if rc, _ := pub(c, "site/d", "1"); rc != 0x97 {
		t.Fatalf("after a restart with site/a and site/c kept: %#x, want 0x97", rc)
	}
	// Not retained, or on the hub's own topics: not counted.
	c.mustPublish("site/d", []byte("live"), nil)
}

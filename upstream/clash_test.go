package upstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// startEdgeOf starts an edge hub of cloud (a development cloud: the edge's
// user name is its agent ID there) exporting urn:site1:*.
func startEdgeOf(t *testing.T, cloud *hub.Hub, agent string) *hub.Hub {
	t.Helper()
	return hubtest.Start(t, func(o *hub.Options) {
		o.MetricsAddr = "127.0.0.1:0"
		o.Upstream = hub.Upstream{URL: hubtest.URL(cloud), Username: agent, Things: []string{"urn:site1:*"}, MaxBackoff: 100 * time.Millisecond}
	})
}

// TestEdgeIDClash: a Thing ID another agent holds at the cloud stays at the
// edge; the edge counts the clash, the cloud's Thing is untouched, and the
// edge's other Things are exported.
func TestEdgeIDClash(t *testing.T) {
	ctx := context.Background()
	cloud := hubtest.Start(t)
	other := hubtest.Connect(t, hubtest.URL(cloud), "other-agent", func(o *wot.Options) { o.Username = "other-agent" })
	theirs, err := other.Produce(wot.NewThing("urn:site1:a", "Theirs").TD())
	if err != nil {
		t.Fatal(err)
	}
	if err := theirs.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	edge := startEdgeOf(t, cloud, "edge-clash")
	device := hubtest.Connect(t, hubtest.URL(edge), "clash-device", func(o *wot.Options) { o.Username = "device" })
	for _, id := range []string{"urn:site1:a", "urn:site1:b"} {
		et, err := device.Produce(wot.NewThing(id, "Mine").Event("e", nil).TD())
		if err != nil {
			t.Fatal(err)
		}
		if err := et.Expose(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hubtest.WaitFor(t, "the clash counted", func() bool { return edgeMetric(t, edge, "wotmq_upstream_clashes_total") == 1 })
	consumer := hubtest.Connect(t, hubtest.URL(cloud), "clash-consumer")
	hubtest.WaitFor(t, "urn:site1:b exported", func() bool { _, err := consumer.Thing(ctx, "urn:site1:b"); return err == nil })
	a, err := consumer.Thing(ctx, "urn:site1:a")
	if err != nil || a.TD().Title != "Theirs" {
		t.Errorf("the cloud's urn:site1:a: %v %+v", err, a)
	}
	// The cloud shows urn:site1:b as soon as it stored the TD; the edge
	// counts it once its registration is answered, a moment later.
	hubtest.WaitFor(t, "one Thing counted as registered upstream", func() bool {
		return edgeMetric(t, edge, "wotmq_upstream_things") == 1
	})
}

// TestEdgeCancelFromCloud: a cloud consumer cancels a request the edge's
// device is running; the device's handler is cancelled at the edge and
// the cloud consumer gets the outcome: failed, cancelled.
func TestEdgeCancelFromCloud(t *testing.T) {
	ctx := context.Background()
	cloud := hubtest.Start(t)
	edge := startEdgeOf(t, cloud, "edge-cancel")
	device := hubtest.Connect(t, hubtest.URL(edge), "cancel-device", func(o *wot.Options) { o.Username = "device" })
	et, err := device.Produce(wot.NewThing("urn:site1:slow", "Slow").Action("wait", nil, &td.DataSchema{Type: "string"}).TD())
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	et.HandleAction("wait", func(ctx context.Context, req *wot.Request) (any, error) {
		close(running)
		<-ctx.Done()
		return nil, context.Cause(ctx)
	})
	if err := et.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	consumer := hubtest.Connect(t, hubtest.URL(cloud), "cancel-consumer")
	var slow *wot.ConsumedThing
	hubtest.WaitFor(t, "urn:site1:slow exported", func() bool { slow, err = consumer.Thing(ctx, "urn:site1:slow"); return err == nil })
	long, cancel := context.WithTimeout(ctx, hubtest.Timeout)
	defer cancel()
	inv, err := slow.InvokeActionAsync(long, "wait", nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-running:
	case <-long.Done():
		t.Fatal("the request never reached the device")
	}
	hubtest.WaitFor(t, "the action ID", func() bool { return inv.ActionID() != "" })
	if err := inv.Cancel(long); err != nil {
		t.Fatal(err)
	}
	if err := inv.Wait(long, nil); !errors.Is(err, wot.ErrCancelled) {
		t.Errorf("outcome at the cloud: %v, want cancelled", err)
	}
}

// TestEdgeLatestOnlyValues: a property the edge keeps only as its latest
// value ("wotmq:retention": "0", no history) reaches the cloud live, and
// after an outage its newest value does, in order with the events around
// it.
func TestEdgeLatestOnlyValues(t *testing.T) {
	ctx := context.Background()
	cloud := hubtest.Start(t)
	link := startEdgeLink(t, cloud.MQTTAddr())
	edge := hubtest.Start(t, func(o *hub.Options) {
		o.MetricsAddr = "127.0.0.1:0"
		o.Upstream = hub.Upstream{URL: link.URL(), Username: "edge-latest", Things: []string{"urn:site1:*"}, MaxBackoff: 50 * time.Millisecond}
	})
	device := hubtest.Connect(t, hubtest.URL(edge), "latest-device", func(o *wot.Options) { o.Username = "device" })
	thing := wot.NewThing("urn:site1:meter", "Meter").
		Property("mode", td.DataSchema{Type: "integer"}).
		Event("e", &td.DataSchema{Type: "integer"}).TD()
	thing.Properties["mode"].Extra = map[string]json.RawMessage{"wotmq:retention": json.RawMessage(`"0"`)}
	et, err := device.Produce(thing)
	if err != nil {
		t.Fatal(err)
	}
	if err := et.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	consumer := hubtest.Connect(t, hubtest.URL(cloud), "latest-consumer")
	var meter *wot.ConsumedThing
	hubtest.WaitFor(t, "the meter exported", func() bool { meter, err = consumer.Thing(ctx, "urn:site1:meter"); return err == nil })
	mode := func() int {
		var v int
		if err := meter.ReadProperty(ctx, "mode", &v); err != nil {
			return -1
		}
		return v
	}
	if err := et.UpdateProperty(ctx, "mode", 1); err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFor(t, "mode 1 at the cloud", func() bool { return mode() == 1 })

	link.Cut()
	hubtest.WaitFor(t, "link down", func() bool { return edgeMetric(t, edge, "wotmq_upstream_connected") == 0 })
	for i := 2; i <= 4; i++ {
		if err := et.UpdateProperty(ctx, "mode", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := et.PublishEvent(ctx, "e", 5); err != nil { // the sentinel, after the last mode
		t.Fatal(err)
	}
	link.Restore()
	hubtest.WaitFor(t, "the sentinel event at the cloud", func() bool {
		page, err := meter.EventHistory(ctx, "e", wot.HistoryQuery{})
		return err == nil && len(page.Items) == 1
	})
	if got := mode(); got != 4 {
		t.Errorf("mode at the cloud = %d, want 4, the newest (it went up before the event that followed it)", got)
	}
}

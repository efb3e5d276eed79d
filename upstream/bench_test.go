package upstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// BenchmarkEdgeBacklogDrain measures how fast an edge hub empties a backlog
// of events into its cloud hub once the link returns (both hubs in this
// process, on loopback): records/s, the figure docs/bridges.md quotes.
func BenchmarkEdgeBacklogDrain(b *testing.B) {
	const backlog = 500
	ctx := context.Background()
	cloud := hubtest.Start(b)
	link := startEdgeLink(b, cloud.MQTTAddr())
	edge := hubtest.Start(b, func(o *hub.Options) {
		o.MetricsAddr = "127.0.0.1:0"
		o.Upstream = hub.Upstream{URL: link.URL(), Username: "edge-bench", Things: []string{"urn:site1:*"}, MaxBackoff: 20 * time.Millisecond}
	})
	device := hubtest.Connect(b, hubtest.URL(edge), "bench-device", func(o *wot.Options) { o.Username = "device" })
	et, err := device.Produce(wot.NewThing("urn:site1:bench", "Bench").Event("e", &td.DataSchema{Type: "integer"}).TD())
	if err != nil {
		b.Fatal(err)
	}
	if err := et.Expose(ctx); err != nil {
		b.Fatal(err)
	}
	hubtest.WaitFor(b, "exported", func() bool { return edgeMetric(b, edge, "wotmq_upstream_things") == 1 })
	var took time.Duration
	for b.Loop() {
		link.Cut()
		hubtest.WaitFor(b, "link down", func() bool { return edgeMetric(b, edge, "wotmq_upstream_connected") == 0 })
		for i := range backlog {
			if err := et.PublishEvent(ctx, "e", i); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		link.Restore()
		hubtest.WaitFor(b, "backlog drained", func() bool { return edgeMetric(b, edge, "wotmq_upstream_backlog_records") == 0 })
		took += time.Since(start)
	}
	b.ReportMetric(float64(backlog*b.N)/took.Seconds(), "records/s")
}

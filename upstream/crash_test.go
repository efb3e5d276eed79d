package upstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/upstream"
	"github.com/wotmq/wotmq/wire"
	"github.com/wotmq/wotmq/wot"
)

// TestEdgeLostPositionSendsOnce is an edge crash between the cloud's PUBACKs
// and the saving of the position, made on purpose: after a run whose
// records all reached the cloud, the stopped edge's saved position is set
// back to its first record, as if no save after it had reached the disk.
// The restarted edge sends everything after it again; the cloud stores
// none of it twice (the seq each record carries), so its history still
// equals the edge's, record for record.
func TestEdgeLostPositionSendsOnce(t *testing.T) {
	ctx := context.Background()
	const thing = "urn:site1:crash"
	cloud := hubtest.Start(t)
	edgeDir := t.TempDir()
	edgeOpts := func(o *hub.Options) {
		o.DataDir = edgeDir
		o.MetricsAddr = "127.0.0.1:0"
		o.Upstream = hub.Upstream{URL: hubtest.URL(cloud), Username: "edge-crash", Things: []string{"urn:site1:*"}, MaxBackoff: 100 * time.Millisecond}
	}
	edge := hubtest.Start(t, edgeOpts)
	device := hubtest.Connect(t, hubtest.URL(edge), "crash-device", func(o *wot.Options) { o.Username = "device" })
	et, err := device.Produce(wot.NewThing(thing, "Crash").Event("e", &td.DataSchema{Type: "integer"}).TD())
	if err != nil {
		t.Fatal(err)
	}
	if err := et.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 250 { // more than two pages of the bridge's reads
		if err := et.PublishEvent(ctx, "e", i); err != nil {
			t.Fatal(err)
		}
	}
	hubtest.WaitFor(t, "all forwarded", func() bool {
		return edgeMetric(t, edge, "wotmq_upstream_things") == 1 && edgeMetric(t, edge, "wotmq_upstream_backlog_records") == 0
	})
	if err := device.Close(ctx); err != nil {
		t.Fatal(err)
	}
	edgeAddr := edge.MQTTAddr()
	if err := edge.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := badger.Open(badger.DefaultOptions(edgeDir).WithLogger(nil).WithMemTableSize(16 << 20).WithValueLogFileSize(64 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	ob := outbox.New(db, outbox.Options{})
	first, err := ob.History(ctx, thing, outbox.Filter{}, wire.HistoryQuery{Limit: 1})
	if err != nil || len(first.Items) != 1 {
		t.Fatalf("first record: %+v %v", first, err)
	}
	if err := ob.SetPosition(ctx, upstream.Reader, thing, first.Items[0].Cursor); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	edge = hubtest.Start(t, edgeOpts, func(o *hub.Options) { o.TCPAddr = edgeAddr })
	hubtest.WaitFor(t, "sent again", func() bool {
		return edgeMetric(t, edge, "wotmq_upstream_things") == 1 && edgeMetric(t, edge, "wotmq_upstream_backlog_records") == 0
	})
	if n := edgeMetric(t, edge, "wotmq_upstream_forwarded_total"); n < 250 {
		t.Fatalf("the restarted edge sent %v records again, want every one after the first (250 events and presence)", n)
	}
	consumer := hubtest.Connect(t, hubtest.URL(cloud), "crash-consumer")
	edgeReader := hubtest.Connect(t, hubtest.URL(edge), "crash-reader")
	atCloud, err := consumer.Thing(ctx, thing)
	if err != nil {
		t.Fatal(err)
	}
	atEdge, err := edgeReader.Thing(ctx, thing)
	if err != nil {
		t.Fatal(err)
	}
	cl, ed := edgeHistory(t, atCloud, "e"), edgeHistory(t, atEdge, "e")
	if len(cl) != len(ed) || len(ed) != 250 {
		t.Fatalf("the cloud holds %d events, the edge %d, want 250 each", len(cl), len(ed))
	}
	for i := range ed {
		if string(cl[i].Value) != string(ed[i].Value) || !cl[i].Time.Equal(ed[i].Time) {
			t.Fatalf("event %d: cloud %s at %v, edge %s at %v", i, cl[i].Value, cl[i].Time, ed[i].Value, ed[i].Time)
		}
	}
}

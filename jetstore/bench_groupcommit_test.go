package jetstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/clustertest"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// benchAppendRuns times a connection's runs of events as the MQTT
// pipeline stores them: 16 appended (outbox.AppendLater), then the 16
// waits in order; each event is in the history and the latest value.
func benchAppendRuns(b *testing.B, appendLater func(context.Context, outbox.Record, outbox.Retain) func() (outbox.Record, error)) {
	const run = 16
	ctx := context.Background()
	waits := make([]func() (outbox.Record, error), run)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range waits {
			waits[j] = appendLater(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "urn:t:b", Name: "e", Value: fmt.Appendf(nil, "%d", i*run+j)}, outbox.RetainDefault)
		}
		for _, w := range waits {
			if _, err := w(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*run), "µs/event")
}

// BenchmarkJetstoreAppendRuns compares the stores' group commit of a run
// of events: one Badger transaction (single node), the run's JetStream
// writes issued together (R1 embedded; R3 on three NATS processes):
// go test -run '^$' -bench JetstoreAppendRuns ./jetstore
func BenchmarkJetstoreAppendRuns(b *testing.B) {
	b.Run("badger", func(b *testing.B) {
		db, err := badger.Open(badger.DefaultOptions(b.TempDir()).WithLogger(nil))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		st := outbox.New(db, outbox.Options{})
		benchAppendRuns(b, st.AppendLater)
	})
	jet := func(b *testing.B, js jetstream.JetStream, replicas int) {
		var st *jetstore.Outbox
		clustertest.WaitFor(b, "open the outbox", func() (err error) {
			st, err = jetstore.OpenOutbox(context.Background(), jetstore.Options{JS: js, Replicas: replicas, Prefix: fmt.Sprintf("BA%d", jetstorePrefixes.Add(1))}, jetstore.OutboxOptions{})
			return err
		})
		benchAppendRuns(b, st.AppendLater)
	}
	b.Run("jetstream-r1", func(b *testing.B) {
		o := jetstoreOptions(b)
		jet(b, o.JS, 1)
	})
	b.Run("jetstream-r3-3proc", func(b *testing.B) {
		tr := clustertest.StartNATSTrio(b)
		nc, err := nats.Connect(tr.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			b.Fatal(err)
		}
		jet(b, js, 3)
	})
}

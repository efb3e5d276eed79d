package jetstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/clustertest"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/wire"
)

// benchInboxRound times one request's life in the store, as the hub
// writes it: stored (delivered at once), running, completed. Each write
// returns once durable on the backend (Badger: its write-ahead log;
// JetStream: a quorum of the replicas).
func benchInboxRound(b *testing.B, add func(context.Context, *inbox.Request) error,
	transition func(context.Context, string, wire.Status) error) {
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := &inbox.Request{ActionStatus: wire.ActionStatus{ThingID: "urn:t:b", Name: fmt.Sprintf("a%d", i%16),
			Op: wire.OpInvokeAction, Status: wire.StatusDelivered}, AgentID: "agent-b"}
		if err := add(ctx, r); err != nil {
			b.Fatal(err)
		}
		if err := transition(ctx, r.ID, wire.StatusRunning); err != nil {
			b.Fatal(err)
		}
		if err := transition(ctx, r.ID, wire.StatusCompleted); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/request")
}

// BenchmarkJetstoreInboxRound compares a request's store writes on Badger
// (the single node), on one embedded JetStream node (R1) and on three
// NATS processes (R3, the cluster): go test -run '^$' -bench
// JetstoreInboxRound ./jetstore
func BenchmarkJetstoreInboxRound(b *testing.B) {
	b.Run("badger", func(b *testing.B) {
		db, err := badger.Open(badger.DefaultOptions(b.TempDir()).WithLogger(nil))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		in, err := inbox.New(db, inbox.Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchInboxRound(b, in.Add, func(ctx context.Context, id string, to wire.Status) error {
			_, err := in.Transition(ctx, id, to, nil, nil)
			return err
		})
	})
	jet := func(b *testing.B, js jetstream.JetStream, replicas int) {
		var in *jetstore.Inbox
		clustertest.WaitFor(b, "open the inbox", func() (err error) {
			in, err = jetstore.OpenInbox(context.Background(), jetstore.Options{JS: js, Replicas: replicas, Prefix: fmt.Sprintf("B%d", jetstorePrefixes.Add(1))}, inbox.Options{})
			return err
		})
		defer in.Close()
		benchInboxRound(b, in.Add, func(ctx context.Context, id string, to wire.Status) error {
			_, err := in.Transition(ctx, id, to, nil, nil)
			return err
		})
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

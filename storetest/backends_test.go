package storetest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/natsnode"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/retained"
	"github.com/wotmq/wotmq/storetest"
)

func TestStoretestBadger(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dir := t.TempDir()
		return func(t *testing.T, c storetest.Config) storetest.Stores {
			db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			d, err := directory.Open(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			in, err := inbox.New(db, inbox.Options{Now: c.Now, OutcomeRecall: c.OutcomeRecall})
			if err != nil {
				t.Fatal(err)
			}
			return storetest.Stores{
				Directory: d,
				Presence:  presence.New(db, c.Now),
				Outbox:    outbox.New(db, outbox.Options{Now: c.Now, MaxHistory: c.MaxHistory}),
				Inbox:     in,
				Authz:     authz.BadgerBackend(db),
				Retained:  retained.Open(db),
				Close:     func() { db.Close() },
			}
		}
	})
}

// storetestPrefixes gives every test its own buckets and streams on the
// one embedded NATS node of the run.
var storetestPrefixes atomic.Int64

func TestStoretestJetStream(t *testing.T) {
	node, err := natsnode.Start(context.Background(), natsnode.Options{Name: "storetest", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		prefix := fmt.Sprintf("T%d", storetestPrefixes.Add(1))
		return func(t *testing.T, c storetest.Config) storetest.Stores {
			ctx := context.Background()
			o := jetstore.Options{JS: node.JetStream(), Prefix: prefix, Now: c.Now}
			d, err := jetstore.OpenDirectory(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			p, err := jetstore.OpenPresence(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			b, err := jetstore.OpenOutbox(ctx, o, jetstore.OutboxOptions{MaxHistory: c.MaxHistory})
			if err != nil {
				t.Fatal(err)
			}
			in, err := jetstore.OpenInbox(ctx, o, inbox.Options{Now: c.Now, OutcomeRecall: c.OutcomeRecall})
			if err != nil {
				t.Fatal(err)
			}
			acc, err := jetstore.OpenAccounts(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			ret, err := jetstore.OpenRetained(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			return storetest.Stores{
				Authz:     acc,
				Directory: d,
				Presence:  p,
				Outbox:    b,
				Inbox:     in,
				Retained:  ret,
				Close:     func() { d.Close(); in.Close() },
			}
		}
	})
}

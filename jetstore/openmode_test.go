package jetstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/retained"
)

// openModeHistCap is the history stream's messages per subject.
func openModeHistCap(t *testing.T, o jetstore.Options) int64 {
	t.Helper()
	st, err := o.JS.Stream(context.Background(), o.Prefix+"_HIST")
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().Config.MaxMsgsPerSubject
}

// TestJetstoreOpenModes: a node configures its streams (Configure); a tool
// beside it opens them as they are (Attach, Existing), so that the node's
// history cap stays; Existing and ReadOnly make nothing, where nothing is
// they refuse (ErrNoStore), and a reader writes no signing key and deletes
// no expired retained message.
func TestJetstoreOpenModes(t *testing.T) {
	ctx := context.Background()
	o := jetstoreOptions(t)

	t.Run("ExistingMakesNothing", func(t *testing.T) {
		ex := o
		ex.Mode = jetstore.Existing
		if _, err := jetstore.OpenOutbox(ctx, ex, jetstore.OutboxOptions{}); !errors.Is(err, jetstore.ErrNoStore) {
			t.Fatalf("outbox on an empty NATS: %v, want ErrNoStore", err)
		}
		ro := o
		ro.ReadOnly = true
		if _, err := jetstore.OpenAccounts(ctx, ro); !errors.Is(err, jetstore.ErrNoStore) {
			t.Fatalf("read-only accounts on an empty NATS: %v, want ErrNoStore", err)
		}
		names := o.JS.StreamNames(ctx)
		for n := range names.Name() {
			t.Errorf("stream %s made", n)
		}
	})

	t.Run("ToolsKeepTheNodesSettings", func(t *testing.T) {
		if _, err := jetstore.OpenOutbox(ctx, o, jetstore.OutboxOptions{MaxHistory: 50}); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []jetstore.Mode{jetstore.Attach, jetstore.Existing} {
			m := o
			m.Mode = mode
			if _, err := jetstore.OpenOutbox(ctx, m, jetstore.OutboxOptions{MaxHistory: 7}); err != nil {
				t.Fatal(err)
			}
			if n := openModeHistCap(t, o); n != 50 {
				t.Fatalf("mode %d: history cap %d, want the node's 50", mode, n)
			}
		}
		if _, err := jetstore.OpenOutbox(ctx, o, jetstore.OutboxOptions{MaxHistory: 60}); err != nil {
			t.Fatal(err)
		}
		if n := openModeHistCap(t, o); n != 60 {
			t.Fatalf("a node's new cap: %d, want 60", n)
		}
	})

	t.Run("AttachMakesWhatIsMissing", func(t *testing.T) {
		at := o
		at.Mode, at.Prefix = jetstore.Attach, o.Prefix+"A"
		if _, err := jetstore.OpenPresence(ctx, at); err != nil {
			t.Fatal(err)
		}
		if _, err := o.JS.KeyValue(ctx, at.Prefix+"_PRESENCE"); err != nil {
			t.Fatalf("the bucket Attach made: %v", err)
		}
	})

	t.Run("ReaderWritesNoSigningKey", func(t *testing.T) {
		if _, err := jetstore.OpenAccounts(ctx, o); err != nil { // the bucket, as a node makes it
			t.Fatal(err)
		}
		ro := o
		ro.ReadOnly = true
		r, err := jetstore.OpenAccounts(ctx, ro)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Secret(ctx); err != nil {
			t.Fatal(err)
		}
		kv, err := o.JS.KeyValue(ctx, o.Prefix+"_AUTHZ")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Get(ctx, "secret"); err == nil {
			t.Fatal("a reader stored a signing key")
		}
		node, err := jetstore.OpenAccounts(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		key, err := node.Secret(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Secret(ctx); err != nil || !bytes.Equal(got, key) {
			t.Fatalf("a reader's key %x, %v; want the stored %x", got, err, key)
		}
	})

	t.Run("ReaderDeletesNoExpiredRetained", func(t *testing.T) {
		node, err := jetstore.OpenRetained(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := node.Put(ctx, retained.Message{Topic: "site/old", Payload: []byte("x"), Created: 100, Expires: 200}); err != nil {
			t.Fatal(err)
		}
		ro := o
		ro.ReadOnly = true
		r, err := jetstore.OpenRetained(ctx, ro)
		if err != nil {
			t.Fatal(err)
		}
		if ms, err := r.All(ctx, 300); err != nil || len(ms) != 0 {
			t.Fatalf("a reader's messages at 300: %v, %v; want none (expired)", ms, err)
		}
		if ms, err := r.All(ctx, 150); err != nil || len(ms) != 1 {
			t.Fatalf("after the reader: %v, %v; want the message still stored", ms, err)
		}
	})
}

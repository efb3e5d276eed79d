package httpapi

import (
	"context"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/authz"
)

// TestStreamRegisteredAfterPasswordChangeEnds: a password change that
// lands after a stream's request authenticated and before the stream is
// registered ends no stream (AccountChanged does not see it yet), so
// watchStream must refuse a stream whose account epoch moved on; else a
// revoked session (a token of the old epoch) kept its stream.
func TestStreamRegisteredAfterPasswordChangeEnds(t *testing.T) {
	ctx := context.Background()
	db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := authz.Open(ctx, db, authz.Options{PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add(ctx, "vera", authz.RoleViewer, "", "first password here"); err != nil {
		t.Fatal(err)
	}
	h := New(Options{Authz: store})
	before, _ := store.Get("vera")
	id := authz.Identity{ID: "vera", Role: authz.RoleViewer}

	remove, err := h.watchStream(&openStream{id: id, epoch: before.Epoch, op: authz.OpReadTD, fin: newEnding()})
	if err != nil {
		t.Fatalf("a stream of the current epoch: %v", err)
	}
	remove()

	pw := "second password here"
	if err := store.Update(ctx, "vera", nil, nil, nil, &pw); err != nil {
		t.Fatal(err)
	}
	if _, err := h.watchStream(&openStream{id: id, epoch: before.Epoch, op: authz.OpReadTD, fin: newEnding()}); err == nil {
		t.Fatal("a stream that authenticated before the password change was registered after it")
	}
}

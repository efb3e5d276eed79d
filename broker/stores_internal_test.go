package broker

import (
	"context"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
)

// testHub prepares a hub for this package's own tests over stores in a
// fresh Badger in tb.TempDir() (package hub opens the real ones); an
// admin account with adminPW is added when it is not empty. The caller
// closes the hub (when started) and then the store.
func testHub(tb testing.TB, opts Options, adminPW string) (*Hub, *badger.DB) {
	tb.Helper()
	dir := tb.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	var st Stores
	var h *Hub
	fail := func(err error) {
		db.Close()
		tb.Fatal(err)
	}
	if st.Directory, err = directory.Open(ctx, db); err != nil {
		fail(err)
	}
	if st.Inbox, err = inbox.New(db, inbox.Options{Now: opts.Now}); err != nil {
		fail(err)
	}
	st.Presence = presence.New(db, opts.Now)
	onChange := func(ctx context.Context, c authz.Change) {
		if h != nil {
			h.AccountChanged(ctx, c)
		}
	}
	if st.Authz, err = authz.Open(ctx, db, authz.Options{Now: opts.Now, PasswordCost: 4, OnChange: onChange}); err != nil {
		fail(err)
	}
	if adminPW != "" {
		if err := st.Authz.Add(ctx, "admin", authz.RoleAdmin, "Administrator", adminPW); err != nil {
			fail(err)
		}
	}
	st.Outbox = outbox.New(db, outbox.Options{Now: opts.Now, MaxHistory: DefaultMaxHistory})
	if h, err = New(opts, st); err != nil {
		fail(err)
	}
	return h, db
}

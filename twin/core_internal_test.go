package twin

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

// testCore prepares a core for this package's own tests over stores in a
// fresh Badger in tb.TempDir() (package hub opens the real ones); an
// admin account with adminPW is added when it is not empty. The stores in
// opts are filled in. The caller closes the core (when started) and then
// the store.
func testCore(tb testing.TB, opts Options, adminPW string) (*Core, *badger.DB) {
	tb.Helper()
	db, err := badger.Open(badger.DefaultOptions(tb.TempDir()).WithLogger(nil))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	fail := func(err error) {
		db.Close()
		tb.Fatal(err)
	}
	if opts.Directory, err = directory.Open(ctx, db); err != nil {
		fail(err)
	}
	if opts.Inbox, err = inbox.New(db, inbox.Options{Now: opts.Now}); err != nil {
		fail(err)
	}
	opts.Presence = presence.New(db, opts.Now)
	if opts.Authz, err = authz.Open(ctx, db, authz.Options{Now: opts.Now, PasswordCost: 4}); err != nil {
		fail(err)
	}
	if adminPW != "" {
		if err := opts.Authz.Add(ctx, "admin", authz.RoleAdmin, "Administrator", adminPW); err != nil {
			fail(err)
		}
	}
	opts.Outbox = outbox.New(db, outbox.Options{Now: opts.Now})
	return New(opts), db
}

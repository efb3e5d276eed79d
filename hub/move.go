package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/datadir"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/migrate"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/retained"
)

// `wotmq export` and `wotmq import` (package migrate; docs/cluster.md,
// "Moving a single node's data in"): the composition root opens the
// stores they read and write.

// Export writes an archive of the data in dataDir, a stopped single
// node's data directory (Badger keeps it locked while a hub runs on it:
// stop the hub, or restore a backup into a new directory and export that).
func Export(ctx context.Context, dataDir string, w io.Writer, log *zerolog.Logger) (c migrate.Counts, err error) {
	if _, err := os.Stat(filepath.Join(dataDir, "MANIFEST")); err != nil {
		return c, fmt.Errorf("hub: no store in %s (%w)", dataDir, err)
	}
	db, err := openMoveStore(dataDir, log)
	if err != nil {
		return c, err
	}
	defer closeMoveStore(db, dataDir, &err)
	st, err := openMoveBadger(ctx, db, 0)
	if err != nil {
		return c, err
	}
	return migrate.Export(ctx, migrate.Source{Directory: st.dir, Presence: st.presence, Outbox: st.outbox, Inbox: st.inbox,
		Authz: st.authz, Retained: st.retained, Name: dataDir}, w)
}

// ImportOptions say where Import writes: a single node's data directory
// or a cluster.
type ImportOptions struct {
	// DataDir is a stopped single node's data directory, made when it
	// does not exist.
	DataDir string
	// NATSURLs are a cluster's NATS client URLs (any node's; see
	// Hub.NATSURL and docs/cluster.md); used instead of DataDir.
	NATSURLs []string
	// Merge adds the archive to a target holding other data (see
	// migrate.ImportOptions).
	Merge bool
	// Retention is how long imported history is kept from the import;
	// the outbox's default (7 days) when zero.
	Retention time.Duration
	// Log receives the stores' log lines; none when nil.
	Log *zerolog.Logger
}

// Import writes the archive open returns into o's target.
func Import(ctx context.Context, open func() (io.ReadCloser, error), o ImportOptions) (c migrate.Counts, err error) {
	mo := migrate.ImportOptions{Merge: o.Merge, Retention: o.Retention}
	switch {
	case len(o.NATSURLs) > 0 && o.DataDir != "":
		return c, errors.New("hub: import into a data directory or a cluster (--nats-url), not both")
	case len(o.NATSURLs) > 0:
		return importCluster(ctx, open, o, mo)
	case o.DataDir == "":
		return c, errors.New("hub: import needs a target: --data DIR or --nats-url URL")
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return c, fmt.Errorf("hub: %w", err)
	}
	db, err := openMoveStore(o.DataDir, o.Log)
	if err != nil {
		return c, err
	}
	defer closeMoveStore(db, o.DataDir, &err)
	st, err := openMoveBadger(ctx, db, o.Retention)
	if err != nil {
		return c, err
	}
	return migrate.Import(ctx, migrate.Target{Directory: st.dir, Presence: st.presence, Outbox: st.outbox, Inbox: st.inbox,
		Accounts: st.authz, Rules: st.authz, Retained: st.retained}, open, mo)
}

func openMoveStore(dir string, log *zerolog.Logger) (*badger.DB, error) {
	l := zerolog.Nop()
	if log != nil {
		l = *log
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err == nil {
		if err := datadir.Check(dir); err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
	}
	// Not synced per write: an import that stops halfway is run again
	// (it is idempotent), and Close syncs what was written.
	db, err := openStore(dir, false, DefaultMemTableSize, l)
	if err != nil {
		return nil, fmt.Errorf("hub: open %s (is a hub running on it? stop it first): %w", dir, err)
	}
	if err := checkFormat(db, ReadBuild("")); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func closeMoveStore(db *badger.DB, dir string, err *error) {
	if serr := db.Sync(); serr != nil && *err == nil {
		*err = fmt.Errorf("hub: sync store: %w", serr)
	}
	if cerr := db.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("hub: close store: %w", cerr)
	}
	// Files Badger made are 0666 minus the umask.
	if _, serr := datadir.Secure(dir); serr != nil && *err == nil {
		*err = fmt.Errorf("hub: %w", serr)
	}
}

type moveStores struct {
	badgerStores
	authz    *authz.Store
	retained *retained.Store
}

func openMoveBadger(ctx context.Context, db *badger.DB, retention time.Duration) (*moveStores, error) {
	st := &moveStores{}
	var err error
	if st.dir, err = directory.Open(ctx, db); err != nil {
		return nil, err
	}
	if st.inbox, err = inbox.New(db, inbox.Options{}); err != nil {
		return nil, err
	}
	st.presence = presence.New(db, nil)
	st.outbox = outbox.New(db, outbox.Options{DefaultRetention: retention, MaxHistory: DefaultMaxHistory})
	if st.authz, err = authz.Open(ctx, db, authz.Options{}); err != nil {
		return nil, err
	}
	st.retained = retained.Open(db)
	return st, nil
}

// importCluster writes into a cluster's JetStream stores.
func importCluster(ctx context.Context, open func() (io.ReadCloser, error), o ImportOptions, mo migrate.ImportOptions) (c migrate.Counts, err error) {
	n, jo, err := dialClusterStores(ctx, "wotmq-import", o.NATSURLs, o.Log)
	if err != nil {
		return c, err
	}
	defer n.Close()
	// The buckets and streams as the running nodes configured them (an
	// import must not set the nodes' history cap back to the default); a
	// missing one is made, so that an import may precede the first node.
	jo.Mode = jetstore.Attach
	st, err := openClusterStores(ctx, jo, jetstore.OutboxOptions{DefaultRetention: o.Retention, MaxHistory: DefaultMaxHistory})
	if err != nil {
		return c, err
	}
	defer st.Close()
	// The cluster's account store, as its nodes keep it: accounts, access
	// lists and access rules (the nodes hear each write).
	return migrate.Import(ctx, migrate.Target{Directory: st.dir, Presence: st.pres, Outbox: st.out, Inbox: st.in,
		Accounts: st.accounts, Rules: st.accounts, Retained: st.ret}, open, mo)
}

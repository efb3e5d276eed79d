package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/datadir"
)

// ResetPassword sets the password of an account in the store of a stopped
// hub, and enables it: the way back in when no admin can log in any more
// (wotmq reset-password; docs/operations.md, "Lost admin password"). An
// account that does not exist is created as an admin. The change voids
// the account's tokens, as a password change over the admin API does. No
// hub may run on dataDir meanwhile (Badger's lock refuses it).
func ResetPassword(ctx context.Context, dataDir, account, password string, log *zerolog.Logger) (created bool, err error) {
	l := zerolog.Nop()
	if log != nil {
		l = *log
	}
	if _, err := os.Stat(filepath.Join(dataDir, "MANIFEST")); err != nil {
		return false, fmt.Errorf("hub: no store in %s (%w)", dataDir, err)
	}
	// A cluster node's accounts are the cluster's, in JetStream: the
	// Badger store here holds none that any node reads.
	if _, err := os.Stat(filepath.Join(dataDir, "jetstream")); err == nil {
		return false, fmt.Errorf("hub: %s is the data directory of a cluster node, whose accounts are the cluster's (in JetStream); reset-password --data changes a single node's only: give --nats-url with a node's NATS URL instead (docs/cluster.md)", dataDir)
	}
	if err := datadir.Check(dataDir); err != nil {
		return false, fmt.Errorf("hub: %w", err)
	}
	db, err := openStore(dataDir, true, DefaultMemTableSize, l)
	if err != nil {
		return false, fmt.Errorf("hub: open %s (is a hub running on it? stop it first): %w", dataDir, err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("hub: close store: %w", cerr)
		}
		// Files Badger made are 0666 minus the umask.
		if _, serr := datadir.Secure(dataDir); serr != nil && err == nil {
			err = fmt.Errorf("hub: %w", serr)
		}
	}()
	if err := checkFormat(db, ReadBuild("")); err != nil {
		return false, err
	}
	st, err := authz.Open(ctx, db, authz.Options{})
	if err != nil {
		return false, err
	}
	enabled := true
	err = st.Update(ctx, account, nil, nil, &enabled, &password)
	if errors.Is(err, authz.ErrNoAccount) {
		return true, st.Add(ctx, account, authz.RoleAdmin, "Administrator", password)
	}
	return false, err
}

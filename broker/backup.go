package broker

import (
	"context"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wot"
)

// AdminBackup is the admin operation that writes an online backup of the
// store to a file in the hub's backup directory (admin only: a backup
// holds password hashes and the token key).
const AdminBackup = "backup"

// BackupReply answers AdminBackup.
type BackupReply struct {
	// File is the backup's path on the hub's host.
	File string `json:"file"`
	// Bytes is the backup's size.
	Bytes int64 `json:"bytes"`
	// Version is the store version the backup holds everything up to.
	Version uint64 `json:"version"`
	// Took is how long the backup took, e.g. "1.2s".
	Took string `json:"took"`
}

// adminBackup runs AdminBackup for an identity, through Options.Backup
// (the composition root owns the store).
func (h *Hub) adminBackup(ctx context.Context, id authz.Identity, file string) (any, error) {
	if !authz.Allowed(id.Role, authz.OpManageAccounts) {
		return nil, wot.Errorf(wot.CodeDenied, "role %s may not back up the hub", id.Role)
	}
	if h.opts.Backup == nil {
		return nil, wot.Errorf(wot.CodeInternal, "this hub takes no backups")
	}
	return h.opts.Backup(ctx, file)
}

// StorageError turns a full disk found by a write into storage_full (and
// refuses writes until the next disk check finds space); other errors
// are returned as they are.
func (h *Hub) StorageError(err error) error { return h.storageError(err) }

// WritesRefused reports whether a write would be refused now for the disk
// reserve (the write path's decision, not the last disk check's).
func (h *Hub) WritesRefused() bool { return h.writesRefused() }

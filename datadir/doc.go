// Package datadir guards the hub's data directory before Badger opens it:
// who may read it (Secure), and whether the store in it is whole (Check).
//
// # Why before Badger
//
// Badger repairs a damaged directory by itself, quietly: without a MANIFEST
// it starts an empty store and deletes the table files it no longer knows;
// it truncates a write-ahead log at the first unreadable record, dropping
// every acknowledged write after it; a truncated table file makes it panic
// on a goroutine of its own, which nobody can recover. Check reads the
// directory without changing a byte and returns a Damage error naming the
// file and the way out (restore from a backup, docs/operations.md), so the
// hub refuses to start instead.
//
// # Permissions
//
// The directory holds the key that signs tokens and every password hash.
// Badger creates its directory 0700 only when the directory does not exist
// yet, and most of its files 0666 minus the umask. Secure makes the
// directory 0700 and its files 0600 at every start and stop.
package datadir

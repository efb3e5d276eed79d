// Package directory keeps the Thing Descriptions that agents registered:
// which agent owns which Thing, and the TD it published. The hub derives
// each twin TD from these.
//
// # Storage
//
// The directory owns the Badger keys that start with "dir/" (see
// docs/storage.md):
//
//	dir/t/{thingID}    JSON {"agent": ..., "updated": ..., "td": <the agent's TD>}
//
// Every entry is also held in memory, parsed, so lookups on the message
// path never touch the disk.
//
// # Concurrency
//
// A Directory is safe for concurrent use. Entries returned are shared and
// must not be modified.
package directory

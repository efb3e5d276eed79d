// Package groupcommit batches concurrent writes to a Badger database into
// shared transactions: group commit.
//
// Every Badger transaction costs the same bookkeeping (a read timestamp, a
// commit timestamp, conflict tracking, a write request to Badger's writer)
// however few keys it writes. When many writers commit at once, as the
// hub's agents do with events and requests, a Committer lets one of them,
// the leader, commit the writes of all who are waiting in one transaction,
// and then wakes each of them. A lone writer commits its own transaction
// at once, with no hand-off to another goroutine.
//
// # Durability
//
// Update returns only after the transaction holding the write committed
// (with SyncWrites off: Badger wrote it to its log), so nothing is
// acknowledged before it is written. A write that fails is never reported
// as committed, and it does not make the other writes of its batch fail:
// the batch is then committed again without it, one write per
// transaction.
//
// # Writing functions
//
// A write function may run more than once (in a batch, then alone) and on
// another goroutine than its caller. It must reset whatever it records
// outside the transaction when it starts, must not block, and must only
// read and write through the transaction it is given. It sees the writes
// of the functions applied before it in the same batch, in the order their
// Update calls arrived.
package groupcommit

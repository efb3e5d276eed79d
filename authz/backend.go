package authz

import (
	"context"
	"time"
)

// Backend is where a Store persists what it keeps: accounts, Thing access
// lists, the access rules of free topics, revoked-token records and the
// token signing key. A single node keeps them in Badger (Open); a cluster
// in a store every node shares (package jetstore), through OpenBackend.
//
// Every write returns once the record is durable (in a cluster: on a
// quorum), with the record as stored, its Rev set. A Store holds
// everything in memory too; the Backend is read only at open and, for a
// WatchingBackend, for the changes other nodes make.
//
// Methods may be called concurrently.
type Backend interface {
	// Secret returns the token signing key, making it on first use; every
	// caller sharing the backend gets the same key, racing or not.
	Secret(ctx context.Context) ([]byte, error)
	// Load returns every record stored (revoked-token records whose token
	// expired may be left out).
	Load(ctx context.Context) ([]Record, error)
	// CreateAccount stores a new account; ErrExists when one of its ID is
	// stored already (made by this Store or, in a cluster, by any node).
	CreateAccount(ctx context.Context, a *Account) (Record, error)
	// UpdateAccount changes a stored account by read-modify-write: change
	// gets the stored account and edits it in place; it may run more than
	// once when another writer got there first, each time on the newest
	// state. ErrNoAccount when there is none; change's error is returned.
	UpdateAccount(ctx context.Context, id string, change func(*Account) error) (Record, error)
	// Put stores (or, with Deleted, removes) an access list, an access
	// rule or a revoked-token record. A revoked-token record is kept at
	// least until its token expires.
	Put(ctx context.Context, r Record) (Record, error)
}

// WatchingBackend is a Backend that other nodes write too: a Store opened
// on one watches it and applies every change to its memory, reporting each
// through Options.OnChange as it would its own.
type WatchingBackend interface {
	Backend
	// Watch calls apply with every record written from now on, by any
	// writer (this Store's included), in the order of their revisions; it
	// may first repeat records Load returned, and may skip a key's older
	// states when newer ones are stored already. It returns once the watch
	// is in place; apply runs on one goroutine, until stop, which waits
	// for it to return.
	Watch(ctx context.Context, apply func(Record)) (stop func(), err error)
}

// RecordKind is what a Record holds.
type RecordKind int

// Record kinds.
const (
	RecordAccount RecordKind = iota + 1 // Key: the account ID
	RecordACL                           // Key: the Thing ID
	RecordRule                          // Key: the rule ID
	RecordRevoked                       // Key: the token ID
)

// Record is one thing a Backend stores, as it travels between a Store and
// its Backend.
type Record struct {
	Kind RecordKind
	Key  string
	// Rev orders the writes of one key: a record whose Rev is not above
	// the one a Store applied last for its key is older news and ignored.
	// Zero on a backend without revisions (Badger: one writer).
	Rev uint64
	// Deleted removes the key (a cleared access list, a removed rule, a
	// revoked-token record past its token's expiry).
	Deleted bool

	Account *Account     // RecordAccount
	ACL     ThingACL     // RecordACL
	Rule    TopicRule    // RecordRule
	Revoked RevokedToken // RecordRevoked
}

// RevokedToken is a revoked-token record: whose token it was and when it
// expires (the record is useless after).
type RevokedToken struct {
	Account string    `json:"account"`
	Expires time.Time `json:"expires"`
}

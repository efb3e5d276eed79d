// Package storetest is the conformance suite of wotmq's stores: one set of
// tests that every store backend passes, in the style of testing/slogtest.
// The Badger stores (directory, presence, outbox, inbox) and the JetStream
// stores (jetstore) both run it, so the twin core can run over either
// without a difference a client could see.
//
// A backend gives Run an Opener: a function that opens the stores on the
// backend's data (the same data at every call of one Opener), so that the
// suite can check that what was written survives closing and reopening.
package storetest

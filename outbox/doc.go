// Package outbox keeps what twins tell the world: events and property
// values, as a time-ordered history with a retention period, plus the
// latest value of every event and property.
//
// # Storage
//
// The outbox owns the Badger keys that start with "outbox/" (see
// docs/storage.md):
//
//	outbox/h/{thingID}\x00{time}           history record, TTL = retention
//	outbox/l/{thingID}\x00{kind}{name}     latest value, no TTL
//
// {time} is 8 bytes of big-endian Unix nanoseconds, unique per store, so
// keys sort in time order and double as the replay cursor. A record is a
// small binary header (kind, name, sender, time) followed by the payload
// bytes exactly as the agent sent them: nothing is re-encoded.
//
// # Retention
//
// History entries carry a Badger TTL, so they disappear by themselves and
// value-log garbage collection (run by the hub) reclaims their space. TTLs
// have whole-second granularity.
//
// # Concurrency
//
// A Store is safe for concurrent use. Concurrent Appends share Badger
// transactions (package groupcommit); each returns only after its own
// record committed, and records are stamped in the order they are written,
// so the latest value is always the newest record.
package outbox

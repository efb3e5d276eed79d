// Package hubtest starts real wotmq hubs in tests, in the spirit of
// net/http/httptest, and checks after each test that the hub left
// nothing behind, as bbolt's btesting checks its database after each
// test. Only tests import it.
//
// # Starting a hub
//
// Start returns a hub serving MQTT over TCP on 127.0.0.1:0 with its data
// in t.TempDir(), in development mode (loopback clients need no
// credentials), every other listener off; options change that:
//
//	h := hubtest.Start(t, func(o *hub.Options) { o.HTTPAddr = "127.0.0.1:0" })
//
// To restart on the same data, close the hub and Start another with the
// first one's Options.DataDir. The hub closes when the test ends.
//
// # Invariants
//
// When the test ends, Start's cleanup closes the hub (again, if the test
// did) and checks, failing the test with what it found:
//
//   - Goroutines: no goroutine of the hub is left running. Start runs
//     hub.New and Hub.Start under a pprof label of their own; goroutines
//     inherit their creator's labels, so every goroutine the hub starts
//     (listeners, connections, Badger, the sweep) carries it, and none of
//     the test's, the test framework's or the runtime's does: tests may
//     run in parallel. The check polls the goroutine profile for up to
//     Timeout/3 and lists the stacks of those left. Goroutines the hub
//     starts from a call of the test (Hub.Backup, say) carry the test's
//     labels, and those of time.AfterFunc none: they are not checked.
//   - Store: the data directory, reopened read-only with the stores' own
//     code, loads; every Thing in the directory has an owner (a valid
//     agent ID) and its own TD; and inbox.Store.Check finds the requests
//     and their queue index in agreement (no index entry without its
//     request, no unfinished request outside the index).
//   - Stuck requests, below.
//
// # Stuck requests
//
// A request is stuck when it is unfinished in the stopped hub's store and
// no start of the hub would ever deliver it to the agent that owns its
// Thing, so that at best its expiry ends it:
//
//   - it is missing from its agent's queue index (delivery, redelivery and
//     the expiry sweep read only the index; inbox.Store.Check reports it);
//   - its Thing is not registered (deleting a Thing fails its unfinished
//     requests first);
//   - its Thing belongs to another agent than the one it is queued for
//     (reassigning a Thing fails them first).
//
// A request left pending, delivered, running or waiting for an agent that
// is not connected is not stuck: the agent's next connection, after a
// restart too, delivers it again (or fails it, for a safe action), and
// the sweep fails it once it expires.
//
// # Opting out
//
// SkipInvariants(t, why) turns the checks off for the hubs of a test that
// leaves such state on purpose (a crash image, a stranded request); the
// reason is logged.
//
// # Clients and helpers
//
// Dial connects a paho MQTT 5 client whose methods fail the test on error
// (Sub, Pub, MustPub, Next, None, Ended); NewClient wraps a connection the
// test opened itself, to see a refused CONNACK. Connect connects a client
// of the SDK (package wot). WritePacket and ReadPacket speak MQTT packet by
// packet, for what a client library would not send. StartMochi starts a
// bare Mochi broker, the baseline of benchmarks. Buffer collects a hub's
// log. WaitFor polls a condition. Every wait is bounded by Timeout.
package hubtest

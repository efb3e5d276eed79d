// Package reliability holds whole-process tests of the hub: the wotmq
// binary is built once per test run and started as a child process on
// loopback ports, so that it can be killed like a real one.
//
// # Tests
//
//   - TestCrashSafety kills the hub with SIGKILL while agents publish QoS 1
//     events and consumers invoke actions, restarts it on the same data
//     directory, and checks over MQTT that every event the hub acknowledged
//     is in the history (once) and every action it acknowledged is pending,
//     delivered or finished. WOTMQ_CRASH_KILLS sets the number of kills (5
//     in make test, 20 in make crash).
//   - TestDiskFull fills a small tmpfs under a running hub (root only,
//     skipped elsewhere): writes are refused with storage_full, nothing
//     crashes, and writes are accepted again once space returns.
//   - TestSoak runs 1,000 clients with steady traffic for about ten
//     minutes (WOTMQ_SOAK=1, make soak) and checks that resident memory
//     and goroutines stay flat after warm-up; with WOTMQ_SOAK_REPORT it
//     writes its figures into that file's soak section
//     (docs/benchmarks.md).
//
// WOTMQ_BIN names a wotmq binary to test instead of building one.
//
// The package has no code of its own.
package reliability

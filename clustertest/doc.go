// Package clustertest runs the nodes of a wotmq cluster test as child
// processes on loopback, so that a kill is a real SIGKILL: nothing of the
// killed node's process (buffers, deferred calls, goroutines) survives it,
// exactly as when a machine loses power or the kernel kills a process.
//
// A Proc is one child: its command line, the tail of its output for
// failure reports, a Line channel-like wait for a line the test expects,
// Kill (SIGKILL) and Restart (the same command line again). FreePorts
// reserves ephemeral loopback ports for route addresses, which the nodes
// must know of each other before any starts. NATSTrio is three embedded
// NATS nodes as children of the test binary.
package clustertest

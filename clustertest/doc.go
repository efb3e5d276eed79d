// Package clustertest runs the nodes of a wotmq cluster test as child
// processes on loopback, so that a kill is a real SIGKILL: nothing of the
// killed node's process (buffers, deferred calls, goroutines) survives it,
// exactly as when a machine loses power or the kernel kills a process.
//
// A Proc is one child: its command line, the tail of its output for
// failure reports, WaitLine for a line the test expects (WaitLineAll for
// one from each of several, failing as soon as one exits), Kill (SIGKILL)
// and Restart (the same command line again). FreePorts picks loopback
// ports for route addresses, which the nodes must know of each other
// before any starts, below the kernel's ephemeral range so that no
// connection of a test running beside it is given one meanwhile.
// NATSTrio is three embedded NATS nodes as children of the test binary.
package clustertest

package hub

import (
	"sync"

	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/retained"
)

// Retained messages of free topics in a cluster (docs/cluster.md): kept
// in the bucket WOTMQ_RETAINED instead of each node's Badger. A node's
// broker writes there what its clients retain or clear (before the
// PUBACK, as on a single node); every node watches the bucket and sets or
// clears the message in its own broker, so a node that was down learns at
// start what changed meanwhile.
//
// The live publish also reaches the other nodes on the fan-out bus, and
// Mochi retains what is injected with the retain flag. Bus and bucket are
// two paths whose orders may differ when two nodes change one topic at
// once; the bucket's order decides: after a retained message from the bus
// the node puts back the bucket's newest it has seen for that topic.

// retainedMirror is what a node knows of the bucket.
type retainedMirror struct {
	store *jetstore.Retained
	b     *broker.Hub

	mu    sync.Mutex
	known map[string]*retained.Message // topic -> the bucket's newest seen; nil: cleared
}

// watch starts following the bucket: the stored messages first, then
// every change.
func (rm *retainedMirror) watch(b *broker.Hub) error {
	rm.b, rm.known = b, map[string]*retained.Message{}
	return rm.store.Watch(func(topic string, m *retained.Message) {
		rm.mu.Lock()
		defer rm.mu.Unlock()
		rm.known[topic] = m
		rm.b.SetRetained(topic, m)
	})
}

// fromBus runs after a retained message on a free topic from another node
// was injected: the bucket's newest seen for the topic is what stays.
func (rm *retainedMirror) fromBus(topic string) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if m, ok := rm.known[topic]; ok {
		rm.b.SetRetained(topic, m)
	}
}

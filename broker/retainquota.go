package broker

import (
	"sync"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// retainedTopics counts the free topics that hold a retained message, so
// that Limits.MaxRetained can refuse a new one: each is written to disk
// and restored at every start, and without a bound one client allowed to
// publish on a free subtree could fill the disk one topic at a time.
type retainedTopics struct {
	mu     sync.Mutex
	topics map[string]struct{}
}

// set records that topic holds a retained message (held) or none.
func (r *retainedTopics) set(topic string, held bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !held {
		delete(r.topics, topic)
		return
	}
	if r.topics == nil {
		r.topics = map[string]struct{}{}
	}
	r.topics[topic] = struct{}{}
}

// admit reports whether a retained message on topic may be kept when at
// most max may be: a topic that holds one already is always taken.
func (r *retainedTopics) admit(topic string, max int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.topics[topic]; ok {
		return true
	}
	return len(r.topics) < max
}

// admitRetained refuses a client's retained publish that would keep a new
// free-topic retained message beyond Limits.MaxRetained (PUBACK 0x97).
func (h *Hub) admitRetained(pk *packets.Packet) error {
	max := h.opts.Limits.MaxRetained
	if max <= 0 || !pk.FixedHeader.Retain || len(pk.Payload) == 0 || !twin.Free(pk.TopicName) {
		return nil
	}
	if h.retainedTopics.admit(pk.TopicName, max) {
		return nil
	}
	return wire.Errorf(wire.CodeQuota, "the hub keeps at most %d retained messages on free topics (--max-retained); replace or clear one", max)
}

// OnRetainedExpired forgets a retained message whose message expiry passed
// (Mochi drops it from its index; the store drops it at the next start).
func (k *hook) OnRetainedExpired(topic string) { k.h.retainedTopics.set(topic, false) }

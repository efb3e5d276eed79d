package mqtt

import "sync"

// wotmq: the subscribers of a topic are cached between changes of the
// index. Every publish walked the topic index level by level and copied
// every matching particle's subscriptions into four fresh maps; a hub
// publishes each event, status and value on a handful of topics whose
// subscribers rarely change. A cached result is keyed by the topic and
// tagged with the index's generation, which every Subscribe, Unsubscribe,
// InlineSubscribe and InlineUnsubscribe advances once its change is made:
// a result is used only while no change happened since its walk began.

// maxCachedTopics bounds the cache; it starts again empty when full.
const maxCachedTopics = 4096

type subscribersCache struct {
	mu      sync.Mutex
	entries map[string]cachedSubscribers
}

type cachedSubscribers struct {
	gen  uint64
	subs *Subscribers
}

// changed marks a change of the index's subscriptions, made.
func (x *TopicsIndex) changed() { x.gen.Add(1) }

// CachedSubscribers returns what Subscribers returns, from the cache when
// the subscriptions have not changed since it was made. A result without
// shared subscriptions is shared with other callers and must not be
// modified; one with shared subscriptions is the caller's own (a
// publish selects a member of each group in it).
func (x *TopicsIndex) CachedSubscribers(topic string) *Subscribers {
	gen := x.gen.Load()
	x.cache.mu.Lock()
	e, ok := x.cache.entries[topic]
	x.cache.mu.Unlock()
	if ok && e.gen == gen {
		return e.subs
	}
	subs := x.Subscribers(topic)
	if len(subs.Shared) > 0 {
		return subs
	}
	x.cache.mu.Lock()
	if x.cache.entries == nil || len(x.cache.entries) >= maxCachedTopics {
		x.cache.entries = make(map[string]cachedSubscribers)
	}
	x.cache.entries[topic] = cachedSubscribers{gen: gen, subs: subs}
	x.cache.mu.Unlock()
	return subs
}

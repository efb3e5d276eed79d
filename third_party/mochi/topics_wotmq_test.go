package mqtt

import (
	"sync"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/require"
)

// TestWotmqCachedSubscribers: the cached subscribers of a topic follow
// every change of the index (subscribe, unsubscribe, inline ones, a QoS
// raised), and a result with shared subscriptions is the caller's own.
func TestWotmqCachedSubscribers(t *testing.T) {
	x := NewTopicsIndex()
	clients := func(topic string) []string {
		var out []string
		for id := range x.CachedSubscribers(topic).Subscriptions {
			out = append(out, id)
		}
		return out
	}
	require.Empty(t, clients("a/b"))
	x.Subscribe("cl1", packets.Subscription{Filter: "a/+"})
	require.ElementsMatch(t, []string{"cl1"}, clients("a/b"))
	require.Same(t, x.CachedSubscribers("a/b"), x.CachedSubscribers("a/b"), "not cached")
	x.Subscribe("cl2", packets.Subscription{Filter: "a/b"})
	require.ElementsMatch(t, []string{"cl1", "cl2"}, clients("a/b"))
	x.Subscribe("cl2", packets.Subscription{Filter: "a/b", Qos: 1})
	require.Equal(t, byte(1), x.CachedSubscribers("a/b").Subscriptions["cl2"].Qos)
	x.Unsubscribe("a/+", "cl1")
	require.ElementsMatch(t, []string{"cl2"}, clients("a/b"))
	require.Empty(t, x.CachedSubscribers("a/c").Subscriptions)

	x.InlineSubscribe(InlineSubscription{Subscription: packets.Subscription{Filter: "a/#", Identifier: 1}})
	require.Len(t, x.CachedSubscribers("a/b").InlineSubscriptions, 1)
	x.InlineUnsubscribe(1, "a/#")
	require.Empty(t, x.CachedSubscribers("a/b").InlineSubscriptions)

	x.Subscribe("cl3", packets.Subscription{Filter: SharePrefix + "/g/a/b"})
	first := x.CachedSubscribers("a/b")
	require.Len(t, first.Shared, 1)
	first.SelectShared()
	first.MergeSharedSelected() // what a publish does to it
	require.NotSame(t, first, x.CachedSubscribers("a/b"))
	require.ElementsMatch(t, []string{"cl2"}, clients("a/b"), "a shared result was modified in the cache")
}

// TestWotmqCachedSubscribersRace: lookups while subscriptions change see
// each change once it is made (run with -race).
func TestWotmqCachedSubscribersRace(t *testing.T) {
	x := NewTopicsIndex()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					_ = x.CachedSubscribers("t/1")
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		x.Subscribe("cl", packets.Subscription{Filter: "t/+"})
		require.Contains(t, x.CachedSubscribers("t/1").Subscriptions, "cl", "round %d", i)
		x.Unsubscribe("t/+", "cl")
		require.NotContains(t, x.CachedSubscribers("t/1").Subscriptions, "cl", "round %d", i)
	}
	close(stop)
	wg.Wait()
}

// BenchmarkWotmqSubscribers: the subscribers of a hub's event topic, walked
// each time (Mochi) and cached (wotmq).
func BenchmarkWotmqSubscribers(b *testing.B) {
	x := NewTopicsIndex()
	x.Subscribe("consumer", packets.Subscription{Filter: "wotmq/things/+/events/+"})
	x.Subscribe("other", packets.Subscription{Filter: "wotmq/things/t2/properties/+"})
	topic := "wotmq/things/bench-t0/events/tick"
	b.Run("Walk", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = x.Subscribers(topic)
		}
	})
	b.Run("Cached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = x.CachedSubscribers(topic)
		}
	})
}

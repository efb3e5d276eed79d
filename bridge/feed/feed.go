// Package feed hands what the twin core publishes (Core.Listen) and what
// clients publish on free topics (Core.Tap) to one goroutine of a bridge,
// in order. The core calls its listeners with locks held and forbids them
// to block or to call back into it; a bridge must do both (publish its own
// messages, submit requests), so it does that work on the feed's
// goroutine instead.
//
// # Order and bounds
//
// Items are handled one at a time in the order they arrived. A filter
// registered as droppable (values and events) and every tapped publish (a
// controller's command, which no controller expects an answer to) lose
// their items while more than Max are waiting, with a count and a warning;
// the others (TDs, presence) are never dropped, so a bridge's picture of
// the Things stays whole.
package feed

import (
	"sync"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
)

// Max is how many items may wait before droppable ones are dropped.
const Max = 1 << 16

// Item is one message for the bridge.
type Item struct {
	// Message is what was published.
	Message twin.Message
	// Tapped marks a client's publish on a free topic (Core.Tap); From is
	// its sender. Otherwise the hub published it (Core.Listen).
	Tapped bool
	From   authz.Identity
}

// Feed queues items for one handler goroutine.
type Feed struct {
	core   *twin.Core
	log    zerolog.Logger
	handle func(Item)

	mu      sync.Mutex
	limit   int // Max; less in tests
	items   []Item
	dropped int
	stops   []func()
	closed  bool
	wake    chan struct{}
	done    chan struct{}
}

// New starts a feed whose goroutine calls handle for every item, until
// Close.
func New(core *twin.Core, log zerolog.Logger, handle func(Item)) *Feed {
	f := &Feed{core: core, log: log, handle: handle, limit: Max, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go f.run()
	return f
}

// Listen feeds the hub's publishes on topics matching filter; droppable
// ones may be dropped under load (see the package documentation).
func (f *Feed) Listen(filter string, droppable bool) {
	stop := f.core.Listen(filter, func(m twin.Message) { f.put(Item{Message: m}, droppable) })
	f.mu.Lock()
	f.stops = append(f.stops, stop)
	f.mu.Unlock()
}

// Tap feeds clients' publishes on free topics matching filter; they may be
// dropped under load.
func (f *Feed) Tap(filter string) {
	stop := f.core.Tap(filter, func(from authz.Identity, m twin.Message) {
		f.put(Item{Message: m, Tapped: true, From: from}, true)
	})
	f.mu.Lock()
	f.stops = append(f.stops, stop)
	f.mu.Unlock()
}

// Push feeds an item of the bridge's own (a request to publish again).
func (f *Feed) Push(it Item) { f.put(it, false) }

func (f *Feed) put(it Item, droppable bool) {
	it.Message.Payload = append([]byte(nil), it.Message.Payload...) // the publisher keeps its buffer
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
		return
	case droppable && len(f.items) >= f.limit:
		f.dropped++
		first := f.dropped == 1
		f.mu.Unlock()
		if first {
			f.log.Warn().Int("waiting", f.limit).Str("topic", it.Message.Topic).Msg("bridge falls behind: dropping values and events until it catches up")
		}
		return
	}
	f.items = append(f.items, it)
	select { // under mu: Close closes wake under it
	case f.wake <- struct{}{}:
	default:
	}
	f.mu.Unlock()
}

func (f *Feed) run() {
	defer close(f.done)
	for range f.wake {
		for {
			f.mu.Lock()
			if f.closed {
				f.mu.Unlock()
				return
			}
			if len(f.items) == 0 {
				if f.dropped > 0 {
					f.log.Warn().Int("dropped", f.dropped).Msg("bridge caught up")
					f.dropped = 0
				}
				f.mu.Unlock()
				break
			}
			it := f.items[0]
			f.items[0] = Item{}
			f.items = f.items[1:]
			f.mu.Unlock()
			f.handle(it)
		}
	}
}

// Close stops listening and ends the goroutine after the item it is
// handling; items still waiting are dropped. It waits for the goroutine.
func (f *Feed) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		<-f.done
		return
	}
	f.closed = true
	stops := f.stops
	f.stops = nil
	f.items = nil
	close(f.wake)
	f.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	<-f.done
}

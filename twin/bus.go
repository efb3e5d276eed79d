package twin

import (
	"sync"

	"github.com/wotmq/wotmq/inbox"
)

// watchers are in-process listeners for the statuses of requests (the HTTP
// binding waits on them), by request ID.
type watchers struct {
	mu   sync.Mutex
	next int
	fns  map[string]map[int]func(*inbox.Request)
}

// Watch registers fn for a request's statuses and returns a function that
// removes it. fn runs with the agent's lock held: it must not block.
func (c *Core) Watch(id string, fn func(*inbox.Request)) func() {
	w := &c.watchers
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[string]map[int]func(*inbox.Request){}
	}
	if w.fns[id] == nil {
		w.fns[id] = map[int]func(*inbox.Request){}
	}
	w.next++
	n := w.next
	w.fns[id][n] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.fns[id], n)
		if len(w.fns[id]) == 0 {
			delete(w.fns, id)
		}
	}
}

// call tells the watchers of r its status; after a final status they are
// removed.
func (w *watchers) call(r *inbox.Request) {
	w.mu.Lock()
	fns := make([]func(*inbox.Request), 0, len(w.fns[r.ID]))
	for _, fn := range w.fns[r.ID] {
		fns = append(fns, fn)
	}
	if r.Status.Final() {
		delete(w.fns, r.ID)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		cp := *r
		fn(&cp)
	}
}

// bus fans the hub's own publishes out to in-process listeners (the HTTP
// binding's event streams) by MQTT topic filter. Listeners are called on
// the publishing goroutine and must not block.
type bus struct {
	mu   sync.RWMutex
	next int
	subs map[int]busSub
}

type busSub struct {
	filter string
	fn     func(Message)
}

// Listen calls fn for every message the hub publishes on a topic that
// matches filter, until the returned function is called. fn must not call
// Listen or the returned function.
func (c *Core) Listen(filter string, fn func(Message)) func() {
	return c.bus.add(filter, fn)
}

// add registers fn for the messages on topics matching filter and returns
// the function that removes it.
func (b *bus) add(filter string, fn func(Message)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[int]busSub{}
	}
	b.next++
	n := b.next
	b.subs[n] = busSub{filter: filter, fn: fn}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, n)
	}
}

func (b *bus) publish(m Message) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, s := range b.subs {
		if matchFilter(s.filter, m.Topic) {
			s.fn(m)
		}
	}
}

package wot

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/eclipse/paho.golang/paho"
)

// DefaultQueueSize is how many messages a subscription holds for its
// handler when Options.QueueSize is zero.
const DefaultQueueSize = 1024

// sink receives a message on paho's handler goroutine. It must not block.
type sink func(*paho.Publish)

// sub is one local subscription: a filter and where its messages go.
type sub struct {
	filter string
	sink   sink
	// fresh is set while the subscription waits for the retained messages
	// its SUBSCRIBE asked for. Retained messages go only to fresh
	// subscriptions: another subscription on the same filter (or a
	// ReadProperty) subscribes again, and the broker then sends the
	// retained messages again, which the older ones have had.
	fresh atomic.Bool
}

// subTable is the client's own subscription table: what to subscribe
// again when the connection comes back, and where each received message
// goes. Several local subscriptions may share a filter; the broker sees one
// subscription per filter.
type subTable struct {
	mu    sync.RWMutex
	exact map[string][]*sub // filters without wildcards, by filter
	wild  map[string][]*sub // filters with wildcards
}

func newSubTable() *subTable {
	return &subTable{exact: make(map[string][]*sub), wild: make(map[string][]*sub)}
}

func (t *subTable) bucket(filter string) map[string][]*sub {
	if hasWildcard(filter) {
		return t.wild
	}
	return t.exact
}

// add registers s.
func (t *subTable) add(s *sub) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucket(s.filter)
	// Copy on write: dispatch iterates a slice without holding the lock
	// for long.
	b[s.filter] = append(append([]*sub(nil), b[s.filter]...), s)
}

// remove drops s and reports whether it was the last one on its filter.
func (t *subTable) remove(s *sub) (last bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucket(s.filter)
	old := b[s.filter]
	var kept []*sub
	for _, o := range old {
		if o != s {
			kept = append(kept, o)
		}
	}
	if len(kept) == 0 {
		delete(b, s.filter)
		return len(old) > 0
	}
	b[s.filter] = kept
	return false
}

// all returns every filter with at least one subscription, and those
// subscriptions.
func (t *subTable) all() (filters []string, subs []*sub) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, b := range []map[string][]*sub{t.exact, t.wild} {
		for f, ss := range b {
			filters = append(filters, f)
			subs = append(subs, ss...)
		}
	}
	return filters, subs
}

// has reports whether filter has a subscription.
func (t *subTable) has(filter string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.bucket(filter)[filter]) > 0
}

// dispatch hands p to every subscription whose filter matches its topic.
// The broker sends one copy per client even when several filters match
// (Mochi does; MQTT 5 allows either), so matching is done here.
func (t *subTable) dispatch(p *paho.Publish) {
	t.mu.RLock()
	exact := t.exact[p.Topic]
	var wild []*sub
	for f, subs := range t.wild {
		if MatchFilter(f, p.Topic) {
			wild = append(wild, subs...)
		}
	}
	t.mu.RUnlock()
	for _, s := range exact {
		if !p.Retain || s.fresh.Load() {
			s.sink(p)
		}
	}
	for _, s := range wild {
		if !p.Retain || s.fresh.Load() {
			s.sink(p)
		}
	}
}

// markers tells when the retained messages a SUBSCRIBE asked for have all
// arrived. Every SUBSCRIBE of the client ends with the filter of the hub's
// own TD ($wotmq/td), which is always retained. The hub sends the retained
// messages of each filter of a SUBSCRIBE in order, so once a copy of the
// hub TD arrives, those of the filters before it have all been dispatched.
// SUBSCRIBEs are sent in the order of this queue (under Client.subMu) and
// the hub answers them in order, so each copy belongs to the oldest
// waiter.
type markers struct {
	mu  sync.Mutex
	q   []*marker
	gen uint64 // connection generation: copies count only for waiters of the current one
}

// marker waits for n copies of the hub TD.
type marker struct {
	n    int
	gen  uint64
	done chan struct{}
	err  error // set when the connection dropped first
}

// push queues a waiter for n copies. The caller holds Client.subMu and
// sends the SUBSCRIBE next.
func (m *markers) push(n int) *marker {
	m.mu.Lock()
	defer m.mu.Unlock()
	mk := &marker{n: n, gen: m.gen, done: make(chan struct{})}
	m.q = append(m.q, mk)
	return mk
}

// connected starts a new connection generation.
func (m *markers) connected() {
	m.mu.Lock()
	m.gen++
	m.mu.Unlock()
}

// cancel drops a waiter whose SUBSCRIBE was never sent.
func (m *markers) cancel(mk *marker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, o := range m.q {
		if o == mk {
			m.q = append(m.q[:i], m.q[i+1:]...)
			return
		}
	}
}

// arrived counts one copy of the hub TD (paho's handler goroutine).
// Waiters left from an earlier connection (their SUBSCRIBE went to a
// connection that dropped) fail first.
func (m *markers) arrived() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.q) > 0 && m.q[0].gen != m.gen {
		m.q[0].err = fmt.Errorf("%w while subscribing", ErrConnection)
		close(m.q[0].done)
		m.q = m.q[1:]
	}
	if len(m.q) == 0 {
		return
	}
	mk := m.q[0]
	if mk.n--; mk.n <= 0 {
		m.q = m.q[1:]
		close(mk.done)
	}
}

// refused takes from mk the copies of the hub TD that the filters its
// SUBACK refused will not bring: a waiter left counting them would hold up
// every later one (issue 15's CI: a SUBSCRIBE refused with 0x91 blocked
// every later subscription of the client).
func (m *markers) refused(mk *marker, p *paho.Subscribe, reasons []byte) {
	missing := 0
	for i, s := range p.Subscriptions {
		if i < len(reasons) && reasons[i] >= 0x80 && MatchFilter(s.Topic, HubTDTopic) {
			missing++
		}
	}
	if missing == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if mk.n -= missing; mk.n > 0 {
		return
	}
	for i, o := range m.q {
		if o == mk { // still waiting: no copy will come
			m.q = append(m.q[:i], m.q[i+1:]...)
			close(mk.done)
			return
		}
	}
}

// reset ends every waiter with err: the connection dropped, no copies will
// come.
func (m *markers) reset(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mk := range m.q {
		mk.err = err
		close(mk.done)
	}
	m.q = nil
}

// markerCount is how many copies of the hub TD a SUBSCRIBE of filters,
// with the hub TD's filter appended once (subscribePacket), brings.
func markerCount(filters []string) int {
	n := 1
	for _, f := range filters {
		if f != HubTDTopic && MatchFilter(f, HubTDTopic) {
			n++
		}
	}
	return n
}

// Subscription is a running subscription: its handler is called for each
// message, one at a time, on a goroutine of its own.
//
// Back-pressure: messages wait in a queue of Options.QueueSize for the
// handler. When the handler falls that far behind, new messages are
// dropped and counted (Dropped): a slow handler never stalls the
// connection, the other subscriptions, or action replies.
type Subscription struct {
	c       *Client
	s       *sub
	queue   chan Message
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
}

// newSubscription starts the handler goroutine of a subscription.
func (c *Client) newSubscription(filter string, handler func(Message)) *Subscription {
	s := &Subscription{
		c:     c,
		queue: make(chan Message, c.opts.QueueSize),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	s.s = &sub{filter: filter, sink: s.push}
	go func() {
		defer close(s.done)
		for {
			select {
			case m := <-s.queue:
				handler(m)
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

// push queues a message for the handler, or drops it when the queue is
// full. It runs on paho's handler goroutine.
func (s *Subscription) push(p *paho.Publish) {
	select {
	case <-s.stop:
		return
	default:
	}
	select {
	case s.queue <- newMessage(p):
	default:
		s.dropped.Add(1)
	}
}

// Filter is the topic filter of the subscription.
func (s *Subscription) Filter() string { return s.s.filter }

// Dropped is the number of messages dropped because the handler fell
// Options.QueueSize messages behind.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Done is closed when the subscription has stopped and its handler has
// returned.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Stop ends the subscription: the handler is not called again once it
// returns (Stop may be called from the handler) and the broker
// subscription is dropped when no other subscription of this client uses
// the filter. Queued messages are discarded. Stop is idempotent.
func (s *Subscription) Stop(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		err = s.c.unsubscribe(ctx, s.s)
	})
	return err
}

// hasWildcard reports whether filter has a "+" or "#" level.
func hasWildcard(filter string) bool {
	for i := 0; i < len(filter); i++ {
		if filter[i] == '+' || filter[i] == '#' {
			return true
		}
	}
	return false
}

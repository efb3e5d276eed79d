package proxy

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// DefaultMaxQueued is Options.MaxQueued's default.
const DefaultMaxQueued = 10000

// Transport is what the proxy needs of the MQTT broker beside the core: to
// publish a device's commands on its own topics, to read what devices left
// retained, and to see whether a device listens yet (broker.Hub has all
// three).
type Transport interface {
	// Publish sends a message from the hub, bypassing the access rules.
	Publish(twin.Message)
	// Retained returns the retained messages on topics matching filter.
	Retained(filter string) []twin.Message
	// Subscribed reports whether some client subscribes to topic: what was
	// held for a device that came back waits until it does.
	Subscribed(topic string) bool
}

// Options configures a Proxy. Core, Authz, Directory, Inbox and Presence
// are required; Transport too for commands and retained state (without it
// commands fail and no retained state is read).
type Options struct {
	Core *twin.Core
	// Authz decides what the proxy may do for each account (access.go).
	Authz     *authz.Store
	Directory twin.Directory
	Inbox     twin.Inbox
	Presence  twin.Presence
	Transport Transport
	// Logger receives the proxy's log; the zero Logger drops it.
	Logger zerolog.Logger
	// MaxQueued is the most device messages waiting for the proxy; more are
	// dropped (and counted in the log) so that a flooding device never holds
	// up the broker. DefaultMaxQueued when zero.
	MaxQueued int
}

// Proxy is the hub's agent for the devices whose TDs ask for it
// (twin.ProxyMember). Its methods may be called concurrently.
type Proxy struct {
	opts Options
	log  zerolog.Logger

	mu       sync.Mutex // guards queue, queued, dropped
	queue    []func()
	queued   int // device messages in queue
	dropped  int // device messages dropped since the last log line
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	unlisten []func()
	started  bool // Start ran: the worker runs until stop

	tapMu sync.Mutex          // guards taps and early
	taps  map[string]func()   // tapped filters and how to remove each
	early map[string][]string // filters tapped when a Thing's TD was stored, until the worker reconciles it (tapEarly)

	// Owned by the worker goroutine (run): nothing else touches them.
	devices  map[string]*deviceState // by Thing ID
	served   map[string]bool         // agents the proxy receives requests for
	active   map[string]bool         // requests held, sent or awaiting confirmation, by ID
	confirms map[string]*confirm     // requests awaiting the property that confirms them, by ID
	warned   map[string]string       // the last mapping error logged per Thing and affordance

	droppedSince  int       // device messages dropped since the last log line
	droppedLogged time.Time // when that line was written
}

// deviceState is a proxied device and what the proxy knows of it now.
type deviceState struct {
	*device
	available bool
	held      []request // requests waiting for the device to come back, in order
	// settled is when a device that came back gets what was held for it
	// (availability.settle after it said online); zero when nothing waits.
	settled time.Time
}

// request is a request the core delivered to a proxied device's agent.
type request struct {
	id, op, thing, name string
	agent               string // the agent it was delivered to
	sender              string // who made it (for a cancel: who cancels)
	input               []byte
}

// confirm is a command sent that completes when its property is reported.
type confirm struct {
	req      request
	agent    string
	property string
	want     []byte // the value that completes a property write; nil: any report
	output   bool   // the action has an output: the reported value is it
	deadline time.Time
}

// The hub's publishes the proxy listens to: every twin TD (registered,
// replaced, deleted) and every agent's requests.
var (
	tdFilter       = strings.Replace(wire.TDTopic("x"), "/x/", "/+/", 1)
	requestsFilter = strings.Replace(wire.RequestsTopic("x"), "/x/", "/+/", 1)
)

// conn is the proxy's connection as the core knows it (twin.ConnID).
type conn struct{}

var proxyConn = &conn{}

// New prepares a proxy; Start runs it.
func New(opts Options) *Proxy {
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = DefaultMaxQueued
	}
	return &Proxy{
		opts: opts, log: opts.Logger,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		devices: map[string]*deviceState{}, served: map[string]bool{}, taps: map[string]func(){}, early: map[string][]string{},
		active: map[string]bool{}, confirms: map[string]*confirm{}, warned: map[string]string{},
	}
}

// Start begins to proxy the registered devices and follows the directory
// from then on: call it once the core has started, and before clients can
// publish (a device's message sent before its topics are tapped is not
// heard; at start the proxy does not trust what was left retained).
func (p *Proxy) Start(ctx context.Context) {
	c := p.opts.Core
	p.unlisten = append(p.unlisten,
		c.Listen(tdFilter, func(m twin.Message) {
			if t, err := wire.ParseTopic(m.Topic); err == nil {
				// Queued first: what the early taps hear queues behind it.
				p.enqueue(func() { p.reconcile(t.ThingID, false); p.syncAgents() }, false)
				p.tapEarly(t.ThingID)
			}
		}),
		c.Listen(requestsFilter, func(m twin.Message) {
			t, err := wire.ParseTopic(m.Topic)
			if err != nil {
				return
			}
			r := request{agent: t.AgentID, input: m.Payload}
			for _, u := range m.User {
				switch u.Key {
				case wire.PropActionID:
					r.id = u.Value
				case wire.PropOp:
					r.op = u.Value
				case wire.PropThing:
					r.thing = u.Value
				case wire.PropName:
					r.name = u.Value
				case wire.PropSender:
					r.sender = u.Value
				}
			}
			p.enqueue(func() { p.handle(r) }, false)
		}),
	)
	// The registered devices are taken up here, before the worker starts
	// (nothing else touches its state yet), so that their topics are
	// tapped when Start returns: the hub starts the proxy before it
	// accepts clients, and a device that says Online at once is heard.
	for _, e := range p.opts.Directory.List() {
		if twin.Proxied(e.TD) {
			p.reconcile(e.ThingID, true)
		}
	}
	p.syncAgents()
	p.started = true
	go p.run()
}

// Close stops proxying: the proxy stops listening and no longer receives
// its agents' requests (what it held stays in the inbox for the next
// start). Call it before the core closes.
func (p *Proxy) Close() {
	select {
	case <-p.stop:
		return
	default:
	}
	for _, fn := range p.unlisten {
		fn()
	}
	close(p.stop)
	if !p.started {
		return
	}
	<-p.done
	p.tapMu.Lock()
	for _, untap := range p.taps {
		untap()
	}
	p.tapMu.Unlock()
	for agent := range p.served {
		p.opts.Core.AgentUnsubscribed(agent, p.twinConn())
	}
}

// enqueue hands work to the worker; a device message (device set) is
// dropped when MaxQueued of them wait.
func (p *Proxy) enqueue(fn func(), device bool) {
	p.mu.Lock()
	if device {
		if p.queued >= p.opts.MaxQueued {
			p.dropped++
			p.mu.Unlock()
			return
		}
		p.queued++
		inner := fn
		fn = func() {
			p.mu.Lock()
			p.queued--
			p.mu.Unlock()
			inner()
		}
	}
	p.queue = append(p.queue, fn)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run is the worker: every change of the proxy's state happens here, in
// the order it was queued.
func (p *Proxy) run() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		work := p.queue
		p.queue = nil
		dropped := p.dropped
		p.dropped = 0
		p.mu.Unlock()
		if p.droppedSince += dropped; p.droppedSince > 0 && time.Since(p.droppedLogged) >= 10*time.Second {
			// One line per 10 s at most while the proxy stays behind.
			p.log.Warn().Int("dropped", p.droppedSince).Int("max", p.opts.MaxQueued).Msg("proxy: device messages dropped, the proxy is behind")
			p.droppedSince, p.droppedLogged = 0, time.Now()
		}
		for _, fn := range work {
			fn()
		}
		p.expireConfirms()
		p.flushSettled()
		if len(work) > 0 {
			continue
		}
		timer.Reset(p.nextDeadline())
		select {
		case <-p.stop:
			return
		case <-p.wake:
		case <-timer.C:
		}
	}
}

// twinConn is the proxy's connection for the core's connection events.
func (p *Proxy) twinConn() twin.Conn {
	return twin.Conn{ID: twin.ConnID(proxyConn), Client: "wotmq-proxy", Remote: "hub"}
}

// syncAgents makes the proxy receive the requests of exactly the agents
// with a proxied device. An agent served for the first time gets its
// requests: the waiting ones from the core, and those the proxy had held
// or sent before the hub stopped from the inbox.
func (p *Proxy) syncAgents() {
	want := map[string]bool{}
	for _, d := range p.devices {
		want[d.agent] = true
	}
	for agent := range p.served {
		if !want[agent] {
			delete(p.served, agent)
			p.opts.Core.AgentUnsubscribed(agent, p.twinConn())
		}
	}
	for agent := range want {
		if p.served[agent] {
			continue
		}
		p.served[agent] = true
		p.opts.Core.AgentSubscribed(agent, p.twinConn()) // delivers pending and delivered requests
		p.resume(agent)
	}
}

// resume takes up an agent's requests that the proxy had reported waiting
// (held for an offline device) or running (sent, awaiting confirmation)
// before the hub stopped: the core leaves those to the agent.
func (p *Proxy) resume(agent string) {
	reqs, err := p.opts.Inbox.Unfinished(context.Background(), agent)
	if err != nil {
		p.log.Error().Err(err).Str("agent", agent).Msg("proxy: cannot read requests")
		return
	}
	for _, r := range reqs {
		req := request{id: r.ID, op: r.Op, thing: r.ThingID, name: r.Name, agent: r.AgentID, input: r.Input}
		switch r.Status {
		case wire.StatusWaiting:
			p.handle(req)
		case wire.StatusRunning:
			p.awaitAgain(req)
		}
	}
}

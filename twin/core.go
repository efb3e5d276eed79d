package twin

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// Defaults for Options.
const (
	DefaultMaxQueue       = 1000
	DefaultSweepInterval  = time.Second
	DefaultMaxAffordances = 1000
	DefaultWindow         = 1
)

// Options configures a Core. The stores are required; every other field's
// zero value is safe: no limit where a limit is 0 (MaxQueue and
// SweepInterval take their defaults), a Nop logger, time.Now.
type Options struct {
	// Directory, Inbox, Outbox, Presence and Authz are the stores the
	// core works on, opened (and closed) by the caller.
	Directory Directory
	Inbox     Inbox
	Outbox    Outbox
	Presence  Presence
	Authz     *authz.Store
	// Publisher sends the hub's publishes (the MQTT adapter's inline
	// client); none are sent when nil, and the in-process listeners
	// (Listen) still hear them.
	Publisher Publisher
	// Logger receives the core's log; the zero Logger drops it.
	Logger zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Dev describes the hub's security as nosec in the TDs it builds
	// (development mode).
	Dev bool
	// MaxQueue is the most unfinished requests an agent may have; a new
	// request beyond it is refused with quota. DefaultMaxQueue when zero.
	MaxQueue int
	// Window is the most requests delivered to one agent and not yet
	// answered; more wait as pending. DefaultWindow when zero. The
	// transport sets it from what one client's queue holds.
	Window int
	// MaxThingsPerAgent is the most Things one agent may register (quota);
	// no limit when zero or negative.
	MaxThingsPerAgent int
	// MaxAffordances is the most properties, actions and events one TD may
	// have (quota); no limit when negative, DefaultMaxAffordances when zero.
	MaxAffordances int
	// MaxPayload is the largest publish the transports carry: a twin TD
	// whose retained publish would be larger is refused (too_large); no
	// limit when zero or negative.
	MaxPayload int
	// RetentionOverrides sets the history retention of affordances by
	// name, over the TD and the hub default; a value of 0 keeps only the
	// latest value.
	RetentionOverrides map[string]time.Duration
	// StoreRetry is how long a request whose delivery could not be
	// recorded is tried again before the agent's later requests (which
	// wait meanwhile, to keep their order): a cluster's stores refuse
	// writes for a few seconds while they elect a new leader. Zero (a
	// single node): not retried, the next request goes out.
	StoreRetry time.Duration
	// SweepInterval is how often expired requests are failed;
	// DefaultSweepInterval when zero.
	SweepInterval time.Duration
	// Backup writes an online backup of the store for AdminBackup; the
	// operation is refused as internal when nil.
	Backup func(ctx context.Context, name string) (*BackupReply, error)
	// Observe, when set, is told the latency of every request that reached
	// its outcome (for the metrics). It must not block.
	Observe func(op string, status wire.Status, took time.Duration)
	// CheckTD, when set, checks every TD registered, with the account that
	// registers it, after the core's own checks (the proxy checks that it
	// can map a proxied device's forms and that the account may use the
	// device's topics); its error refuses the TD as invalid_td.
	CheckTD func(owner authz.Identity, t *td.Thing) error
}

// Forms describe where the twins are served, for the forms of the TDs the
// core builds. MQTT forms are the core's own (its topic scheme); another
// transport adds its forms through HTTP.
type Forms struct {
	// MQTT is the base of MQTT form hrefs, e.g. mqtt://localhost:1883.
	MQTT string
	// HTTP adds the HTTP binding's forms; none when nil.
	HTTP Binding
}

// Binding is a transport that serves the twins beside MQTT and adds its
// forms to the TDs the core builds: in each affordance its forms come
// before the MQTT ones. Its methods are called from inside the core's
// locks; they must not call the core.
type Binding interface {
	// Base is the base URI of a twin TD, which relative hrefs resolve
	// against ("" for none).
	Base(thingID string) string
	// PropertyForms, ActionForms and EventForms are an affordance's forms.
	PropertyForms(thingID, name string, p *td.PropertyAffordance) []td.Form
	ActionForms(thingID, name string) []td.Form
	EventForms(thingID, name string) []td.Form
	// ThingForms are the Thing-level forms of a twin TD.
	ThingForms(t *td.Thing) []td.Form
	// HubTD adds what the binding serves about the hub to the hub's TD
	// (the Discovery API).
	HubTD(t *td.Thing)
}

func (o *Options) setDefaults() {
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.MaxAffordances == 0 {
		o.MaxAffordances = DefaultMaxAffordances
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Core is the hub's twin logic over its stores: the request pipeline, the
// agent operations, presence, the twin and hub TDs, restore and expiry.
// Its methods may be called concurrently.
type Core struct {
	opts Options
	log  zerolog.Logger

	dir      Directory
	inbox    Inbox
	outbox   Outbox
	presence Presence
	authz    *authz.Store

	watchers watchers        // in-process listeners of request statuses
	bus      bus             // in-process listeners of the hub's publishes
	taps     bus             // in-process listeners of clients' publishes on free topics (Tap)
	channels channelSessions // real-time channel signalling sessions
	window   int             // most requests delivered to one agent and not yet answered
	forms    Forms           // set by Start

	agents      clientSet      // connections subscribed to their requests topic
	conns       clientSet      // all connections, by identity
	sentSeq     sentSeq        // when requests were sent, against when agents subscribed (handover.go)
	locks       [64]sync.Mutex // per-agent request locks, by hash of the agent ID (slot)
	lines       [64]line       // what follows the staged commits made under each lock (line.go)
	lineRunners sync.WaitGroup // the lines' goroutines

	gate    sync.RWMutex // connection events hold it shared; Close takes it exclusively
	stop    chan struct{}
	bg      sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
}

// New prepares a core over open stores; Start restores the retained state
// and starts the expiry sweep.
func New(opts Options) *Core {
	opts.setDefaults()
	c := &Core{opts: opts, log: opts.Logger, stop: make(chan struct{}), window: opts.Window}
	c.dir, c.inbox, c.outbox, c.presence, c.authz = opts.Directory, opts.Inbox, opts.Outbox, opts.Presence, opts.Authz
	c.agents.init()
	c.conns.init()
	return c
}

// Start publishes the retained state the hub owns (the hub TD, every twin
// TD, the latest values and statuses; the transport keeps retained
// messages in memory only) with forms, fails the requests that expired
// while the hub was down, and starts the expiry sweep. Call it once,
// before clients connect, when the transports know their addresses.
func (c *Core) Start(ctx context.Context, forms Forms) error {
	c.forms = forms
	if err := c.restore(ctx); err != nil {
		return err
	}
	c.bg.Add(1)
	go c.sweepLoop()
	return nil
}

// Close stops the sweep and refuses connection events from now on; it
// waits for the work they started. Calls that handle a message still run
// (the transport stops those); it is safe to call more than once.
func (c *Core) Close() {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	close(c.stop)
	c.gate.Lock() // wait for connection events in flight; later ones see stop closed
	c.bg.Wait()
	c.gate.Unlock()
	c.closeLines()
}

// enter is called by every connection event; it reports false when the
// core is closing. A true result must be paired with leave.
func (c *Core) enter() bool {
	c.gate.RLock()
	select {
	case <-c.stop:
		c.gate.RUnlock()
		return false
	default:
		return true
	}
}

func (c *Core) leave() { c.gate.RUnlock() }

// agentLock returns the mutex that serialises request handling for an
// agent: adding, delivering and finishing its requests.
func (c *Core) agentLock(agentID string) *sync.Mutex {
	return &c.locks[c.slot(agentID)]
}

// slot is the index of an agent's lock and line: a hash of its ID.
func (c *Core) slot(agentID string) uint32 {
	var x uint32 = 2166136261
	for i := 0; i < len(agentID); i++ {
		x = (x ^ uint32(agentID[i])) * 16777619
	}
	return x % uint32(len(c.locks))
}

// connKey is the context key of the connection a message came from.
type connKey struct{}

// ConnOf is the connection whose message is being handled, as Publish
// put it into the context it passes on (to the stores, and from the
// account store to its OnChange): nil outside a Publish.
func ConnOf(ctx context.Context) ConnID { return ctx.Value(connKey{}) }

// Publish handles a message a client published, as from (the
// authenticated sender) on conn (nil for a message the transport sends on
// a client's behalf, such as a Will). Consumer requests and agent
// operations are the hub's, wotmq/admin is the admin API; a free topic
// (Free) is decided by the access rules, handed to the taps (Tap), and
// left to the transport to deliver. It returns a *wire.Error for a refusal, which the transport
// maps to its own reason (wire.Code); other errors are internal.
//
// What Publish stores is committed when it returns. after, when not nil,
// is the work that waits for the client's acknowledgement (the fan-out of
// an agent's event): the transport runs it once the acknowledgement is
// written, or at once when it has none to write.
func (c *Core) Publish(ctx context.Context, from authz.Identity, conn ConnID, m *Message) (after func(), err error) {
	if conn != nil {
		ctx = context.WithValue(ctx, connKey{}, conn)
	}
	var later []func()
	err = c.handlePublish(withAfterAck(ctx, &later), from, m)
	if len(later) > 0 {
		after = func() {
			for _, fn := range later {
				fn()
			}
		}
	}
	return after, err
}

// Free reports whether a topic is free (wire.IsFreeTopic): a publish
// there that Publish allows (it returns no error) is delivered by the
// transport as a plain MQTT broker would, with everything the client set.
func Free(topic string) bool { return wire.IsFreeTopic(topic) }

// handlePublish decides a publish by id and handles it.
func (c *Core) handlePublish(ctx context.Context, id authz.Identity, pk *Message) error {
	if wire.IsFreeTopic(pk.Topic) {
		if err := c.authz.CanPublishFree(id, pk.Topic); err != nil {
			return err
		}
		c.tapped(id, pk) // the twins of existing devices and the bridges hear it
		return nil
	}
	t, err := wire.ParseTopic(pk.Topic)
	if err == nil {
		err = c.authz.CanPublish(id, pk.Topic, t)
	}
	switch {
	case err != nil:
		return err
	case t.Kind == wire.TopicUnknown:
		return c.admin(ctx, id, pk) // the only open topic outside the scheme
	}
	return c.route(ctx, id, t, pk)
}

// route dispatches a publish on a wotmq topic.
func (c *Core) route(ctx context.Context, id authz.Identity, t wire.Topic, pk *Message) error {
	switch t.Kind {
	case wire.TopicAgentTD:
		return c.agentUpdateTD(ctx, id, t, pk.Payload)
	case wire.TopicAgentEvent:
		return c.agentPublish(ctx, id, t, wire.KindEvent, pk)
	case wire.TopicAgentProperty:
		return c.agentPublish(ctx, id, t, wire.KindProperty, pk)
	case wire.TopicAgentReplies:
		return c.agentReply(ctx, id, t, pk)
	case wire.TopicAction:
		return c.consumerRequest(ctx, id, t, wire.OpInvokeAction, pk)
	case wire.TopicPropertySet:
		return c.consumerRequest(ctx, id, t, wire.OpWriteProperty, pk)
	case wire.TopicThingHistory, wire.TopicEventHistory, wire.TopicPropertyHistory:
		return c.consumerHistory(ctx, id, t, pk)
	case wire.TopicActionCancel:
		return c.cancelAction(ctx, id, t, pk)
	case wire.TopicActionHistory:
		return c.actionHistory(ctx, id, t, pk)
	case wire.TopicAgentPresence:
		return c.agentPresence(ctx, id, t, pk)
	case wire.TopicChannel:
		return c.channelSignal(ctx, id, t, pk)
	case wire.TopicAgentSignal:
		return c.agentSignal(ctx, id, pk)
	}
	return wire.Errorf(wire.CodeInvalidTopic, "nothing can be published on %s", t.Kind)
}

// publish sends a QoS 1 message from the hub. An empty retained payload
// clears the retained message of the topic.
func (c *Core) publish(topic string, payload []byte, retain bool, user []Property) {
	c.publishQoS(topic, payload, retain, 1, user)
}

func (c *Core) publishQoS(topic string, payload []byte, retain bool, qos byte, user []Property) {
	c.send(Message{
		QoS:     qos,
		Retain:  retain,
		Topic:   topic,
		Payload: payload,
		User:    user,
	})
}

// send publishes a message of the hub through the Publisher, then to the
// in-process listeners (Listen).
func (c *Core) send(m Message) {
	if c.opts.Publisher != nil {
		c.opts.Publisher.Publish(m)
	}
	c.bus.publish(Message{Topic: m.Topic, Payload: m.Payload, Retain: m.Retain, User: m.User})
}

// observe reports a request's latency at its outcome (Options.Observe).
func (c *Core) observe(op string, status wire.Status, took time.Duration) {
	if c.opts.Observe != nil {
		c.opts.Observe(op, status, took)
	}
}

// matchFilter reports whether an MQTT topic filter matches a topic name
// (MQTT 5.0 section 4.7). Shared subscriptions never match: requests go to
// the agent's own connections.
func matchFilter(filter, topic string) bool {
	for {
		fl, frest, fmore := cut(filter)
		if fl == "#" {
			return true
		}
		tl, trest, tmore := cut(topic)
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore || !tmore {
			return fmore == tmore || (!tmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}

func cut(s string) (level, rest string, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

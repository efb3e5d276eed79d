package broker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/retained"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// Defaults for Options.
const (
	DefaultTCPAddr       = ":1883"
	DefaultWSAddr        = ":9001"
	DefaultTLSAddr       = ":8883"
	DefaultWSSAddr       = ":9443"
	DefaultSweepInterval = twin.DefaultSweepInterval
	DefaultMaxQueue      = twin.DefaultMaxQueue
)

// Options configures the broker's Hub; package hub fills them from
// hub.Options, whose fields the same names document. The zero value
// serves on the default ports.
type Options struct {
	// TCPAddr is the MQTT over TCP listen address; DefaultTCPAddr when
	// empty, "off" to disable.
	TCPAddr string
	// WSAddr is the MQTT over WebSocket listen address; DefaultWSAddr when
	// empty, "off" to disable.
	WSAddr string
	// TLS, when set, adds MQTT over TLS on TLSAddr and MQTT over secure
	// WebSocket on WSSAddr. With ClientAuth set (VerifyClientCertIfGiven),
	// a client certificate whose common name is an account logs in as it.
	TLS *tls.Config
	// TLSAddr is the MQTT over TLS listen address; DefaultTLSAddr when
	// empty, "off" to disable.
	TLSAddr string
	// WSSAddr is the MQTT over secure WebSocket listen address;
	// DefaultWSSAddr when empty, "off" to disable.
	WSSAddr string
	// PublicHost is the host name written into TD forms; "localhost" when
	// empty. Set it to the name clients use to reach the hub.
	PublicHost string
	// MaxQueue is the most unfinished requests an agent may have; a new
	// request beyond it is refused with quota. DefaultMaxQueue when zero.
	MaxQueue int
	// RetentionOverrides sets the history retention of affordances by
	// name, over the TD and the hub default; a value of 0 keeps only the
	// latest value.
	RetentionOverrides map[string]time.Duration
	// SweepInterval is how often expired requests are failed;
	// DefaultSweepInterval when zero.
	SweepInterval time.Duration
	// Dev admits clients without credentials from loopback addresses, as
	// anonymous accounts named by their user name (else client ID) with
	// the service role. Never on a network.
	Dev bool
	// Limits bound clients, agents and the store; see limits.go. The zero
	// value selects safe defaults (no rate limit).
	Limits Limits
	// Reserve is the disk reserve the guard keeps (package hub owns it);
	// none when nil.
	Reserve Reserve
	// Backup writes an online backup of the store for AdminBackup (the
	// composition root owns the store); the operation is refused as
	// internal when nil.
	Backup func(ctx context.Context, name string) (*twin.BackupReply, error)
	// Fanout, when set, is handed every message the core publishes, after
	// this broker's clients got it, and every allowed publish on a free
	// topic: a cluster sends them to the other nodes, which Inject them
	// (package hub, cluster.go). It must not block.
	Fanout func(twin.Message)
	// StoreRetry is the core's twin.Options.StoreRetry (a cluster's).
	StoreRetry time.Duration
	// SessionEstablished, when set, is told the session key
	// ({account}/{client ID}, clientid.go) of every client connection that
	// began or resumed a session (a cluster records which node holds it,
	// and the newest connection of a session wins, as in one broker; one
	// account's other client IDs are other sessions). It runs on the
	// goroutine that reads the connection (a read worker of the patched
	// Mochi): it must not block.
	SessionEstablished func(session string)
	// Logger receives the hub's log; zerolog.Nop() when nil.
	Logger *zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// CheckTD, when set, checks every TD registered after the core's own
	// checks (twin.Options.CheckTD: the proxy's, for proxied devices).
	CheckTD func(owner authz.Identity, t *td.Thing) error
}

func (o *Options) setDefaults() {
	if o.TCPAddr == "" {
		o.TCPAddr = DefaultTCPAddr
	}
	if o.WSAddr == "" {
		o.WSAddr = DefaultWSAddr
	}
	if o.TLSAddr == "" {
		o.TLSAddr = DefaultTLSAddr
	}
	if o.WSSAddr == "" {
		o.WSSAddr = DefaultWSSAddr
	}
	if o.PublicHost == "" {
		o.PublicHost = "localhost"
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	o.Limits.setDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		l := zerolog.Nop()
		o.Logger = &l
	}
}

// Hub is a running wotmq hub: the embedded MQTT broker, the twins' store
// and the logic between them.
type Hub struct {
	opts Options
	log  zerolog.Logger

	retainedTopics retainedTopics // free topics holding a retained message (retainquota.go)

	dir        twin.Directory
	inbox      twin.Inbox
	outbox     twin.Outbox
	presence   twin.Presence
	authz      *authz.Store
	retained   RetainedStore
	sessions   sync.Map // *mqtt.Client -> authz.Identity
	afterAck   sync.Map // *mqtt.Client -> func(): fan-out waiting for its publish's PUBACK
	pipes      sync.Map // *mqtt.Client -> *pipeline: publishes read and not yet handled (pipeline.go)
	away       sync.Map // client key -> *awaySession: persistent sessions whose client is away (clientid.go)
	wills      sync.Map // *mqtt.Client -> *willMsg: the Will the hub sends when the connection ends (will.go)
	willMu     sync.Mutex
	willTimers map[string]*time.Timer // client key -> a Will waiting for its delay
	// tokenTimers ends connections at their token's expiry (tokenends.go).
	tokenTimers sync.Map   // *mqtt.Client -> *time.Timer
	links       links      // network connections Mochi is not done with (links.go)
	core        *twin.Core // the twin logic over the stores
	srv         *mqtt.Server
	self        *mqtt.Client // inline client the hub publishes with (inject.go)

	tcp *listeners.TCP
	ws  *wsListener
	tls *listeners.TCP
	wss *wsListener

	mqttURL string // base of MQTT form hrefs, e.g. mqtt://localhost:1883

	gate     sync.RWMutex // handlers hold it shared; Close takes it exclusively
	closed   bool
	stop     chan struct{}
	bg       sync.WaitGroup
	closeMu  sync.Mutex
	closeErr error
	ops      ops // metrics, rate buckets, disk guard (metrics.go, limits.go)
}

// Stores are the stores the broker's Hub works on, opened (and closed) by
// the composition root, package hub. Every field is required.
type Stores struct {
	Directory twin.Directory
	Inbox     twin.Inbox
	Outbox    twin.Outbox
	Presence  twin.Presence
	Authz     *authz.Store
	// Retained keeps free topics' retained messages across restarts;
	// none are kept when nil.
	Retained RetainedStore
}

// RetainedStore keeps free topics' retained messages: retained.Store on a
// single node, jetstore.Retained in a cluster (where every node has
// them). Put and Delete return once the change is stored.
type RetainedStore interface {
	Put(ctx context.Context, m retained.Message) error
	Delete(ctx context.Context, topic string) error
	All(ctx context.Context, now int64) ([]retained.Message, error)
}

var _ RetainedStore = (*retained.Store)(nil)

// New prepares a hub over open stores; Start runs it. The caller routes
// the account store's changes to AccountChanged.
func New(opts Options, st Stores) (*Hub, error) {
	opts.setDefaults()
	h := &Hub{opts: opts, log: *opts.Logger, stop: make(chan struct{})}
	h.links.init()
	h.ops.init()
	h.dir, h.inbox, h.outbox, h.presence, h.authz = st.Directory, st.Inbox, st.Outbox, st.Presence, st.Authz
	h.retained = st.Retained

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0 // retained twin state must not expire
	caps.Compatibilities.NoInheritedPropertiesOnAck = true
	// The hub TD's old topic is retained for clients that name it; a "#"
	// or "+/+" of a general client must not find it (docs/topics.md).
	caps.LiteralRetained = map[string]bool{wot.LegacyHubTDTopic: true}
	opts.Limits.capabilities(caps)
	// Requests delivered to an agent and not yet answered are at most
	// RequestWindow, within half of its client queue: Mochi drops a QoS 1
	// message for a client whose queue is full, and a dropped request
	// would stay delivered until the agent reconnects. More wait as
	// pending.
	h.core = twin.New(twin.Options{
		Directory: st.Directory, Inbox: st.Inbox, Outbox: st.Outbox, Presence: st.Presence, Authz: st.Authz,
		Publisher:          publisher{h},
		Logger:             h.log,
		Now:                opts.Now,
		Dev:                opts.Dev,
		MaxQueue:           opts.MaxQueue,
		Window:             requestWindow(opts.Limits.RequestWindow, caps),
		MaxThingsPerAgent:  opts.Limits.MaxThingsPerAgent,
		MaxAffordances:     opts.Limits.MaxAffordances,
		MaxPayload:         opts.Limits.MaxPayload,
		RetentionOverrides: opts.RetentionOverrides,
		SweepInterval:      opts.SweepInterval,
		StoreRetry:         opts.StoreRetry,
		Backup:             opts.Backup,
		Observe:            h.ops.observe,
		CheckTD:            opts.CheckTD,
	})
	h.srv = mqtt.New(&mqtt.Options{
		Capabilities:             caps,
		InlineClient:             false,
		Logger:                   newSlogLogger(h.log),
		ClientNetWriteBufferSize: 4096,
		ClientNetReadBufferSize:  4096,
	})
	if err := h.srv.AddHook(&guard{h: h}, nil); err != nil { // runs first: limits
		return nil, err
	}
	if err := h.srv.AddHook(&hook{h: h}, nil); err != nil {
		return nil, err
	}
	h.self = h.srv.NewClient(nil, "local", "wotmq-hub", true)
	h.self.Properties.ProtocolVersion = 5
	return h, nil
}

// AccountChanged is the account store's OnChange: it ends the
// connections and streams a change voids (revoke.go).
func (h *Hub) AccountChanged(ctx context.Context, c authz.Change) { h.accountChanged(ctx, c) }

// Accounts is the hub's account store.
func (h *Hub) Accounts() *authz.Store { return h.authz }

// Start binds the listeners, publishes the retained twin state (with the
// forms of http, another transport that serves the twins, when not nil)
// and starts serving. It returns once clients can connect. beforeServe,
// when not nil, runs once the core has started and before the listeners
// accept anyone: what must hear every client's publish from the first
// (the proxy's taps) starts there.
func (h *Hub) Start(ctx context.Context, http twin.Binding, beforeServe func()) error {
	if h.opts.TCPAddr != "off" {
		h.tcp = listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: h.opts.TCPAddr})
		if err := h.srv.AddListener(h.watchEnds(h.tcp)); err != nil {
			return fmt.Errorf("broker: listen on %s: %w", h.opts.TCPAddr, err)
		}
	}
	if h.opts.WSAddr != "off" {
		h.ws = newWSListener("ws", h.opts.WSAddr)
		if err := h.srv.AddListener(h.watchEnds(h.ws)); err != nil {
			return fmt.Errorf("broker: listen on %s (websocket): %w", h.opts.WSAddr, err)
		}
	}
	if h.opts.TLS != nil && h.opts.TLSAddr != "off" {
		h.tls = listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tls", Address: h.opts.TLSAddr, TLSConfig: h.opts.TLS})
		if err := h.srv.AddListener(h.watchEnds(h.tls)); err != nil {
			return fmt.Errorf("broker: listen on %s (TLS): %w", h.opts.TLSAddr, err)
		}
	}
	if h.opts.TLS != nil && h.opts.WSSAddr != "off" {
		h.wss = newWSListener("wss", h.opts.WSSAddr)
		h.wss.tls = h.opts.TLS
		if err := h.srv.AddListener(h.watchEnds(h.wss)); err != nil {
			return fmt.Errorf("broker: listen on %s (secure websocket): %w", h.opts.WSSAddr, err)
		}
	}
	h.mqttURL = (&url.URL{Scheme: "mqtt", Host: net.JoinHostPort(h.opts.PublicHost, portOf(h.MQTTAddr(), "1883"))}).String()
	if err := h.restoreRetained(ctx); err != nil {
		return err
	}
	if err := h.core.Start(ctx, twin.Forms{MQTT: h.mqttURL, HTTP: http}); err != nil {
		return err
	}
	if beforeServe != nil {
		beforeServe()
	}
	if err := h.srv.Serve(); err != nil {
		h.core.Close() // its sweep started with it
		return fmt.Errorf("broker: serve: %w", err)
	}
	h.log.Info().Str("mqtt", h.MQTTAddr()).Str("ws", h.WSAddr()).Str("mqtts", h.TLSAddr()).Str("wss", h.WSSAddr()).
		Bool("dev", h.opts.Dev).Int("things", h.dir.Len()).Msg("broker started")
	return nil
}

func portOf(addr, def string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return def
	}
	return port
}

// MQTTAddr is the bound MQTT over TCP address ("" when disabled).
func (h *Hub) MQTTAddr() string {
	if h.tcp == nil {
		return ""
	}
	return h.tcp.Address()
}

// TLSAddr is the bound MQTT over TLS address ("" when disabled).
func (h *Hub) TLSAddr() string {
	if h.tls == nil {
		return ""
	}
	return h.tls.Address()
}

// WSSAddr is the bound MQTT over secure WebSocket address ("" when
// disabled).
func (h *Hub) WSSAddr() string {
	if h.wss == nil {
		return ""
	}
	return h.wss.Address()
}

// WSAddr is the bound MQTT over WebSocket address ("" when disabled).
func (h *Hub) WSAddr() string {
	if h.ws == nil {
		return ""
	}
	return h.ws.Address()
}

// Close stops accepting clients and waits for the messages being handled;
// no handler uses the stores after it returns (the caller closes them). It
// is safe to call more than once.
func (h *Hub) Close() error {
	h.closeMu.Lock()
	defer h.closeMu.Unlock()
	if h.closed {
		return h.closeErr
	}
	h.closed = true
	close(h.stop)
	h.core.Close() // refuses connection events; messages in flight still finish
	h.dropDelayedWills()
	err := h.srv.Close()
	h.gate.Lock() // wait for in-flight handlers; later ones see stop closed
	h.bg.Wait()
	h.gate.Unlock()
	h.closeErr = err
	return err
}

// enter is called by every handler; it reports false when the hub is
// closing. A true result must be paired with leave.
func (h *Hub) enter() bool {
	h.gate.RLock()
	select {
	case <-h.stop:
		h.gate.RUnlock()
		return false
	default:
		return true
	}
}

func (h *Hub) leave() { h.gate.RUnlock() }

// Core is the twin core the broker feeds. The broker builds it, since the
// core's Publisher (the inline client) and its delivery window (half a
// client's queue) are Mochi's; another transport serves it too.
func (h *Hub) Core() *twin.Core { return h.core }

// requestWindow is the delivery window of requests: the RequestWindow
// setting (no limit: as large as the rest allows), held within half of a
// client's queue and of its inflight limit, so that Mochi never drops a
// request for a full queue.
func requestWindow(setting int, caps *mqtt.Capabilities) int {
	w := min(int(caps.MaximumClientWritesPending), int(caps.MaximumInflight)) / 2
	if setting > 0 {
		w = min(w, setting)
	}
	return max(1, w)
}

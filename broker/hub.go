package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/datadir"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
)

// Defaults for Options.
const (
	DefaultTCPAddr       = ":1883"
	DefaultWSAddr        = ":9001"
	DefaultTLSAddr       = ":8883"
	DefaultWSSAddr       = ":9443"
	DefaultDataDir       = "./wotmq-data"
	DefaultSweepInterval = time.Second
	DefaultGCInterval    = 5 * time.Minute
	DefaultMaxQueue      = 1000
	DefaultHTTPAddr      = ":8080"
	DefaultHTTPSAddr     = ":8443"
	DefaultHTTPWait      = 10 * time.Second
	// DefaultMetricsAddr is where wotmq serve puts the metrics unless told
	// otherwise: loopback, since /metrics has no authentication.
	DefaultMetricsAddr = "127.0.0.1:9090"
	DefaultHTTPRead    = 30 * time.Second
	DefaultHTTPIdle    = 2 * time.Minute
)

// Options configures a Hub. The zero value runs a hub on the default ports
// with its data in DefaultDataDir.
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
	// HTTPAddr is the HTTP + SSE listen address (the WoT HTTP binding and
	// the Discovery API, docs/http.md); DefaultHTTPAddr when empty, "off"
	// to disable.
	HTTPAddr string
	// HTTPSAddr is the HTTPS listen address, used when TLS is set;
	// DefaultHTTPSAddr when empty, "off" to disable.
	HTTPSAddr string
	// HTTPWait is how long an HTTP invokeaction or writeproperty waits for
	// the outcome before it answers with the request's status URL;
	// DefaultHTTPWait when zero. A request may ask for less or more with
	// ?timeout= (at most MaxHTTPWait).
	HTTPWait time.Duration
	// HTTPReadTimeout is how long an HTTP client may take to send a whole
	// request, headers and body (at most 10 s of it for the headers); a
	// slower one is cut off (408). Event streams and requests waiting for
	// an outcome are not bound by it once their request is read.
	// DefaultHTTPRead when zero.
	HTTPReadTimeout time.Duration
	// HTTPIdleTimeout is how long an HTTP connection may stay open between
	// requests; DefaultHTTPIdle when zero.
	HTTPIdleTimeout time.Duration
	// MDNS advertises the HTTP API over DNS-SD (_wot._tcp, subtype
	// _directory) on the local network. A failure to advertise is logged,
	// never fatal.
	MDNS bool
	// MDNSInterface limits the advertisement to one network interface by
	// name; the system's default multicast interface when empty.
	MDNSInterface string
	// DataDir is the Badger directory; DefaultDataDir when empty.
	DataDir string
	// PublicHost is the host name written into TD forms; "localhost" when
	// empty. Set it to the name clients use to reach the hub.
	PublicHost string
	// Retention is how long event and property history is kept when the
	// TD does not say; outbox.DefaultRetention when zero.
	Retention time.Duration
	// ActionExpiry bounds how long a request may wait when the consumer set
	// no Message Expiry Interval; inbox.DefaultExpiry when zero.
	ActionExpiry time.Duration
	// MaxQueue is the most unfinished requests an agent may have; a new
	// request beyond it is refused with quota. DefaultMaxQueue when zero.
	MaxQueue int
	// OutcomeRecall is how many finished requests per action or property
	// are kept for the outcome history; inbox.DefaultOutcomeRecall when
	// zero.
	OutcomeRecall int
	// RetentionOverrides sets the history retention of affordances by
	// name, over the TD and the hub default; a value of 0 keeps only the
	// latest value.
	RetentionOverrides map[string]time.Duration
	// SweepInterval is how often expired requests are failed;
	// DefaultSweepInterval when zero.
	SweepInterval time.Duration
	// GCInterval is how often Badger's value log is garbage collected;
	// DefaultGCInterval when zero.
	GCInterval time.Duration
	// Dev admits clients without credentials from loopback addresses, as
	// anonymous accounts named by their user name (else client ID) with
	// the service role. Never on a network.
	Dev bool
	// AdminPassword, when set and the hub has no accounts, creates the
	// account "admin" with it. Without it, a hub that is not in Dev mode
	// creates "admin" with a random password on its first start
	// (InitialAdminPassword).
	AdminPassword string
	// Throttle limits failed logins; the zero value uses the defaults.
	Throttle authz.ThrottleOptions
	// PasswordCost is the bcrypt cost of password hashes;
	// authz.DefaultCost when zero.
	PasswordCost int
	// SyncWrites makes Badger fsync every write (survives power loss, not
	// only a process crash) at a cost in throughput.
	SyncWrites bool
	// Limits bound clients, agents and the store; see limits.go. The zero
	// value selects safe defaults (no rate limit).
	Limits Limits
	// MetricsAddr is the listen address of the Prometheus metrics,
	// /healthz and /readyz (metrics.go); no listener when empty or "off"
	// (wotmq serve defaults to DefaultMetricsAddr, loopback only: the
	// endpoints have no authentication).
	MetricsAddr string
	// BackupDir is where the backup admin operation writes its files;
	// DataDir/backups when empty.
	BackupDir string
	// Logger receives the hub's log; zerolog.Nop() when nil.
	Logger *zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
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
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultHTTPAddr
	}
	if o.HTTPSAddr == "" {
		o.HTTPSAddr = DefaultHTTPSAddr
	}
	if o.HTTPWait <= 0 {
		o.HTTPWait = DefaultHTTPWait
	}
	if o.HTTPReadTimeout <= 0 {
		o.HTTPReadTimeout = DefaultHTTPRead
	}
	if o.HTTPIdleTimeout <= 0 {
		o.HTTPIdleTimeout = DefaultHTTPIdle
	}
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
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
	if o.GCInterval <= 0 {
		o.GCInterval = DefaultGCInterval
	}
	o.Limits.setDefaults()
	if o.BackupDir == "" {
		o.BackupDir = filepath.Join(o.DataDir, "backups")
	}
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

	db         *badger.DB
	dir        *directory.Directory
	inbox      *inbox.Store
	outbox     *outbox.Store
	presence   *presence.Store
	authz      *authz.Store
	sessions   sync.Map // *mqtt.Client -> authz.Identity
	afterAck   sync.Map // *mqtt.Client -> []func(): fan-out waiting for its publish's PUBACK
	away       sync.Map // client key -> *awaySession: persistent sessions whose client is away (clientid.go)
	wills      sync.Map // *mqtt.Client -> *willMsg: the Will the hub sends when the connection ends (will.go)
	willMu     sync.Mutex
	willTimers map[string]*time.Timer // client key -> a Will waiting for its delay
	links      links                  // network connections Mochi is not done with (links.go)
	watchers   watchers               // in-process listeners of request statuses
	bus        bus                    // in-process listeners of the hub's publishes
	signals    sessions               // real-time channel signalling sessions
	streams    streamSet              // open event streams, for revocation (revoke.go)
	adminPW    string                 // the generated first admin password, if any
	srv        *mqtt.Server
	window     int          // most requests delivered to one agent and not yet answered
	self       *mqtt.Client // inline client the hub publishes with

	tcp *listeners.TCP
	ws  *wsListener
	tls *listeners.TCP
	wss *wsListener

	mqttURL string // base of MQTT form hrefs, e.g. mqtt://localhost:1883
	web     web    // the HTTP + SSE binding and Discovery API (http.go)

	agents   clientSet      // connections subscribed to their requests topic
	conns    clientSet      // all connections, by identity
	locks    [64]sync.Mutex // per-agent request locks, by hash of the agent ID
	gate     sync.RWMutex   // handlers hold it shared; Close takes it exclusively
	closed   bool
	stop     chan struct{}
	bg       sync.WaitGroup
	closeMu  sync.Mutex
	closeErr error
	ops      ops // metrics, rate buckets, disk guard (metrics.go, limits.go)
}

// New opens the data directory and prepares a hub; Start runs it.
func New(opts Options) (*Hub, error) {
	opts.setDefaults()
	h := &Hub{opts: opts, log: *opts.Logger, stop: make(chan struct{})}
	h.agents.init()
	h.conns.init()
	h.links.init()
	h.ops.init()

	// The store holds the token key and password hashes: other users of
	// the machine must not read it (docs/security.md, "Data directory").
	if n, err := datadir.Secure(opts.DataDir, opts.BackupDir); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	} else if n > 0 {
		h.log.Warn().Str("dir", opts.DataDir).Int("changed", n).Msg("took other users' access to the data directory away (0700 directories, 0600 files)")
	}
	// Badger repairs a damaged store by dropping data, or panics where
	// nobody can recover: look first, and refuse (datadir.Check).
	if err := datadir.Check(opts.DataDir); err != nil {
		return nil, fmt.Errorf("broker: %w", err) // the caller logs it
	}
	db, err := badger.Open(storeOptions(opts.DataDir, opts.SyncWrites, h.log))
	if err != nil {
		return nil, fmt.Errorf("broker: open data directory %s: %w", opts.DataDir, err)
	}
	h.db = db
	// Badger made its files (LOCK, the new logs) 0666 minus the umask;
	// the directory is 0700 already, this covers a copy of it.
	if _, err := datadir.Secure(opts.DataDir); err != nil {
		db.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	ctx := context.Background()
	if h.dir, err = directory.Open(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	if h.inbox, err = inbox.New(db, inbox.Options{Now: opts.Now, DefaultExpiry: opts.ActionExpiry, OutcomeRecall: opts.OutcomeRecall}); err != nil {
		db.Close()
		return nil, err
	}
	h.presence = presence.New(db, opts.Now)
	if h.authz, err = authz.Open(ctx, db, authz.Options{Now: opts.Now, Throttle: opts.Throttle, PasswordCost: opts.PasswordCost, OnChange: h.accountChanged}); err != nil {
		db.Close()
		return nil, err
	}
	if err := h.firstAdmin(ctx); err != nil {
		db.Close()
		return nil, err
	}
	h.outbox = outbox.New(db, outbox.Options{Now: opts.Now, DefaultRetention: opts.Retention, MaxHistory: opts.Limits.MaxHistory})

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0 // retained twin state must not expire
	caps.Compatibilities.NoInheritedPropertiesOnAck = true
	opts.Limits.capabilities(caps)
	// Requests delivered to an agent and not yet answered use at most
	// half of its client queue: Mochi drops a QoS 1 message for a client
	// whose queue is full, and a dropped request would stay delivered
	// until the agent reconnects. More wait as pending.
	h.window = max(1, min(int(caps.MaximumClientWritesPending), int(caps.MaximumInflight))/2)
	h.srv = mqtt.New(&mqtt.Options{
		Capabilities:             caps,
		InlineClient:             false,
		Logger:                   newSlogLogger(h.log),
		ClientNetWriteBufferSize: 4096,
		ClientNetReadBufferSize:  4096,
	})
	if err := h.srv.AddHook(&guard{h: h}, nil); err != nil { // runs first: limits
		db.Close()
		return nil, err
	}
	if err := h.srv.AddHook(&hook{h: h}, nil); err != nil {
		db.Close()
		return nil, err
	}
	h.self = h.srv.NewClient(nil, "local", "wotmq-hub", true)
	h.self.Properties.ProtocolVersion = 5
	return h, nil
}

// firstAdmin creates the account "admin" on a hub without accounts.
func (h *Hub) firstAdmin(ctx context.Context) error {
	if h.authz.Len() > 0 || (h.opts.Dev && h.opts.AdminPassword == "") {
		return nil
	}
	pw := h.opts.AdminPassword
	if pw == "" {
		pw = authz.NewPassword()
		h.adminPW = pw
	}
	if err := h.authz.Add(ctx, "admin", authz.RoleAdmin, "Administrator", pw); err != nil {
		return fmt.Errorf("broker: create the first admin account: %w", err)
	}
	h.log.Warn().Str("account", "admin").Bool("generated", h.adminPW != "").Msg("created the first admin account")
	return nil
}

// InitialAdminPassword is the password generated for the account "admin"
// when this start created it, else "". Show it to the operator once.
func (h *Hub) InitialAdminPassword() string { return h.adminPW }

// Accounts is the hub's account store (for the CLI and tests).
func (h *Hub) Accounts() *authz.Store { return h.authz }

// Start binds the listeners, publishes the retained twin state and starts
// serving. It returns once clients can connect.
func (h *Hub) Start(ctx context.Context) error {
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
	if err := h.listenHTTP(); err != nil {
		return err
	}
	if err := h.listenOps(); err != nil {
		return err
	}

	if err := h.restore(ctx); err != nil {
		return err
	}
	if h.opts.Limits.MinFreeDisk >= 0 {
		h.checkDisk() // before the first client can write
	}
	if err := h.srv.Serve(); err != nil {
		return fmt.Errorf("broker: serve: %w", err)
	}
	h.serveHTTP()
	h.startOps()
	h.bg.Add(2)
	go h.sweepLoop()
	go h.gcLoop()
	h.log.Info().Str("mqtt", h.MQTTAddr()).Str("ws", h.WSAddr()).Str("mqtts", h.TLSAddr()).Str("wss", h.WSSAddr()).
		Bool("dev", h.opts.Dev).Str("data", h.opts.DataDir).
		Int("things", h.dir.Len()).Msg("hub started")
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

// Close stops accepting clients, waits for the messages being handled and
// closes the store. It is safe to call more than once.
func (h *Hub) Close() error {
	h.closeMu.Lock()
	defer h.closeMu.Unlock()
	if h.closed {
		return h.closeErr
	}
	h.closed = true
	close(h.stop)
	h.dropDelayedWills()
	h.stopOps()
	h.stopHTTP() // ends event streams; no HTTP handler runs after it
	err := h.srv.Close()
	h.gate.Lock() // wait for in-flight handlers
	h.bg.Wait()
	if cerr := h.db.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("broker: close store: %w", cerr))
	}
	// Files Badger made while running are 0666 minus the umask; a copy of
	// the stopped directory must not carry them readable.
	if _, serr := datadir.Secure(h.opts.DataDir, h.opts.BackupDir); serr != nil {
		h.log.Warn().Err(serr).Msg("data directory permissions")
	}
	h.gate.Unlock()
	h.closeErr = err
	h.log.Info().Msg("hub stopped")
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

// agentLock returns the mutex that serialises request handling for an
// agent: adding, delivering and finishing its requests.
func (h *Hub) agentLock(agentID string) *sync.Mutex {
	var x uint32 = 2166136261
	for i := 0; i < len(agentID); i++ {
		x = (x ^ uint32(agentID[i])) * 16777619
	}
	return &h.locks[x%uint32(len(h.locks))]
}

func (h *Hub) gcLoop() {
	defer h.bg.Done()
	t := time.NewTicker(h.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			n := 0
			for h.db.RunValueLogGC(0.5) == nil {
				n++
			}
			if n > 0 {
				h.log.Info().Int("files", n).Msg("value log garbage collected")
			}
		}
	}
}

// itoa is strconv.Itoa, kept short for log fields.
func itoa(n int) string { return strconv.Itoa(n) }

package hub

import (
	"crypto/tls"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/httpapi"
	"github.com/wotmq/wotmq/twin"
)

// Defaults for Options. Those of the transports are the broker's.
const (
	DefaultTCPAddr       = broker.DefaultTCPAddr
	DefaultWSAddr        = broker.DefaultWSAddr
	DefaultTLSAddr       = broker.DefaultTLSAddr
	DefaultWSSAddr       = broker.DefaultWSSAddr
	DefaultDataDir       = "./wotmq-data"
	DefaultSweepInterval = broker.DefaultSweepInterval
	DefaultGCInterval    = 5 * time.Minute
	DefaultMaxQueue      = broker.DefaultMaxQueue
	DefaultHTTPAddr      = httpapi.DefaultHTTPAddr
	DefaultHTTPSAddr     = httpapi.DefaultHTTPSAddr
	DefaultHTTPWait      = httpapi.DefaultHTTPWait
	// DefaultMetricsAddr is where wotmq serve puts the metrics unless told
	// otherwise: loopback, since /metrics has no authentication.
	DefaultMetricsAddr = "127.0.0.1:9090"
	DefaultHTTPRead    = httpapi.DefaultHTTPRead
	DefaultHTTPIdle    = httpapi.DefaultHTTPIdle
)

// Limits bound what one client, one agent and the whole hub may use
// (docs/operations.md, "Limits"); see broker.Limits for each field.
type Limits = broker.Limits

// Defaults for Limits.
const (
	DefaultMaxConnections    = broker.DefaultMaxConnections
	DefaultMaxThingsPerAgent = broker.DefaultMaxThingsPerAgent
	DefaultMaxAffordances    = twin.DefaultMaxAffordances
	DefaultMaxPayload        = broker.DefaultMaxPayload
	DefaultMaxHistory        = broker.DefaultMaxHistory
	DefaultInflight          = broker.DefaultInflight
	DefaultClientQueue       = broker.DefaultClientQueue
	DefaultClientQueueBytes  = broker.DefaultClientQueueBytes
	DefaultRequestWindow     = broker.DefaultRequestWindow
	DefaultRateLimit         = broker.DefaultRateLimit
	DefaultMinFreeDisk       = broker.DefaultMinFreeDisk
	DefaultDiskCheckInterval = broker.DefaultDiskCheckInterval
	DefaultMaxSessionExpiry  = broker.DefaultMaxSessionExpiry
	DefaultMaxStreams        = broker.DefaultMaxStreams
	PacketOverhead           = broker.PacketOverhead
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
	// Explorer serves the twin explorer, web pages to find, watch, write
	// and invoke Things (docs/explorer.md), on the HTTP listeners at / and
	// /explorer/. It decides every request by the binding's rules; off
	// leaves those paths to the API (404).
	Explorer bool
	// HomeAssistant publishes a retained Home Assistant MQTT discovery
	// config for every twin (docs/bridges.md, "Home Assistant").
	HomeAssistant bool
	// HomeAssistantPrefix is Home Assistant's discovery prefix;
	// "homeassistant" when empty.
	HomeAssistantPrefix string
	// Homie publishes every twin as a Homie 5 device under homie/5/ and
	// takes commands on its .../set topics (docs/bridges.md, "Homie").
	Homie bool
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
	// MemTableSize is the size of Badger's memtables, between
	// MinMemTableSize and MaxMemTableSize; DefaultMemTableSize when zero.
	// Larger ones cost memory (up to three are held, each grows to its
	// size on a hub that keeps writing) and spare the CPU of flushing and
	// compacting smaller tables (docs/benchmarks.md).
	MemTableSize int64
	// Limits bound clients, agents and the store; see broker/limits.go. The zero
	// value selects safe defaults (no rate limit).
	Limits Limits
	// MetricsAddr is the listen address of the Prometheus metrics,
	// /healthz and /readyz (ops.go); no listener when empty or "off"
	// (wotmq serve defaults to DefaultMetricsAddr, loopback only: the
	// endpoints have no authentication).
	MetricsAddr string
	// BackupDir is where the backup admin operation writes its files;
	// DataDir/backups when empty.
	BackupDir string
	// Build says which build runs, for the "hub started" log line and
	// wotmq_build_info; ReadBuild("") when its Version is empty.
	Build Build
	// Upstream, when its URL is set, makes this hub an edge hub: an agent
	// of the (cloud) hub at that URL for the Things it exports, forwarding
	// their history and running the cloud's requests for them here
	// (package upstream, docs/bridges.md "Edge to cloud"). Off when empty.
	Upstream Upstream
	// Cluster makes the hub a node of a cluster on NATS JetStream
	// (cluster.go, docs/cluster.md); a single node on Badger when its Name
	// is empty.
	Cluster ClusterOptions
	// Logger receives the hub's log; zerolog.Nop() when nil.
	Logger *zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Upstream says how an edge hub reaches its cloud hub (Options.Upstream).
type Upstream struct {
	// URL of the cloud hub: mqtt://host:port, mqtts://, ws://, wss://.
	URL string
	// Username and Password: the edge's account at the cloud hub (role
	// agent).
	Username, Password string
	// TLS for mqtts:// and wss://; nil: the system's roots.
	TLS *tls.Config
	// Things are patterns of the Thing IDs to export ("*" matches any
	// run of characters); a TD with "wotmq:export": true is exported
	// too, one with false never.
	Things []string
	// MaxBackoff bounds the wait between reconnection attempts;
	// upstream.DefaultMaxBackoff when zero.
	MaxBackoff time.Duration
}

// The bounds of Options.MemTableSize. Badger caps a transaction at 15% of
// a memtable's size: below the default the group commit's batches would
// split sooner, and no smaller size was tested; up to three memtables of
// the maximum are held at once.
const (
	DefaultMemTableSize = 16 << 20
	MinMemTableSize     = DefaultMemTableSize
	MaxMemTableSize     = 1 << 30
)

func (o *Options) setDefaults() {
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
	}
	if o.GCInterval <= 0 {
		o.GCInterval = DefaultGCInterval
	}
	if o.BackupDir == "" {
		o.BackupDir = filepath.Join(o.DataDir, "backups")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Build.Version == "" {
		o.Build = ReadBuild("")
	}
	if o.Logger == nil {
		l := zerolog.Nop()
		o.Logger = &l
	}
}

// brokerOptions are the options of the MQTT adapter and of the twin core
// it builds; the broker applies the defaults of its fields itself.
func (o *Options) brokerOptions() broker.Options {
	return broker.Options{
		TCPAddr:            o.TCPAddr,
		WSAddr:             o.WSAddr,
		TLS:                o.TLS,
		TLSAddr:            o.TLSAddr,
		WSSAddr:            o.WSSAddr,
		PublicHost:         o.PublicHost,
		MaxQueue:           o.MaxQueue,
		RetentionOverrides: o.RetentionOverrides,
		SweepInterval:      o.SweepInterval,
		Dev:                o.Dev,
		Limits:             o.Limits,
		Logger:             o.Logger,
		Now:                o.Now,
	}
}

// httpOptions are the options of the HTTP binding; it applies the
// defaults of its fields itself.
func (o *Options) httpOptions() httpapi.Options {
	var log zerolog.Logger
	if o.Logger != nil {
		log = *o.Logger
	}
	return httpapi.Options{
		HTTPAddr:        o.HTTPAddr,
		HTTPSAddr:       o.HTTPSAddr,
		TLS:             o.TLS,
		PublicHost:      o.PublicHost,
		HTTPWait:        o.HTTPWait,
		HTTPReadTimeout: o.HTTPReadTimeout,
		HTTPIdleTimeout: o.HTTPIdleTimeout,
		MDNS:            o.MDNS,
		MDNSInterface:   o.MDNSInterface,
		MaxStreams:      o.Limits.WithDefaults().MaxStreams,
		Dev:             o.Dev,
		Logger:          log,
		Now:             o.Now,
	}
}

// newReserve is the disk reserve of the data directory (Limits.MinFreeDisk).
func (o *Options) newReserve(log zerolog.Logger) *reserve {
	l := o.Limits.WithDefaults()
	r := &reserve{min: l.MinFreeDisk, dir: o.DataDir, freeSpace: l.FreeSpace, interval: l.DiskCheckInterval, log: log}
	if r.freeSpace == nil {
		r.freeSpace = freeSpace
	}
	return r
}

package httpapi

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
)

// Defaults for Options.
const (
	DefaultHTTPAddr  = ":8080"
	DefaultHTTPSAddr = ":8443"
	DefaultHTTPWait  = 10 * time.Second
	DefaultHTTPRead  = 30 * time.Second
	DefaultHTTPIdle  = 2 * time.Minute
)

// Options configures a Server; package hub fills them from hub.Options,
// whose fields the same names document. Core and the stores are
// required; the zero value of every other field serves on the default
// ports.
type Options struct {
	// Core is the twin core the binding serves.
	Core *twin.Core
	// Directory, Inbox, Outbox and Authz are the stores it reads (and
	// Authz decides every request).
	Directory twin.Directory
	Inbox     twin.Inbox
	Outbox    twin.Outbox
	Authz     *authz.Store
	// Reserve is the disk reserve a write must fit; none when nil.
	Reserve Reserve
	// HTTPAddr is the HTTP + SSE listen address; DefaultHTTPAddr when
	// empty, "off" to disable.
	HTTPAddr string
	// TLS, when set, adds HTTPS on HTTPSAddr (DefaultHTTPSAddr when empty,
	// "off" to disable).
	TLS       *tls.Config
	HTTPSAddr string
	// PublicHost is the host name written into form hrefs; "localhost"
	// when empty.
	PublicHost string
	// HTTPWait, HTTPReadTimeout and HTTPIdleTimeout: see hub.Options.
	HTTPWait        time.Duration
	HTTPReadTimeout time.Duration
	HTTPIdleTimeout time.Duration
	// MDNS advertises the API over DNS-SD, on MDNSInterface when set.
	MDNS          bool
	MDNSInterface string
	// MaxStreams is the most event streams one account may have open (0:
	// no limit).
	MaxStreams int
	// Dev admits loopback clients without credentials (hub.Options.Dev).
	Dev bool
	// Wrap, when set, wraps the binding's handler on every listener: the
	// hub counts requests by route and status there, so the binding knows
	// nothing of metrics.
	Wrap func(http.Handler) http.Handler
	// Logger receives the binding's log; the zero Logger drops it.
	Logger zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (o *Options) setDefaults() {
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
	if o.PublicHost == "" {
		o.PublicHost = "localhost"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Reserve is the disk reserve of the data directory, which the hub owns
// (package hub): a write over HTTP must fit it. It may be called
// concurrently.
type Reserve interface {
	// Spend accounts for a write of n bytes, or refuses it with
	// storage_full.
	Spend(n int) error
}

// Server is the HTTP + SSE binding of the twins, the Discovery API and
// its DNS-SD advertisement (docs/http.md).
type Server struct {
	opts Options
	log  zerolog.Logger
	core *twin.Core

	dir    twin.Directory
	inbox  twin.Inbox
	outbox twin.Outbox
	authz  *authz.Store

	web     web       // listeners, servers, streams, directory feed
	streams streamSet // open event streams, for revocation (revoke.go)

	gate    sync.RWMutex // handlers hold it shared while they use the store; Close takes it exclusively
	stop    chan struct{}
	closeMu sync.Mutex
	closed  bool
}

// New prepares the binding; Listen binds it, Serve serves it.
func New(opts Options) *Server {
	opts.setDefaults()
	return &Server{opts: opts, log: opts.Logger, core: opts.Core, dir: opts.Directory, inbox: opts.Inbox,
		outbox: opts.Outbox, authz: opts.Authz, stop: make(chan struct{})}
}

// Listen binds the HTTP and HTTPS listeners (so that bind errors stop the
// start and form hrefs know the ports) and starts following the
// directory.
func (h *Server) Listen() error { return h.listenHTTP() }

// Forms is the binding's part in the TDs the core builds, for
// twin.Forms; nil when it is off (not bound).
func (h *Server) Forms() twin.Binding {
	if h.web.baseURL == "" {
		return nil
	}
	return webForms{h}
}

// Serve starts serving on the bound listeners and advertises the API.
func (h *Server) Serve() { h.serveHTTP() }

// Close ends event streams and waiting requests, shuts the servers down
// and waits for the handlers; none uses the store after it returns. It is
// safe to call more than once, and without Listen.
func (h *Server) Close() {
	h.closeMu.Lock()
	defer h.closeMu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.stop)
	h.stopHTTP()
	h.gate.Lock()
	h.gate.Unlock()
}

// enter is called by every handler before it uses the store; it reports
// false when the binding is closing. A true result must be paired with
// leave.
func (h *Server) enter() bool {
	h.gate.RLock()
	select {
	case <-h.stop:
		h.gate.RUnlock()
		return false
	default:
		return true
	}
}

func (h *Server) leave() { h.gate.RUnlock() }

// reserveFor decides a write of an n-byte body over HTTP against the disk
// reserve, exactly as a publish: storage_full (507) below it.
func (h *Server) reserveFor(n int) error {
	if h.opts.Reserve == nil {
		return nil
	}
	return h.opts.Reserve.Spend(n)
}

func (h *Server) accountExists(id string) bool { _, ok := h.authz.Get(id); return ok }

func portOf(addr, def string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return def
	}
	return port
}

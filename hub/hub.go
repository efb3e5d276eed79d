package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/datadir"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/explorer"
	"github.com/wotmq/wotmq/httpapi"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/proxy"
	"github.com/wotmq/wotmq/retained"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/upstream"
)

// Hub is a running wotmq hub: its store and disk reserve, the twin core
// with its two transports (the embedded MQTT broker, which builds the
// core, and the HTTP binding), and the operations endpoints.
type Hub struct {
	opts Options
	log  zerolog.Logger

	db       *badger.DB
	dir      twin.Directory // Badger's, or JetStream's in a cluster (cluster.go)
	inbox    twin.Inbox
	outbox   twin.Outbox
	presence twin.Presence
	authz    *authz.Store
	badger   badgerStores     // the single node's stores (upstream works on them; a cluster refuses it)
	cluster  *clusterNode     // NATS and the JetStream stores; nil on a single node (cluster.go)
	reserve  *reserve         // the disk reserve both transports keep (reserve.go)
	broker   *broker.Hub      // the MQTT adapter and the twin core it feeds
	proxy    *proxy.Proxy     // the hub's agent for existing devices whose TDs ask for it
	http     *httpapi.Server  // the HTTP + SSE binding and the Discovery API
	upstream *upstream.Bridge // the link to a cloud hub (Options.Upstream), or nil
	adminPW  string           // the generated first admin password, if any

	transportsReady atomic.Bool // broker and http are set: account changes reach them

	ops     ops     // metrics, health and readiness listener (ops.go)
	bridges bridges // Home Assistant and Homie views of the twins (bridges.go)

	// gate is held shared by the operations handlers while they read the
	// store, and exclusively by Close while it closes the store.
	gate     sync.RWMutex
	stop     chan struct{}
	bg       sync.WaitGroup
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

// New opens the data directory and prepares a hub; Start runs it.
func New(opts Options) (*Hub, error) {
	opts.setDefaults()
	if err := opts.checkBridges(); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	if opts.MemTableSize < MinMemTableSize || opts.MemTableSize > MaxMemTableSize {
		return nil, fmt.Errorf("hub: memtable size %d bytes: want %d MiB to %d MiB", opts.MemTableSize, MinMemTableSize>>20, MaxMemTableSize>>20)
	}
	h := &Hub{opts: opts, log: *opts.Logger, stop: make(chan struct{})}
	if err := h.opts.Cluster.check(opts.Upstream.URL != ""); err != nil {
		return nil, err
	}

	// The store holds the token key and password hashes: other users of
	// the machine must not read it (docs/security.md, "Data directory").
	if n, err := datadir.Secure(opts.DataDir, opts.BackupDir); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	} else if n > 0 {
		h.log.Warn().Str("dir", opts.DataDir).Int("changed", n).Msg("took other users' access to the data directory away (0700 directories, 0600 files)")
	}
	// Badger repairs a damaged store by dropping data, or panics where
	// nobody can recover: look first, and refuse (datadir.Check).
	if err := datadir.Check(opts.DataDir); err != nil {
		return nil, fmt.Errorf("hub: %w", err) // the caller logs it
	}
	db, err := openStore(opts.DataDir, opts.SyncWrites, opts.MemTableSize, h.log)
	if err != nil {
		return nil, fmt.Errorf("hub: open data directory %s: %w", opts.DataDir, err)
	}
	h.db = db
	// Badger made its files (LOCK, the new logs) 0666 minus the umask;
	// the directory is 0700 already, this covers a copy of it.
	if _, err := datadir.Secure(opts.DataDir); err != nil {
		db.Close()
		return nil, fmt.Errorf("hub: %w", err)
	}
	if err := h.openStores(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	if h.opts.Cluster.enabled() {
		if err := h.openCluster(context.Background()); err != nil {
			db.Close()
			return nil, err
		}
	}
	h.reserve = opts.newReserve(h.log)
	bo := opts.brokerOptions()
	bo.Backup = h.Backup
	bo.Reserve = h.reserve
	bo.CheckTD = proxy.Checker(h.authz)
	if h.cluster != nil {
		bo.Fanout = h.cluster.fanout
		bo.StoreRetry = clusterStoreRetry
		bo.SessionEstablished = h.cluster.sessionEstablished
	}
	var keep broker.RetainedStore = retained.Open(db)
	if h.cluster != nil {
		keep = h.cluster.retained.store // every node has them (cluster_retained.go)
	}
	b, err := broker.New(bo, broker.Stores{Directory: h.dir, Inbox: h.inbox, Outbox: h.outbox, Presence: h.presence, Authz: h.authz,
		Retained: keep})
	if err != nil {
		h.closeCluster()
		db.Close()
		return nil, err
	}
	ho := opts.httpOptions()
	ho.Core, ho.Directory, ho.Inbox, ho.Outbox, ho.Authz, ho.Reserve = b.Core(), h.dir, h.inbox, h.outbox, h.authz, h.reserve
	ho.Wrap = h.ops.http.wrap // wotmq_http_* (httpmetrics.go)
	if opts.Explorer {
		// The explorer sits in front of the binding and calls it (explorer/doc.go).
		eo := explorer.Options{Core: b.Core(), Directory: h.dir, Inbox: h.inbox, Outbox: h.outbox, Presence: h.presence,
			Authz: h.authz, Dev: opts.Dev, Logger: h.log, Now: opts.Now}
		ho.Wrap = func(api http.Handler) http.Handler {
			eo.API = api
			return h.ops.http.wrap(explorer.New(eo))
		}
	}
	h.http = httpapi.New(ho)
	h.proxy = proxy.New(proxy.Options{Core: b.Core(), Authz: h.authz, Directory: h.dir, Inbox: h.inbox, Presence: h.presence, Transport: b, Logger: h.log})
	h.broker = b
	h.transportsReady.Store(true) // from here on account changes reach both transports
	if h.cluster != nil {
		if err := h.joinCluster(); err != nil {
			b.Close()
			h.closeCluster()
			db.Close()
			return nil, err
		}
	}
	if u := opts.Upstream; u.URL != "" {
		h.upstream = upstream.New(upstream.Options{
			URL: u.URL, Username: u.Username, Password: u.Password, TLSConfig: u.TLS,
			Things: u.Things, MaxBackoff: u.MaxBackoff,
			Core: b.Core(), Directory: h.badger.dir, Inbox: h.badger.inbox, Outbox: h.badger.outbox, Presence: h.badger.presence,
			Logger: h.log,
		})
	}
	h.startBridges()
	return h, nil
}

// openStores opens the stores on h.db and creates the first admin account.
func (h *Hub) openStores(ctx context.Context) error {
	opts := &h.opts
	if err := checkFormat(h.db, opts.Build); err != nil { // format.go
		return err
	}
	var err error
	bs := &h.badger
	if bs.dir, err = directory.Open(ctx, h.db); err != nil {
		return err
	}
	h.dir = bs.dir
	if bs.inbox, err = inbox.New(h.db, inbox.Options{Now: opts.Now, DefaultExpiry: opts.ActionExpiry, OutcomeRecall: opts.OutcomeRecall}); err != nil {
		return err
	}
	h.inbox = bs.inbox
	bs.presence = presence.New(h.db, opts.Now)
	h.presence = bs.presence
	// Account changes end what they void (broker/revoke.go,
	// httpapi/revoke.go); the transports exist only once the stores are
	// open.
	// In a cluster the accounts live in JetStream, opened with the other
	// cluster stores (cluster.go), and the first admin is made there.
	if !opts.Cluster.enabled() {
		if h.authz, err = authz.Open(ctx, h.db, h.authzOptions()); err != nil {
			return err
		}
		if err := h.firstAdmin(ctx); err != nil {
			return err
		}
	}
	maxHistory := opts.Limits.MaxHistory
	if maxHistory == 0 {
		maxHistory = DefaultMaxHistory
	}
	// The edge's bridge counts what the history cap drops before it was
	// forwarded upstream; it is made after the stores.
	onTrim := func(thingID string, cursors []string) {
		if h.upstream != nil {
			h.upstream.Trimmed(thingID, cursors)
		}
	}
	bs.outbox = outbox.New(h.db, outbox.Options{Now: opts.Now, DefaultRetention: opts.Retention, MaxHistory: maxHistory, OnTrim: onTrim})
	h.outbox = bs.outbox
	return nil
}

// authzOptions are the account store's options on either backend.
func (h *Hub) authzOptions() authz.Options {
	opts := &h.opts
	// Account changes end what they void (broker/revoke.go,
	// httpapi/revoke.go). The transports exist only once the stores are
	// open; in a cluster, changes other nodes make arrive on the store's
	// watcher goroutine, so whether they exist yet is an atomic.
	onChange := func(ctx context.Context, c authz.Change) {
		if h.transportsReady.Load() {
			h.broker.AccountChanged(ctx, c)
			h.http.AccountChanged(ctx, c)
		}
	}
	return authz.Options{Now: opts.Now, Throttle: opts.Throttle, PasswordCost: opts.PasswordCost, OnChange: onChange, OpenTopics: opts.Dev}
}

// firstAdmin creates the account "admin" on a hub without accounts. In a
// cluster the account store is the cluster's: the first node to start
// creates it, once (compare-and-set on the account's key); a node racing
// it for the same start finds it made.
func (h *Hub) firstAdmin(ctx context.Context) error {
	if h.authz.Len() > 0 || (h.opts.Dev && h.opts.AdminPassword == "") {
		return nil
	}
	pw := h.opts.AdminPassword
	if pw == "" {
		pw = authz.NewPassword()
	}
	err := h.authz.Add(ctx, "admin", authz.RoleAdmin, "Administrator", pw)
	if h.cluster != nil && errors.Is(err, authz.ErrExists) {
		h.log.Info().Str("account", "admin").Msg("the first admin account was created by another node of the cluster")
		return nil
	}
	if err != nil {
		return fmt.Errorf("hub: create the first admin account: %w", err)
	}
	if h.opts.AdminPassword == "" {
		h.adminPW = pw
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
	if err := h.listenOps(); err != nil {
		return err
	}
	if err := h.http.Listen(); err != nil { // bound first: form hrefs name its port
		return err
	}
	if h.reserve.min >= 0 {
		h.reserve.check() // before the first client can write
	}
	// The proxy taps its devices' topics before any client can publish:
	// a device that says Online at once is heard.
	if err := h.broker.Start(ctx, h.http.Forms(), func() { h.proxy.Start(ctx) }); err != nil {
		return err
	}
	h.http.Serve()
	if h.upstream != nil {
		h.upstream.Start()
	}
	if h.reserve.min >= 0 {
		h.reserve.check()
		h.bg.Add(1)
		go func() {
			defer h.bg.Done()
			h.reserve.loop(h.stop)
		}()
	}
	h.startOps()
	h.bg.Add(1)
	go h.gcLoop()
	h.log.Info().Str("mqtt", h.MQTTAddr()).Str("ws", h.WSAddr()).Str("mqtts", h.TLSAddr()).Str("wss", h.WSSAddr()).
		Bool("dev", h.opts.Dev).Str("data", h.opts.DataDir).
		Int("things", h.dir.Len()).
		Str("version", h.opts.Build.Version).Str("revision", h.opts.Build.Revision).Str("go", h.opts.Build.Go).Msg("hub started")
	return nil
}

// MQTTAddr is the bound MQTT over TCP address ("" when disabled).
func (h *Hub) MQTTAddr() string { return h.broker.MQTTAddr() }

// TLSAddr is the bound MQTT over TLS address ("" when disabled).
func (h *Hub) TLSAddr() string { return h.broker.TLSAddr() }

// WSSAddr is the bound MQTT over secure WebSocket address ("" when
// disabled).
func (h *Hub) WSSAddr() string { return h.broker.WSSAddr() }

// WSAddr is the bound MQTT over WebSocket address ("" when disabled).
func (h *Hub) WSAddr() string { return h.broker.WSAddr() }

// HTTPAddr is the bound HTTP address ("" when disabled).
func (h *Hub) HTTPAddr() string { return h.http.HTTPAddr() }

// HTTPSAddr is the bound HTTPS address ("" when disabled).
func (h *Hub) HTTPSAddr() string { return h.http.HTTPSAddr() }

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
	h.transportsReady.Store(false) // other nodes' account changes no longer reach the transports
	h.stopOps()
	if h.upstream != nil {
		h.upstream.Close() // it uses the core: stopped before it
	}
	h.http.Close()   // ends event streams; no HTTP handler runs after it
	h.proxy.Close()  // before the core it acts on
	h.closeBridges() // before the core they publish and submit through
	if h.cluster != nil {
		h.cluster.bus.Close() // the other nodes' messages stop before the broker does
	}
	err := h.broker.Close() // no handler uses the store after it
	h.gate.Lock()           // wait for the operations handlers
	h.bg.Wait()
	h.closeCluster()
	if cerr := h.db.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("hub: close store: %w", cerr))
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

// enter is called by every operations handler that reads the store; it
// reports false when the hub is closing. A true result must be paired
// with leave.
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

// gcLoop garbage collects Badger's value log every GCInterval.
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

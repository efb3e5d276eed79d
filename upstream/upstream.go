package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
	"github.com/wotmq/wotmq/wot"
)

// Defaults of Options.
const (
	DefaultResync     = 30 * time.Second
	DefaultMaxBackoff = 30 * time.Second
	// Reader is the name of the bridge's durable position in the outbox
	// (outbox.Store.Position).
	Reader = "upstream"
	// ExportMember is the TD member that exports a Thing (true) or keeps
	// it at the edge (false, which wins over Options.Things).
	ExportMember = "wotmq:export"
	// SenderPrefix goes before the cloud consumer's account in the sender
	// of the request the edge hub stores: "upstream:alice". No account may
	// begin so (authz refuses it), so no local client can act for it.
	SenderPrefix = authz.UpstreamPrefix
	// pageSize is how many history records one read takes.
	pageSize = 100
)

// Options configures a Bridge. URL, the stores and Core are required.
type Options struct {
	// URL is the cloud hub (mqtt://, mqtts://, ws://, wss://).
	URL string
	// Username and Password are the account the edge hub has at the cloud
	// hub, with role agent: it is the agent of every exported Thing there.
	Username, Password string
	// TLSConfig for mqtts:// and wss://; nil: the system's roots.
	TLSConfig *tls.Config
	// ClientID at the cloud hub; "wotmq-edge" when empty.
	ClientID string
	// Things are patterns of Thing IDs to export, "*" matching any run of
	// characters. A Thing whose TD has ExportMember true is exported too;
	// one whose TD has it false never is.
	Things []string
	// MaxBackoff bounds the wait between reconnection attempts;
	// DefaultMaxBackoff when zero.
	MaxBackoff time.Duration
	// Resync is how often the bridge looks for work without being told
	// (a safety net; new records, TD changes and reconnections wake it at
	// once); DefaultResync when zero.
	Resync time.Duration

	Core      *twin.Core
	Directory *directory.Directory
	Inbox     *inbox.Store
	Outbox    *outbox.Store
	Presence  *presence.Store
	Logger    zerolog.Logger
}

// Bridge keeps a cloud hub up to date with the exported Things of this
// (edge) hub and runs the cloud's requests for them here. Make one with New,
// then Start; Close stops it.
type Bridge struct {
	opts Options
	log  zerolog.Logger

	life  context.Context
	kill  context.CancelFunc
	wake  chan struct{} // cap 1: there may be work
	done  sync.WaitGroup
	quiet []func() // removes the core listeners

	mu         sync.Mutex
	client     *wot.Client
	connected  bool
	downSaid   bool                        // "unreachable" logged since the last link up
	things     map[string]*exported        // exported and registered at the cloud, by Thing ID
	pos        map[string]string           // the last cursor the cloud acknowledged, by Thing ID
	tdChanged  bool                        // a TD changed since the last pass
	dirty      map[string]bool             // Things with records since the last pass
	everyThing bool                        // the next pass looks at every Thing (link up, resync)
	refusedTD  map[string]*directory.Entry // entries the cloud refused for good: not tried again until they change or the link returns

	forwarded atomic.Uint64 // records the cloud acknowledged
	refused   atomic.Uint64 // records the cloud refused (skipped)
	dropped   atomic.Uint64 // records the edge's history dropped before forwarding them
	clashes   atomic.Uint64 // refusals of a Thing's TD by the cloud (another agent has the ID)
}

// exported is a Thing registered at the cloud hub.
type exported struct {
	entry    *directory.Entry // the edge's entry it was registered from
	thing    *wot.ExposedThing
	presence bool // send its current presence after its backlog
}

// New returns a Bridge; nothing runs before Start.
func New(opts Options) *Bridge {
	if opts.ClientID == "" {
		opts.ClientID = "wotmq-edge"
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	b := &Bridge{opts: opts, log: opts.Logger.With().Str("upstream", opts.URL).Logger(),
		wake: make(chan struct{}, 1), things: map[string]*exported{}, pos: map[string]string{},
		refusedTD: map[string]*directory.Entry{}, dirty: map[string]bool{}, everyThing: true}
	b.life, b.kill = context.WithCancel(context.Background())
	return b
}

// Start listens for the core's publishes and connects to the cloud hub in
// the background: the edge hub runs whether or not the cloud is reachable.
func (b *Bridge) Start() {
	tds := func(twin.Message) {
		b.mu.Lock()
		b.tdChanged = true
		b.mu.Unlock()
		b.poke()
	}
	b.quiet = append(b.quiet,
		b.opts.Core.Listen("things/+/events/+", b.changed),
		b.opts.Core.Listen("things/+/properties/+", b.changed),
		b.opts.Core.Listen("things/+/td", tds))
	b.done.Add(1)
	go b.run()
}

// Close stops the bridge and disconnects from the cloud hub. Requests the
// cloud handed over and the edge has not finished stay in the edge's inbox;
// the cloud hands them over again on the next connection, and the bridge
// finds them by their cloud action ID.
func (b *Bridge) Close() {
	for _, q := range b.quiet {
		q()
	}
	b.kill()
	b.done.Wait()
	b.mu.Lock()
	c := b.client
	b.client = nil
	b.mu.Unlock()
	if c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	}
}

// poke wakes the loop; it never blocks (core listeners call it with locks
// held).
func (b *Bridge) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run connects, then makes a pass over the exported Things each time
// there may be work.
func (b *Bridge) run() {
	defer b.done.Done()
	c := b.connect()
	if c == nil {
		return
	}
	t := time.NewTicker(b.opts.Resync)
	defer t.Stop()
	for {
		b.pass(c)
		select {
		case <-b.life.Done():
			return
		case <-b.wake:
		case <-t.C:
			b.mu.Lock()
			b.everyThing = true
			b.mu.Unlock()
		}
	}
}

// connect connects to the cloud hub, retrying until it succeeds or the
// bridge closes (nil).
func (b *Bridge) connect() *wot.Client {
	o := wot.Options{
		URL: b.opts.URL, TLSConfig: b.opts.TLSConfig, ClientID: b.opts.ClientID,
		Username: b.opts.Username, Password: b.opts.Password,
		MaxBackoff: b.opts.MaxBackoff,
		OnConnect:  b.linkUp, OnConnectionLost: b.linkDown,
	}
	// wot.Connect keeps trying while the cloud does not answer: say so
	// once if the first connection takes longer than an attempt may.
	slow := time.AfterFunc(wot.DefaultConnectTimeout, func() {
		b.mu.Lock()
		said := b.downSaid || b.connected
		b.downSaid = true
		b.mu.Unlock()
		if !said && b.life.Err() == nil {
			b.log.Warn().Msg("upstream hub unreachable; the edge keeps its backlog and retries")
		}
	})
	defer slow.Stop()
	for {
		c, err := wot.Connect(b.life, o)
		if err == nil {
			b.mu.Lock()
			b.client = c
			b.mu.Unlock()
			return c
		}
		if b.life.Err() != nil {
			return nil
		}
		// A refused login comes back at once: wait before the next try.
		b.mu.Lock()
		said := b.downSaid
		b.downSaid = true
		b.mu.Unlock()
		if !said {
			b.log.Warn().Err(err).Msg("upstream hub unreachable; the edge keeps its backlog and retries")
		}
		select {
		case <-b.life.Done():
			return nil
		case <-time.After(b.opts.MaxBackoff):
		}
	}
}

// linkUp and linkDown follow the connection to the cloud hub; each change
// is logged once.
func (b *Bridge) linkUp() {
	b.mu.Lock()
	was := b.connected
	b.connected, b.downSaid = true, false
	clear(b.refusedTD) // the other agent may have let go of the ID
	b.tdChanged, b.everyThing = true, true
	for _, ex := range b.things {
		ex.presence = true // the cloud set them online on the connection
	}
	b.mu.Unlock()
	if !was {
		b.log.Info().Msg("upstream link up")
	}
	b.poke()
}

func (b *Bridge) linkDown() {
	b.mu.Lock()
	was := b.connected
	b.connected = false
	b.mu.Unlock()
	if was {
		b.log.Warn().Msg("upstream link down; the edge keeps its backlog")
	}
}

// Connected reports whether the link to the cloud hub is up.
func (b *Bridge) Connected() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.connected
}

// pass registers the exported Things at the cloud and forwards each one's
// backlog, stopping at the first failure of the link.
func (b *Bridge) pass(c *wot.Client) {
	if !b.Connected() {
		return
	}
	ctx := b.life
	b.syncExports(ctx, c)
	b.mu.Lock()
	all := b.everyThing
	b.everyThing = false
	ids := make([]string, 0, len(b.things))
	for id := range b.things {
		if all || b.dirty[id] {
			ids = append(ids, id)
		}
	}
	clear(b.dirty)
	b.mu.Unlock()
	sort.Strings(ids)
	for i, id := range ids {
		if err := b.forward(ctx, id); err != nil {
			if b.life.Err() == nil && !errors.Is(err, wot.ErrConnection) {
				b.log.Warn().Err(err).Str("thing", id).Msg("forwarding paused; retried on the next pass")
			}
			b.mu.Lock()
			for _, left := range ids[i:] {
				b.dirty[left] = true
			}
			b.mu.Unlock()
			return
		}
	}
}

// changed notes that a Thing has new records (a core listener: it must
// not block) and wakes the loop.
func (b *Bridge) changed(m twin.Message) {
	if t, err := wire.ParseTopic(m.Topic); err == nil {
		b.mu.Lock()
		b.dirty[t.ThingID] = true
		b.mu.Unlock()
	}
	b.poke()
}

// skippable reports whether the cloud refused a message for good (it will
// refuse it again: the message is counted and skipped) rather than for now
// (the link failed, the cloud is over a limit or failed: the pass stops
// and the message is sent again later).
func skippable(err error) bool {
	return errors.Is(err, wot.ErrInvalidInput) || errors.Is(err, wot.ErrNotFound) || errors.Is(err, wot.ErrDenied)
}

// exports reports whether the Thing of e is exported.
func (b *Bridge) exports(e *directory.Entry) bool {
	if raw, ok := e.TD.Extra[ExportMember]; ok {
		return strings.TrimSpace(string(raw)) == "true"
	}
	for _, p := range b.opts.Things {
		if match(p, e.ThingID) {
			return true
		}
	}
	return false
}

// match reports whether id matches pattern, where "*" matches any run of
// characters (a Thing ID may hold "/" and ":", so path.Match will not do).
func match(pattern, id string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == id
	}
	if !strings.HasPrefix(id, parts[0]) {
		return false
	}
	id = id[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(id, p)
		if i < 0 {
			return false
		}
		id = id[i+len(p):]
	}
	return strings.HasSuffix(id, last)
}

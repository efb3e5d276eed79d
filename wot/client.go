package wot

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// Defaults of Options.
const (
	DefaultURL            = "mqtt://127.0.0.1:1883"
	DefaultTimeout        = 10 * time.Second
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
)

// Options configures a Client. The zero value connects to DefaultURL with
// a random client ID, no credentials and a clean session.
type Options struct {
	// URL is the hub: mqtt://host:port (TCP), mqtts://host:port (TLS),
	// ws://host:port/path or wss://host:port/path (WebSocket). A bare
	// host:port means mqtt://. DefaultURL when empty.
	URL string
	// URLs are further hubs, tried in turn after URL whenever a connection
	// attempt fails: the nodes of a cluster (docs/cluster.md), so that a
	// client whose node went away reconnects to another. Each is written
	// as URL is.
	URLs []string
	// TLSConfig is used for mqtts:// and wss://; nil uses the system's
	// roots and the URL's host name.
	TLSConfig *tls.Config
	// ClientID is the MQTT client ID; a random "wot-..." ID when empty. An
	// agent without Username is known to the hub by its client ID, so an
	// agent should set one of the two to a stable value.
	ClientID string
	// Username and Password are the MQTT credentials; Password may be an
	// access token (wotmq token).
	Username string
	Password string
	// TokenSource, when set, gives the password for every connection
	// attempt: a fresh access token (`wotmq token`, or the admin request
	// {"op":"token"} an account may make for itself). The hub ends a connection when its token expires (MQTT 5
	// DISCONNECT 0xA0) or is revoked (0x98) and refuses that token from then
	// on; with a TokenSource the client reconnects with a new one instead of
	// being refused until it is closed. Password is not used then.
	TokenSource func(ctx context.Context) (string, error)
	// AccountID is who the hub takes this client to be: the agent ID of
	// an agent, and the owner of its ResponseTopic
	// (replies/{AccountID}/{ClientID}). By default the Username, else the
	// subject of a token Password, else the ClientID (an anonymous client
	// of a development hub). Set it when logging in with a TLS client
	// certificate: its common name.
	AccountID string
	// KeepAlive is the MQTT keep-alive; DefaultKeepAlive when zero.
	KeepAlive time.Duration
	// SessionExpiry keeps the MQTT session (subscriptions and QoS 1
	// messages for this client) on the hub for this long after the
	// connection drops, so replies and events published during a short
	// outage are delivered on reconnection. Zero ends the session with the
	// connection.
	SessionExpiry time.Duration
	// ConnectTimeout bounds one connection attempt; DefaultConnectTimeout
	// when zero.
	ConnectTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles (with jitter) from MinBackoff up to
	// MaxBackoff. DefaultMinBackoff and DefaultMaxBackoff when zero. The
	// first attempt after a lost connection is immediate.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds every blocking call whose context has no deadline
	// (the PhyStack hub client's 10 s for actions); DefaultTimeout when
	// zero.
	Timeout time.Duration
	// QueueSize is how many messages a Subscription holds for its handler
	// before it drops new ones; DefaultQueueSize when zero.
	QueueSize int
	// Logger receives connection events and problems; discarded when nil.
	Logger *slog.Logger
	// OnConnect is called, on a goroutine of the client, each time a
	// connection is up and every subscription and exposed Thing has been
	// restored on it.
	OnConnect func()
	// OnConnectionLost is called, on a goroutine of the client, each time
	// an established connection drops. The client reconnects by itself.
	OnConnectionLost func()
}

func (o Options) withDefaults() Options {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.ClientID == "" {
		var b [6]byte
		_, _ = crand.Read(b[:])
		o.ClientID = "wot-" + hex.EncodeToString(b[:])
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// parseURL reads Options.URL.
func parseURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "mqtt://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: hub URL %q: %w", ErrInvalidInput, s, err)
	}
	switch u.Scheme {
	case "mqtt", "tcp", "mqtts", "ssl", "tls", "ws", "wss":
	default:
		return nil, fmt.Errorf("%w: hub URL %q: scheme %q: want mqtt, mqtts, ws or wss", ErrInvalidInput, s, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: hub URL %q has no host", ErrInvalidInput, s)
	}
	if u.Port() == "" {
		switch u.Scheme {
		case "mqtt", "tcp":
			u.Host += ":1883"
		case "mqtts", "ssl", "tls":
			u.Host += ":8883"
		case "ws":
			u.Host += ":80"
		case "wss":
			u.Host += ":443"
		}
	}
	if h, _, err := net.SplitHostPort(u.Host); err != nil || h == "" {
		return nil, fmt.Errorf("%w: hub URL %q: bad host:port %q", ErrInvalidInput, s, u.Host)
	}
	return u, nil
}

// accountOf is who the hub takes a client to be (see Options.AccountID).
func accountOf(o Options) string {
	switch {
	case o.AccountID != "":
		return o.AccountID
	case o.Username != "":
		return o.Username
	}
	if sub := tokenSubject(o.Password); sub != "" {
		return sub
	}
	return o.ClientID
}

// tokenSubject reads the subject of a JWT access token without checking
// it (the hub does); "" when pw is not one.
func tokenSubject(pw string) string {
	parts := strings.Split(pw, ".")
	if len(parts) != 3 || len(pw) <= 40 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	return claims.Sub
}

// Client is a connection to a wotmq hub, as an agent (Produce), a consumer
// (Thing, Things) or both. It reconnects by itself and restores its
// subscriptions and exposed Things on every new connection. Its methods
// may be called concurrently.
type Client struct {
	opts       Options
	agentID    string
	replyTopic string
	log        *slog.Logger

	cm     *autopaho.ConnectionManager
	cmSet  chan struct{}      // closed once cm is set
	life   context.Context    // the client's lifetime: cancelled by Close
	kill   context.CancelFunc // cancels life, which stops the connection manager
	closed chan struct{}      // closed by Close
	once   sync.Once

	subs    *subTable
	subMu   sync.Mutex // serialises SUBSCRIBE/UNSUBSCRIBE with table changes
	markers markers
	calls   *correlator
	agent   *agent

	connErr   chan error    // failed connection attempts, for Connect
	ready     chan struct{} // closed after the first restore
	readyOnce sync.Once
	bg        sync.WaitGroup // restore goroutines and callbacks
}

// Connect connects to the hub and returns once the connection is up, or
// when ctx ends (the hub may be down: Connect keeps trying until then), or
// at once when the hub refuses the credentials.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	u, err := parseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	if err := ValidateID(opts.ClientID); err != nil {
		return nil, fmt.Errorf("client ID: %w", wireError(err.(*Error)))
	}
	servers := []*url.URL{u}
	for _, s := range opts.URLs {
		more, err := parseURL(s)
		if err != nil {
			return nil, err
		}
		servers = append(servers, more)
	}
	var firstToken atomic.Pointer[string] // the token the first attempt uses (it also names the account)
	if opts.TokenSource != nil {
		tok, err := opts.TokenSource(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: token source: %w", ErrConnection, err)
		}
		opts.Password = tok
		firstToken.Store(&tok)
	}
	c := &Client{
		opts:       opts,
		agentID:    accountOf(opts),
		replyTopic: ClientRepliesTopic(accountOf(opts), opts.ClientID),
		log:        opts.Logger.With("client", opts.ClientID),
		closed:     make(chan struct{}),
		cmSet:      make(chan struct{}),
		subs:       newSubTable(),
		calls:      newCorrelator(),
		connErr:    make(chan error, 1),
		ready:      make(chan struct{}),
	}
	c.life, c.kill = context.WithCancel(context.Background())
	c.agent = newAgent(c)
	c.subs.add(&sub{filter: c.replyTopic, sink: func(p *paho.Publish) { c.calls.deliver(p) }})
	hubTD := &sub{filter: HubTDTopic, sink: func(p *paho.Publish) {
		if p.Retain {
			c.markers.arrived()
		}
	}}
	hubTD.fresh.Store(true) // it takes every retained copy: they are the markers
	c.subs.add(hubTD)

	cfg := autopaho.ClientConfig{
		ServerUrls:                    servers,
		TlsCfg:                        opts.TLSConfig,
		KeepAlive:                     uint16(min(max(opts.KeepAlive/time.Second, 1), 65535)),
		CleanStartOnInitialConnection: true,
		SessionExpiryInterval:         uint32(min(opts.SessionExpiry/time.Second, 1<<32-1)),
		ReconnectBackoff:              c.backoff,
		ConnectTimeout:                opts.ConnectTimeout,
		ConnectUsername:               opts.Username,
		ConnectPassword:               []byte(opts.Password),
		OnConnectionUp:                c.onConnectionUp,
		OnConnectionDown:              c.onConnectionDown,
		OnConnectError:                c.onConnectError,
		ClientConfig: paho.ClientConfig{
			ClientID:          opts.ClientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){c.route},
			// Calls are bounded by their contexts (Options.Timeout when
			// they have none); this only backs that up.
			PacketTimeout: 5 * time.Minute,
		},
	}
	if opts.TokenSource != nil {
		cfg.ConnectPacketBuilder = func(cp *paho.Connect, _ *url.URL) (*paho.Connect, error) {
			tok := firstToken.Swap(nil)
			if tok == nil {
				ctx, cancel := context.WithTimeout(c.life, opts.ConnectTimeout)
				defer cancel()
				fresh, err := opts.TokenSource(ctx)
				if err != nil {
					return nil, fmt.Errorf("token source: %w", err)
				}
				tok = &fresh
			}
			cp.Password, cp.PasswordFlag = []byte(*tok), true
			return cp, nil
		}
	}
	if c.cm, err = autopaho.NewConnection(c.life, cfg); err != nil {
		c.kill()
		return nil, fmt.Errorf("%w: %w", ErrConnection, err)
	}
	close(c.cmSet)
	var last error
	for {
		select {
		case <-c.ready:
			return c, nil
		case err := <-c.connErr:
			var ce *autopaho.ConnackError
			if errors.As(err, &ce) && ce.ReasonCode >= 0x80 {
				c.Close(context.Background())
				return nil, fmt.Errorf("%w: %w", connackKind(ce.ReasonCode), err)
			}
			last = err
		case <-ctx.Done():
			c.Close(context.Background())
			if last != nil {
				return nil, fmt.Errorf("%w: %w (last attempt: %w)", ErrConnection, ctx.Err(), last)
			}
			return nil, fmt.Errorf("%w: %w", ErrConnection, ctx.Err())
		}
	}
}

// connackKind maps a CONNACK refusal to a sentinel.
func connackKind(rc byte) error {
	switch rc {
	case 0x86, 0x87, 0x8C: // bad user name or password, not authorized, bad authentication method
		return ErrDenied
	case 0x85, 0x8A: // client identifier not valid, banned
		return ErrDenied
	}
	return ErrConnection
}

// AgentID is who the hub takes this client to be, as an agent and as the
// owner of its ResponseTopic (see Options.AccountID).
func (c *Client) AgentID() string { return c.agentID }

// ClientID is the MQTT client ID.
func (c *Client) ClientID() string { return c.opts.ClientID }

// backoff is the wait before connection attempt n (0 is the first of a
// series): none, then MinBackoff doubling up to MaxBackoff, each with up
// to 25% jitter so that many devices do not reconnect in step.
func (c *Client) backoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := c.opts.MinBackoff
	for i := 1; i < n && d < c.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.opts.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

func (c *Client) onConnectError(err error) {
	var ce *autopaho.ConnackError
	if errors.As(err, &ce) && errors.Is(connackKind(ce.ReasonCode), ErrDenied) {
		// Worth a user's attention: retrying will not help unless the
		// credentials change (Options.TokenSource) or an operator acts.
		c.log.Warn("the hub refused the connection", "err", err)
	} else {
		c.log.Debug("connection attempt failed", "err", err)
	}
	select {
	case c.connErr <- err:
	default:
	}
}

// onConnectionUp restores the session on a new connection: subscriptions,
// then exposed Things. autopaho calls it on its own goroutine, which must
// not block, so the work runs on another.
func (c *Client) onConnectionUp(cm *autopaho.ConnectionManager, ack *paho.Connack) {
	c.log.Info("connected", "session_present", ack.SessionPresent)
	c.markers.connected()
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		<-c.cmSet // the first connection may come up before NewConnection returns
		ctx, cancel := context.WithTimeout(c.life, c.opts.Timeout)
		defer cancel()
		if err := c.resubscribe(ctx); err != nil {
			c.log.Warn("cannot restore subscriptions", "err", err)
		}
		c.agent.restore(ctx)
		c.readyOnce.Do(func() { close(c.ready) })
		if c.opts.OnConnect != nil && c.life.Err() == nil {
			c.opts.OnConnect()
		}
	}()
}

func (c *Client) onConnectionDown() bool {
	c.log.Info("connection lost")
	c.markers.reset(fmt.Errorf("%w while subscribing", ErrConnection))
	if c.opts.OnConnectionLost != nil {
		c.bg.Add(1)
		go func() {
			defer c.bg.Done()
			c.opts.OnConnectionLost()
		}()
	}
	select {
	case <-c.closed:
		return false
	default:
		return true
	}
}

// resubscribe subscribes every filter of the table again, 64 per
// SUBSCRIBE. Every subscription takes the retained messages this sends:
// they may have changed while the connection was down.
func (c *Client) resubscribe(ctx context.Context) error {
	c.subMu.Lock()
	filters, subs := c.subs.all()
	for _, s := range subs {
		s.fresh.Store(true)
	}
	defer func() {
		for _, s := range subs {
			if s.filter != HubTDTopic {
				s.fresh.Store(false)
			}
		}
	}()
	var errs []error
	var last *marker
	for len(filters) > 0 {
		n := min(len(filters), 64)
		batch := filters[:n]
		filters = filters[n:]
		last = c.markers.push(markerCount(batch))
		p := subscribePacket(batch)
		sa, err := c.cm.Subscribe(ctx, p)
		if sa == nil && err != nil {
			c.subMu.Unlock()
			return err
		}
		c.markers.refused(last, p, sa.Reasons)
		for i, rc := range sa.Reasons {
			if rc >= 0x80 && i < len(batch) {
				errs = append(errs, fmt.Errorf("%s: %w", batch[i], ackError(rc, "")))
			}
		}
	}
	c.subMu.Unlock()
	if last != nil {
		if err := c.waitMarker(ctx, last); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// subscribePacket subscribes filters, with the hub TD's filter last as the
// end marker of their retained messages (see markers).
func subscribePacket(filters []string) *paho.Subscribe {
	s := &paho.Subscribe{}
	for _, f := range filters {
		if f != HubTDTopic {
			s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
		}
	}
	s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: HubTDTopic, QoS: 1})
	return s
}

// waitMarker waits until the retained messages of a SUBSCRIBE have
// arrived.
func (c *Client) waitMarker(ctx context.Context, mk *marker) error {
	select {
	case <-mk.done:
		return mk.err
	case <-ctx.Done():
		return c.callError(ctx, "wait for retained messages", ctx.Err())
	}
}

// route is the client's one paho handler. It only hands messages over
// (to the correlator, to subscription queues, to request goroutines), so
// paho's single handler goroutine never waits for application code.
func (c *Client) route(pr paho.PublishReceived) (bool, error) {
	c.subs.dispatch(pr.Packet)
	return true, nil
}

// withTimeout applies Options.Timeout to a context without a deadline.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.opts.Timeout)
}

// await waits for a connection, then runs f; it runs f again when the
// connection was down at that moment.
func (c *Client) await(ctx context.Context, f func() error) error {
	for {
		select {
		case <-c.closed:
			return ErrClosed
		default:
		}
		if err := c.cm.AwaitConnection(ctx); err != nil {
			return c.callError(ctx, "waiting for the connection", err)
		}
		err := f()
		if errors.Is(err, autopaho.ConnectionDownError) {
			continue
		}
		return err
	}
}

// callError classifies the error of a call: ErrClosed, ErrTimeout (ctx's
// deadline passed), ctx's error, or ErrConnection. Errors classified
// already pass unchanged.
func (c *Client) callError(ctx context.Context, what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrClosed), errors.Is(err, ErrTimeout), errors.Is(err, ErrConnection):
		return err
	case c.life.Err() != nil:
		return ErrClosed
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return timeoutError(what)
	case ctx.Err() != nil:
		return fmt.Errorf("wot: %s: %w", what, ctx.Err())
	}
	return fmt.Errorf("%w: %s: %w", ErrConnection, what, err)
}

// publish sends a QoS 1 message and returns the hub's refusal as an
// error (see ackError).
func (c *Client) publish(ctx context.Context, p *paho.Publish) error {
	if p.QoS == 0 {
		p.QoS = 1
	}
	var pr *paho.PublishResponse
	err := c.await(ctx, func() (err error) {
		pr, err = c.cm.Publish(ctx, p)
		return err
	})
	if pr != nil && pr.ReasonCode >= 0x80 {
		reason := ""
		if pr.Properties != nil {
			reason = pr.Properties.ReasonString
		}
		return ackError(pr.ReasonCode, reason)
	}
	return c.callError(ctx, "publish "+p.Topic, err)
}

// subscribe adds s to the table and subscribes its filter on the broker
// (again, when another subscription has it already: the broker then sends
// the retained messages for the new one). It returns once s has received
// the retained messages.
func (c *Client) subscribe(ctx context.Context, s *sub) error {
	s.fresh.Store(true)
	defer s.fresh.Store(false)
	c.subMu.Lock()
	c.subs.add(s)
	var sa *paho.Suback
	var mk *marker
	err := c.await(ctx, func() (err error) {
		mk = c.markers.push(markerCount([]string{s.filter}))
		p := subscribePacket([]string{s.filter})
		sa, err = c.cm.Subscribe(ctx, p)
		if errors.Is(err, autopaho.ConnectionDownError) {
			c.markers.cancel(mk) // nothing was sent
		}
		if sa != nil {
			c.markers.refused(mk, p, sa.Reasons)
		}
		return err
	})
	c.subMu.Unlock()
	if sa != nil && len(sa.Reasons) > 0 && sa.Reasons[0] >= 0x80 {
		reason := ""
		if sa.Properties != nil {
			reason = sa.Properties.ReasonString
		}
		err = ackError(sa.Reasons[0], reason)
	} else {
		err = c.callError(ctx, "subscribe "+s.filter, err)
	}
	if err == nil {
		err = c.waitMarker(ctx, mk)
	}
	if err != nil {
		c.unsubscribe(context.WithoutCancel(ctx), s)
		return fmt.Errorf("subscribe %s: %w", s.filter, err)
	}
	return nil
}

// unsubscribe removes s from the table, and its filter from the broker
// when no other subscription uses it.
func (c *Client) unsubscribe(ctx context.Context, s *sub) error {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if !c.subs.remove(s) {
		return nil
	}
	select {
	case <-c.closed:
		return nil
	default:
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	_, err := c.cm.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{s.filter}})
	if err != nil && !errors.Is(err, autopaho.ConnectionDownError) {
		// The connection may be gone; it is not subscribed again then.
		return fmt.Errorf("%w: unsubscribe %s: %w", ErrConnection, s.filter, err)
	}
	return nil
}

// Subscribe subscribes to a raw topic filter (anything, including
// wildcards) and calls handler for every message; see Subscription for the
// back-pressure policy. It returns once the hub acknowledged the
// subscription.
func (c *Client) Subscribe(ctx context.Context, filter string, handler func(Message)) (*Subscription, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	s := c.newSubscription(filter, handler)
	if err := c.subscribe(ctx, s.s); err != nil {
		close(s.stop)
		return nil, err
	}
	return s, nil
}

// retained returns the retained messages on filter, in the order the hub
// sent them (none when nothing is retained).
func (c *Client) retained(ctx context.Context, filter string) ([]*paho.Publish, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var mu sync.Mutex
	var got []*paho.Publish
	s := &sub{filter: filter, sink: func(p *paho.Publish) {
		if p.Retain {
			mu.Lock()
			got = append(got, p)
			mu.Unlock()
		}
	}}
	if err := c.subscribe(ctx, s); err != nil {
		return nil, err
	}
	c.unsubscribe(context.WithoutCancel(ctx), s)
	mu.Lock()
	defer mu.Unlock()
	return got, nil
}

// Close disconnects from the hub and stops every subscription and request
// handler (their contexts are cancelled; requests they did not answer are
// delivered again when the agent comes back). Calls still waiting fail with
// ErrClosed. Close waits for handlers to return until ctx ends.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.once.Do(func() {
		close(c.closed)
		c.calls.dropAll()
		c.agent.close()
		err = c.cm.Disconnect(ctx) // cancels the connection manager's context and waits for it
		c.kill()
		waited := make(chan struct{})
		go func() {
			c.bg.Wait()
			c.agent.wait()
			close(waited)
		}()
		select {
		case <-waited:
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("wot: close: handlers still running: %w", ctx.Err())
			}
		}
	})
	return err
}

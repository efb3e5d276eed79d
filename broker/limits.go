package broker

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// Defaults for Limits.
const (
	DefaultMaxConnections    = 10000
	DefaultMaxThingsPerAgent = 1000
	DefaultMaxPayload        = 256 << 10
	DefaultMaxHistory        = 100000
	DefaultInflight          = 8192     // QoS 1 and 2 messages to one client awaiting its acknowledgement (stored as needed)
	DefaultClientQueue       = 65536    // messages; the queue grows on demand and is freed when empty (patched Mochi)
	DefaultClientQueueBytes  = 64 << 20 // the memory a client's queue may hold (a queued message costs ~0.8 KiB beside its payload)
	DefaultRequestWindow     = 512      // requests delivered to one agent and not yet answered
	DefaultRateLimit         = 1000     // publishes a second per connection (used by wotmq serve)
	DefaultMinFreeDisk       = 128 << 20
	DefaultDiskCheckInterval = time.Second
	DefaultMaxSessionExpiry  = 24 * time.Hour
	DefaultMaxStreams        = 100              // HTTP event streams per account
	DefaultConnectTimeout    = 15 * time.Second // as EMQX
	DefaultMaxSubscriptions  = 1000
	DefaultMaxRetained       = 100000 // retained messages on free topics, hub-wide

	// ConnectRefusalSlots is how many sockets beyond MaxConnections the
	// hub keeps open to answer their CONNECT with 0x89 (server busy);
	// more are closed at once.
	ConnectRefusalSlots = 16
	// TopicAliasMaximum is the most topic aliases a client may set
	// (announced in the CONNACK); each holds a topic of up to 64 KiB.
	TopicAliasMaximum = 10

	// PacketOverhead is what an MQTT packet may carry beside its payload
	// (topic, properties): the broker cuts a connection whose packet is
	// larger than MaxPayload + PacketOverhead (DISCONNECT 0x95); payloads
	// between are refused with a reason (PUBACK 0x97 too_large).
	PacketOverhead = 64 << 10
)

// Limits bound what one client, one agent and the whole hub may use
// (docs/operations.md, "Limits"). A field's zero value selects its
// default; a negative value turns the limit off. RateLimit is the
// exception: zero means no rate limit, because a rate that suits a hub on a
// network would throttle tests and benchmarks; `wotmq serve` sets
// DefaultRateLimit.
type Limits struct {
	// MaxConnections is the most network connections open at once, those
	// that have not sent their CONNECT yet included: a CONNECT beyond it is
	// refused with CONNACK 0x89 (server busy), and a socket beyond it plus
	// ConnectRefusalSlots is closed at once.
	MaxConnections int
	// MaxThingsPerAgent is the most Things one agent may register; a TD
	// for one more is refused with quota (PUBACK 0x97).
	MaxThingsPerAgent int
	// MaxAffordances is the most properties, actions and events one TD may
	// have; a TD with more is refused with quota (PUBACK 0x97, HTTP 429).
	// The twin TD of an accepted TD must also fit in MaxPayload, or the TD
	// is refused with too_large.
	MaxAffordances int
	// MaxPayload is the largest payload in bytes the hub accepts; a larger
	// one is refused with too_large (PUBACK 0x97).
	MaxPayload int
	// MaxHistory is the most history records (events and property values)
	// kept per Thing: past 110% of it the oldest are deleted down to it.
	MaxHistory int
	// ClientQueue is the most messages waiting for one client's socket,
	// and ClientQueueBytes the most memory they may hold (each counted as
	// its payload, topic and properties plus the ~0.8 KiB of Mochi's
	// packet); more are dropped for that client and counted
	// (wotmq_messages_dropped_total), other clients are not affected. The
	// queue grows on demand and is freed when empty (patched Mochi), so
	// only a consumer that falls behind costs memory: a stuck one at most
	// ClientQueueBytes for as long as it stays connected. Messages
	// sent with QoS 1 or 2 and not yet acknowledged are limited apart, to
	// the larger of DefaultInflight and twice RequestWindow.
	ClientQueue      int
	ClientQueueBytes int
	// RequestWindow is the most requests delivered to one agent and not
	// yet answered; more wait as pending and go out as answers come in.
	// It is held within half of ClientQueue and of the inflight limit, so
	// that no request is dropped for a full queue.
	RequestWindow int
	// RateLimit is the publishes per second one connection may sustain, in
	// bursts of up to RateBurst (2 x RateLimit when zero). A publish over
	// the rate is refused with rate_limited (PUBACK 0x97; a QoS 0 publish
	// is dropped); a client that goes on publishing a whole burst over the
	// rate is disconnected with 0x96 (message rate too high).
	RateLimit float64
	RateBurst int
	// MinFreeDisk is the free space, in bytes, that the file system of the
	// data directory keeps: below it every publish that writes to the store
	// is refused with storage_full (PUBACK 0x97) until space returns.
	// Badger cannot fail gracefully on a full disk (its logs are memory
	// mapped), so the hub stops writing before it is full.
	MinFreeDisk int64
	// DiskCheckInterval is how often the free space is checked.
	DiskCheckInterval time.Duration
	// MaxSessionExpiry caps the session expiry a client may ask for: a
	// persistent session (clean start 0) whose client is away is kept, and
	// what is published for it queued, at most this long
	// (DefaultMaxSessionExpiry when zero, no cap when negative).
	MaxSessionExpiry time.Duration
	// MaxKeepAlive caps the keep alive an MQTT 5 client may ask for
	// (Mosquitto's max_keepalive): one asking for more, or for none, is
	// given this in the CONNACK's Server Keep Alive [MQTT-3.2.2-21] and
	// disconnected after one and a half of it without a packet. MQTT
	// 3.1.1 has no way to tell a client, so its keep alive stands. No cap
	// when zero.
	MaxKeepAlive time.Duration
	// ConnectTimeout is how long a new network connection may take to
	// send its CONNECT; DefaultConnectTimeout when zero or negative.
	ConnectTimeout time.Duration
	// MaxSubscriptions is the most subscriptions one client may hold; a
	// SUBSCRIBE for more gets reason code 0x97 (quota exceeded) for each
	// filter beyond it.
	MaxSubscriptions int
	// MaxRetained is the most retained messages the hub keeps on free
	// topics (each written to disk, kept across restarts): a retained
	// publish on a topic holding none is refused with 0x97 (quota) once
	// there are this many; replacing or clearing one is always taken.
	MaxRetained int
	// FreeSpace returns the free bytes of the file system that holds dir;
	// statfs when nil (tests inject a full disk here).
	FreeSpace func(dir string) (uint64, error)
	// MaxStreams is the most HTTP event streams (SSE) one account may have
	// open at once; one more is refused with quota (429).
	MaxStreams int
}

// WithDefaults is l with every zero field set to its default (FreeSpace
// is left to the hub, which owns the data directory).
func (l Limits) WithDefaults() Limits {
	l.setDefaults()
	return l
}

func (l *Limits) setDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&l.MaxConnections, DefaultMaxConnections)
	def(&l.MaxThingsPerAgent, DefaultMaxThingsPerAgent)
	def(&l.MaxAffordances, twin.DefaultMaxAffordances)
	def(&l.MaxPayload, DefaultMaxPayload)
	def(&l.MaxHistory, DefaultMaxHistory)
	def(&l.ClientQueue, DefaultClientQueue)
	def(&l.ClientQueueBytes, DefaultClientQueueBytes)
	def(&l.RequestWindow, DefaultRequestWindow)
	def(&l.MaxStreams, DefaultMaxStreams)
	def(&l.MaxSubscriptions, DefaultMaxSubscriptions)
	def(&l.MaxRetained, DefaultMaxRetained)
	if l.ConnectTimeout <= 0 {
		l.ConnectTimeout = DefaultConnectTimeout
	}
	if l.RateLimit > 0 && l.RateBurst <= 0 {
		l.RateBurst = int(2*l.RateLimit) + 1
	}
	if l.MinFreeDisk == 0 {
		l.MinFreeDisk = DefaultMinFreeDisk
	}
	if l.MaxSessionExpiry == 0 {
		l.MaxSessionExpiry = DefaultMaxSessionExpiry
	}
	if l.DiskCheckInterval <= 0 {
		l.DiskCheckInterval = DefaultDiskCheckInterval
	}
}

// capabilities applies the limits that Mochi enforces.
func (l *Limits) capabilities(caps *mqtt.Capabilities) {
	if l.MaxConnections > 0 {
		caps.MaximumClients = int64(l.MaxConnections)
	}
	if l.MaxPayload > 0 {
		caps.MaximumPacketSize = uint32(min(l.MaxPayload+PacketOverhead, 1<<28)) // the MQTT maximum is 256 MiB
	}
	if l.MaxSubscriptions > 0 {
		caps.MaximumSubscriptions = l.MaxSubscriptions
	}
	// Each alias holds a topic of up to 64 KiB for the connection's
	// lifetime; Mochi's default (65,535 of them) let one connection hold
	// gigabytes.
	caps.TopicAliasMaximum = TopicAliasMaximum
	caps.AnnounceLimits = true // in the CONNACK, with MaximumPacketSize [MQTT-3.2.2-15] [MQTT-3.2.2-17]
	if l.ClientQueue > 0 {
		caps.MaximumClientWritesPending = int32(min(l.ClientQueue, 1<<24))
	}
	if l.ClientQueueBytes > 0 {
		caps.MaximumClientWritesPendingBytes = int64(l.ClientQueueBytes)
	}
	caps.MaximumInflight = uint16(min(max(2*l.RequestWindow, DefaultInflight), 65535))
	if l.MaxSessionExpiry > 0 { // [MQTT-3.2.2-19] the CONNACK tells a client that asked for more
		caps.MaximumSessionExpiryInterval = uint32(min(max(l.MaxSessionExpiry/time.Second, 1), math.MaxUint32))
	}
}

// guard is the hook that runs before the hub's own on every publish: rate
// limit, payload size, UTF-8, and the disk guard. It also answers publishes
// Mochi would drop without an acknowledgement.
type guard struct {
	mqtt.HookBase
	h *Hub
}

func (g *guard) ID() string { return "wotmq-guard" }

func (g *guard) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnSessionEstablish, mqtt.OnPacketRead, mqtt.OnPublish, mqtt.OnSessionEstablished, mqtt.OnDisconnect:
		return true
	}
	return false
}

// OnConnect refuses the CONNECT of a connection accepted beyond
// MaxConnections (links.go) with 0x89 (server busy; 3.1.1: 0x03 server
// unavailable), before any password is checked.
func (g *guard) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if !g.h.overCap(cl) {
		g.h.capKeepAlive(cl)
		return nil
	}
	code := packets.Code{Code: packets.ErrServerBusy.Code,
		Reason: fmt.Sprintf("server busy: the hub has its most connections (%d); try again later", g.h.opts.Limits.MaxConnections)}
	if cl.Properties.ProtocolVersion < 5 {
		code = packets.ErrServerUnavailable // mapped to the 3.1.1 return code 0x03
	}
	_ = g.h.srv.SendConnack(cl, code, false, nil)
	return code
}

// OnPacketRead answers a publish on a $SYS topic, which Mochi drops
// without a PUBACK (a QoS 1 publisher would wait for ever): the refusal is
// sent here and Mochi then drops the packet as before.
func (g *guard) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type != packets.Publish || cl.Net.Inline || len(pk.TopicName) < 4 || !strings.EqualFold(pk.TopicName[:4], "$SYS") {
		return pk, nil
	}
	g.h.ops.in[kindOther].Add(1)
	err := g.h.refuse(cl, &pk, wot.Errorf(wot.CodeDenied, "topics starting with $ are the broker's"))
	var ack packets.Packet
	switch {
	case pk.FixedHeader.Qos == 1:
		ack = packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID}
	case pk.FixedHeader.Qos == 2 && cl.Properties.ProtocolVersion < 5:
		ack = packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: pk.PacketID}
	default:
		return pk, nil // QoS 0, or a PUBREC refuse already sent
	}
	if code, ok := err.(packets.Code); ok && code.Code >= 0x80 { // MQTT 5: the refusal; 3.1.1: a plain ack
		ack.ReasonCode = code.Code
		ack.Properties.ReasonString = code.Reason
	}
	_ = cl.WritePacket(ack)
	return pk, nil
}

// OnPublish checks a client's publish against the limits before the hub
// routes it.
func (g *guard) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	h := g.h
	kind := classify(pk.TopicName)
	h.ops.in[kind].Add(1)
	err := h.admit(cl, &pk, kind)
	if err == nil {
		return pk, nil
	}
	if errors.Is(err, errFlood) {
		h.ops.floodDisconnects.Add(1)
		h.ops.refusal(wot.CodeRateLimited)
		h.log.Warn().Str("client", clientID(cl)).Str("remote", cl.Net.Remote).Msg("client disconnected: message rate too high")
		_ = h.srv.DisconnectClient(cl, packets.Code{Code: packets.ErrMessageRateTooHigh.Code,
			Reason: fmt.Sprintf("message rate too high: over %g publishes a second", h.opts.Limits.RateLimit)})
		return pk, packets.ErrRejectPacket
	}
	return pk, h.refuse(cl, &pk, err)
}

// OnSessionEstablished counts connections.
func (g *guard) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	g.h.ops.connections.Add(1)
	g.h.established(cl)
}

// OnDisconnect forgets the client's rate and counts protocol errors.
func (g *guard) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	if v, ok := g.h.ops.buckets.LoadAndDelete(cl); ok {
		v.(*bucket).mu.Lock()
		n := v.(*bucket).unlogged
		v.(*bucket).mu.Unlock()
		if n > 0 {
			g.h.log.Info().Str("client", clientID(cl)).Int("refused", n).Msg("publishes refused for the rate limit and not logged one by one, until the client disconnected")
		}
	}
	var code packets.Code
	if errors.As(err, &code) && (code.Code == packets.ErrMalformedPacket.Code ||
		code.Code == packets.ErrProtocolViolation.Code || code.Code == packets.ErrPacketTooLarge.Code ||
		code.Code == packets.ErrTopicAliasInvalid.Code) {
		g.h.ops.protocolErrors.Add(1)
	}
}

var errFlood = errors.New("broker: message rate too high")

// admit decides whether a publish may go on to the hub.
func (h *Hub) admit(cl *mqtt.Client, pk *packets.Packet, kind msgKind) error {
	l := &h.opts.Limits
	if l.RateLimit > 0 {
		v, ok := h.ops.buckets.Load(cl)
		if !ok {
			v, _ = h.ops.buckets.LoadOrStore(cl, &bucket{tokens: float64(l.RateBurst), last: time.Now()})
		}
		switch tokens := v.(*bucket).take(time.Now(), l.RateLimit, float64(l.RateBurst)); {
		case tokens <= -float64(l.RateBurst):
			return errFlood
		case tokens < 0:
			return wot.Errorf(wot.CodeRateLimited, "over %g publishes a second; slow down", l.RateLimit)
		}
	}
	if err := h.checkPayload(pk, kind); err != nil {
		return err
	}
	return h.admitWrite(pk, kind)
}

// checkPayload checks what a payload is: its size and, on the hub's
// topics, UTF-8. A Will is checked by it at CONNECT.
func (h *Hub) checkPayload(pk *packets.Packet, kind msgKind) error {
	l := &h.opts.Limits
	if l.MaxPayload > 0 && len(pk.Payload) > l.MaxPayload {
		return wot.Errorf(wot.CodeTooLarge, "payload of %d bytes is over the hub's limit of %d", len(pk.Payload), l.MaxPayload)
	}
	if kind == kindOther {
		return nil // a plain broker topic: nothing the hub reads or stores
	}
	if !utf8.Valid(pk.Payload) {
		return wot.Errorf(wot.CodeInvalidPayload, "payload is not valid UTF-8 (JSON must be, RFC 8259)")
	}
	return nil
}

// admitWrite keeps the disk reserve: a publish the hub would store is
// refused when the disk is nearly full.
func (h *Hub) admitWrite(pk *packets.Packet, kind msgKind) error {
	if kind.writes() && h.opts.Reserve != nil {
		return h.opts.Reserve.Spend(len(pk.Payload))
	}
	return nil
}

// storageError turns a full disk found by a write into storage_full
// (Reserve.StorageError).
func (h *Hub) storageError(err error) error {
	if h.opts.Reserve == nil {
		return err
	}
	return h.opts.Reserve.StorageError(err)
}

// Reserve is the disk reserve of the data directory, which the hub owns
// (package hub): the guard asks it before a publish that writes to the
// store is routed, and a refusal's error goes through it. It may be called
// concurrently.
type Reserve interface {
	// Spend accounts for a write of n payload bytes, or refuses it with
	// storage_full.
	Spend(n int) error
	// StorageError turns a full disk found by a write into storage_full;
	// other errors are returned as they are.
	StorageError(err error) error
}

// bucket is a token bucket: one token per publish, refilled at the rate,
// at most burst; it goes into debt down to -burst while refusing.
type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
	// logged is when the client's last rate-limit refusal was logged;
	// unlogged counts those since, summarised (rateLimitedEvent).
	logged   time.Time
	unlogged int
}

// refusalLogInterval is how often one client's rate-limit refusals get a
// log line.
const refusalLogInterval = time.Minute

// rateLimitedEvent is the log line of a publish refused for the rate
// limit: a client's first refusal, then at most one a minute carrying the
// count of those in between ("repeated"); nil (nothing is written) for
// the others. What is left when the client disconnects is logged then.
// Every refusal is in wotmq_messages_refused_total{code="rate_limited"}.
func (h *Hub) rateLimitedEvent(cl *mqtt.Client) *zerolog.Event {
	v, ok := h.ops.buckets.Load(cl)
	if !ok {
		return h.log.Info()
	}
	b := v.(*bucket)
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.logged.IsZero() && now.Sub(b.logged) < refusalLogInterval {
		b.unlogged++
		return nil
	}
	ev := h.log.Info()
	if b.unlogged > 0 {
		ev = ev.Int("repeated", b.unlogged) // refusals since this client's last such line
	} else if b.logged.IsZero() {
		ev = ev.Str("note", "further rate-limit refusals of this client are summarised once a minute")
	}
	b.logged, b.unlogged = now, 0
	return ev
}

// take spends one token and returns what is left (negative: over the rate).
func (b *bucket) take(now time.Time, rate, burst float64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	b.tokens = max(b.tokens-1, -burst)
	return b.tokens
}

// capKeepAlive applies Limits.MaxKeepAlive to an MQTT 5 client: Mochi
// sends cl.State.Keepalive as Server Keep Alive when ServerKeepalive is
// set, and times the connection out by it.
func (h *Hub) capKeepAlive(cl *mqtt.Client) {
	limit := h.opts.Limits.MaxKeepAlive
	if limit <= 0 || cl.Properties.ProtocolVersion < 5 {
		return
	}
	secs := uint16(min(max(limit/time.Second, 1), math.MaxUint16))
	if cl.State.Keepalive == 0 || cl.State.Keepalive > secs {
		cl.State.Keepalive = secs
		cl.State.ServerKeepalive = true
	}
}

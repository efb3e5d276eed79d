package rtc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/wotmq/wotmq/wot"
)

// Defaults and bounds of Options.
const (
	// DefaultHighWaterMark is the high-water mark when Options sets none.
	DefaultHighWaterMark = 256 << 10
	// MaxHighWaterMark bounds Options.HighWaterMark: with more queued, an
	// unreliable channel loses messages (the SCTP stack drops what it
	// cannot send within the channel's lifetime or retransmits).
	MaxHighWaterMark = 256 << 10
	// DefaultSetupTimeout bounds the setup of a channel when Options sets
	// none.
	DefaultSetupTimeout = 10 * time.Second
	// MaxMessageSize is the largest message Send takes (bytes).
	MaxMessageSize = 65535
)

// Sentinel errors of package rtc. Errors the hub or the agent reported wrap
// the sentinels of package wot too (wot.ErrDenied without the openchannel
// permission, wot.ErrOffline when the agent is not connected,
// wot.ErrNotFound for an unknown Thing or one that takes no channels).
var (
	// ErrSetupTimeout: no channel within Options.SetupTimeout (the peers
	// found no network path, or the agent did not answer). It wraps
	// wot.ErrTimeout as well.
	ErrSetupTimeout = errors.New("rtc: channel setup timed out; use hub messaging instead")
	// ErrClosed: the channel was closed (by either side, or because the
	// connection between the peers failed).
	ErrClosed = errors.New("rtc: channel closed")
)

// Options configures a channel. The zero value is an ordered, reliable
// channel with host candidates only (no STUN or TURN server), the default
// water marks and setup timeout. Serve uses ICEServers, the water marks,
// SetupTimeout, Loopback and Logger; the consumer chooses ordering and
// reliability for both sides.
type Options struct {
	// Unordered lets messages arrive in another order than they were
	// sent (consumer side).
	Unordered bool
	// MaxRetransmits makes the channel unreliable: a lost message is sent
	// again at most this many times (0: never). Consumer side; not with
	// MaxPacketLifeTime.
	MaxRetransmits *uint16
	// MaxPacketLifeTime makes the channel unreliable: a lost message is
	// sent again during at most this long after it was first sent
	// (millisecond resolution, at most 65.535 s). Consumer side; not with
	// MaxRetransmits.
	MaxPacketLifeTime time.Duration
	// ICEServers are the STUN and TURN servers the peers use to find a
	// path through NATs and firewalls. None by default: host candidates
	// only, which suits peers on one network.
	ICEServers []webrtc.ICEServer
	// HighWaterMark and LowWaterMark bound what a Channel queues: Send
	// waits while more than HighWaterMark bytes are buffered, until they
	// drop to LowWaterMark. HighWaterMark is DefaultHighWaterMark when
	// zero and at most MaxHighWaterMark; LowWaterMark is a quarter of
	// HighWaterMark when zero, and below it.
	HighWaterMark uint64
	LowWaterMark  uint64
	// SetupTimeout bounds the setup of a channel (signalling, ICE, DTLS,
	// SCTP); DefaultSetupTimeout when zero. An agent drops a session that
	// did not open within it.
	SetupTimeout time.Duration
	// Loopback makes the peers use the loopback interface only (UDP over
	// IPv4, no mDNS), for tests and demonstrations with both peers on one
	// machine: WebRTC leaves loopback out by default. Never needed on a
	// network.
	Loopback bool
	// Logger receives what goes wrong after a channel was handed over
	// (signals the hub refused, a panicking handler); discarded when nil.
	Logger *slog.Logger

	// Tracks are audio and video tracks this side sends on every session
	// (a camera): the consumer offers them, an agent adds them to its
	// answer where the consumer's offer has room for them (Receive, or a
	// browser's receive-only transceiver). A track made with
	// webrtc.NewTrackLocalStaticSample takes encoded frames
	// (WriteSample) and fans them out to every session it is on; see
	// docs/channels.md, "Media". The media flows peer to peer, never
	// through the hub.
	Tracks []webrtc.TrackLocal
	// OnKeyFrameRequest is called when a peer asks for a key frame of one
	// of Tracks (an RTCP Picture Loss Indication or Full Intra Request: a
	// viewer that joined late or lost packets cannot decode until the next
	// key frame). A live encoder should make one; a sender that cannot
	// leaves it nil and the viewer waits for the next one it sends. It
	// runs on the session's RTCP reader: it must not block.
	OnKeyFrameRequest func(webrtc.TrackLocal)
	// Receive asks the agent for media: one receive-only transceiver of
	// each kind listed (webrtc.RTPCodecTypeVideo, ...). Consumer side.
	Receive []webrtc.RTPCodecType
	// OnTrack is called, on a goroutine of its own, with each track the
	// peer sends; read its RTP packets (Track.Remote.ReadRTP) until it
	// fails, which it does when the session ends.
	OnTrack func(*Track)
	// MaxSessionsPerPeer bounds the sessions one consumer may have open
	// or in setup with a Listener at a time: an offer beyond it is
	// refused with an error signal (code quota). DefaultMaxSessionsPerPeer
	// when zero; negative for no bound. Agent side.
	MaxSessionsPerPeer int
	// MaxSetupsPerMinute bounds how many sessions one consumer may start
	// with a Listener in any minute (a sliding window over the offers it
	// took): an offer beyond it is refused with an error signal (code
	// quota), however few sessions are open. Refused offers do not count.
	// DefaultMaxSetupsPerMinute when zero; negative for no bound. Agent
	// side.
	MaxSetupsPerMinute int
}

// DefaultMaxSetupsPerMinute is Options.MaxSetupsPerMinute when it is zero.
const DefaultMaxSetupsPerMinute = 30

// DefaultMaxSessionsPerPeer is Options.MaxSessionsPerPeer when it is zero.
const DefaultMaxSessionsPerPeer = 16

// withDefaults checks o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.HighWaterMark == 0 {
		o.HighWaterMark = DefaultHighWaterMark
	}
	if o.HighWaterMark > MaxHighWaterMark {
		return o, fmt.Errorf("%w: rtc: HighWaterMark %d is over %d bytes: more queued loses messages on unreliable channels", wot.ErrInvalidInput, o.HighWaterMark, MaxHighWaterMark)
	}
	if o.LowWaterMark == 0 {
		o.LowWaterMark = o.HighWaterMark / 4
	}
	if o.LowWaterMark >= o.HighWaterMark {
		return o, fmt.Errorf("%w: rtc: LowWaterMark %d must be below HighWaterMark %d", wot.ErrInvalidInput, o.LowWaterMark, o.HighWaterMark)
	}
	if o.SetupTimeout <= 0 {
		o.SetupTimeout = DefaultSetupTimeout
	}
	if o.MaxRetransmits != nil && o.MaxPacketLifeTime != 0 {
		return o, fmt.Errorf("%w: rtc: set MaxRetransmits or MaxPacketLifeTime, not both", wot.ErrInvalidInput)
	}
	if o.MaxPacketLifeTime < 0 || o.MaxPacketLifeTime > 65535*time.Millisecond {
		return o, fmt.Errorf("%w: rtc: MaxPacketLifeTime %v: want up to 65.535s", wot.ErrInvalidInput, o.MaxPacketLifeTime)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MaxSessionsPerPeer == 0 {
		o.MaxSessionsPerPeer = DefaultMaxSessionsPerPeer
	}
	if o.MaxSetupsPerMinute == 0 {
		o.MaxSetupsPerMinute = DefaultMaxSetupsPerMinute
	}
	return o, nil
}

// dataChannelInit is the consumer's DataChannel configuration.
func (o Options) dataChannelInit() *webrtc.DataChannelInit {
	ordered := !o.Unordered
	init := &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: o.MaxRetransmits}
	if o.MaxPacketLifeTime > 0 {
		ms := uint16(max(o.MaxPacketLifeTime/time.Millisecond, 1))
		init.MaxPacketLifeTime = &ms
	}
	return init
}

// peerConnection makes a PeerConnection with o's ICE servers; pion's log
// goes to o.Logger.
func (o Options) peerConnection() (*webrtc.PeerConnection, error) {
	var se webrtc.SettingEngine
	if o.Loopback {
		se = LoopbackSettings()
	}
	se.LoggerFactory = pionLogs{o.Logger}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: o.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	return pc, nil
}

// LoopbackSettings is the pion configuration of Options.Loopback: loopback
// candidates included (pion skips them by default), only loopback
// interfaces and addresses, UDP over IPv4, no mDNS candidates. For tests
// that use pion directly.
func LoopbackSettings() webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool {
		ifi, err := net.InterfaceByName(name)
		return err == nil && ifi.Flags&net.FlagLoopback != 0
	})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se
}

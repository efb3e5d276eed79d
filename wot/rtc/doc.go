// Package rtc opens real-time channels between twins: WebRTC DataChannels
// between a consumer and the agent that owns a Thing, signalled through a
// wotmq hub. The hub authenticates both ends, checks that the consumer may
// open channels to the Thing (the openchannel permission: operator and up),
// relays the offer, the answer and the ICE candidates, and steps aside;
// the messages then go peer to peer. The protocol is docs/channels.md.
//
// Hub messaging suits commands and status; channels are for streams of
// hundreds of readings a second, joysticks and large transfers. The
// package is apart from package wot so that devices that do not use
// channels do not link a WebRTC stack (pion).
//
// # Consumers
//
// [Open] opens a channel to a Thing over a connected [wot.Client] and
// returns once it is open:
//
//	ch, err := rtc.Open(ctx, client, "urn:dev:ops:sensor-1", "readings", rtc.Options{})
//	if errors.Is(err, rtc.ErrSetupTimeout) {
//		// no direct path: fall back to events and actions through the hub
//	}
//	ch.OnMessage(func(b []byte) { ... })
//	ch.SendJSON(map[string]any{"rate": 1000})
//	defer ch.Close()
//
// [OpenThing] does the same on the signalling topic that a twin TD
// advertises (its "wotmq:channel" member, [ChannelTopic]). Options choose
// ordered or not (Unordered), reliable or not (MaxRetransmits,
// MaxPacketLifeTime), the STUN and TURN servers (ICEServers) and the setup
// timeout.
//
// # Agents
//
// [Serve] takes the channels consumers open to a [wot.ExposedThing] and
// calls a handler with each, on a goroutine of its own, once it is open:
//
//	l, err := rtc.Serve(thing, rtc.Options{}, func(ch *rtc.Channel) {
//		for ch.SendJSON(read()) == nil {
//		}
//	})
//	defer l.Close()
//
// The agent's Client receives signals with its requests (op "signal" on
// agents/{agentID}/requests) and answers on agents/{agentID}/signals;
// without Serve, an offer is refused at once.
//
// # Channels
//
// A [Channel] sends bytes ([Channel.Send]) or JSON ([Channel.SendJSON]),
// up to MaxMessageSize each, and hands the peer's messages to the function
// set with [Channel.OnMessage], one at a time, in the order they arrive.
// [Channel.Close] sends bye through the hub and ends the connection;
// [Channel.Done] tells when either side closed it, or the connection
// failed. Every method may be called from any goroutine.
//
// # Back-pressure
//
// Send waits while more than Options.HighWaterMark bytes are buffered
// ([Channel.BufferedAmount]), until they drain to Options.LowWaterMark;
// [Channel.SendContext] bounds the wait. The high-water mark is 256 KiB by
// default and at most that: more buffered loses messages on unreliable
// channels. A receiver whose OnMessage handler is slow slows the sender
// down in the same way: messages wait in the receive window, they are not
// dropped.
//
// # Errors
//
// Opening a channel fails with an error that wraps a sentinel:
// [wot.ErrDenied] without the permission, [wot.ErrOffline] when the agent
// is not connected, [wot.ErrNotFound] for an unknown Thing or one that
// takes no channels, and [ErrSetupTimeout] when no channel opened within
// Options.SetupTimeout (10 s by default), whose message says to use hub
// messaging instead: the peers may have no network path to each other
// (configure a TURN server) or the agent did not answer.
//
// # Media
//
// The same sessions carry audio and video, peer to peer; the hub relays
// the signalling only. Options.Tracks are the tracks a side sends (a
// camera: webrtc.NewTrackLocalStaticSample takes encoded frames and fans
// them out to every session), Options.Receive the kinds a consumer asks
// for (a viewer), and Options.OnTrack gets each track the peer sends
// ([Track]: read its RTP packets). Options.MaxSessionsPerPeer bounds the
// sessions one consumer may hold with a Listener (16 by default) and
// Options.MaxSetupsPerMinute those it may start in any minute (30); an
// offer beyond either is refused with code quota.
//
//	l, err := rtc.Serve(camera, rtc.Options{Tracks: []webrtc.TrackLocal{track}}, func(*rtc.Channel) {})
//	ch, err := rtc.Open(ctx, c, "urn:dev:camera-1", "view", rtc.Options{
//		Receive: []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo},
//		OnTrack: func(t *rtc.Track) { for { p, _, err := t.Remote.ReadRTP(); ... } },
//	})
//
// # Tests on one machine
//
// WebRTC leaves loopback addresses out by default. Options.Loopback makes
// both ends use the loopback interface only (UDP over IPv4, no mDNS), for
// tests and demonstrations; [LoopbackSettings] is the same for code that
// uses pion directly. Setup takes a few milliseconds on loopback; a lost
// UDP packet can stall a channel for up to a second or so while SCTP
// retransmits.
package rtc

package rtc

import (
	"fmt"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Track is a track of audio or video the peer sends on a session, as
// Options.OnTrack gets it. Read its packets from Remote (ReadRTP, or
// Read); Receiver sends the peer's RTCP (receiver reports) by itself, and
// RequestKeyFrame asks the sender for a picture a decoder can start from.
type Track struct {
	Remote   *webrtc.TrackRemote
	Receiver *webrtc.RTPReceiver
	pc       *webrtc.PeerConnection
	// ThingID, Session and Peer say whose session it is: the Thing, the
	// session ID, and the account at the other end.
	ThingID string
	Session string
	Peer    string
}

// Kind is "audio" or "video".
func (t *Track) Kind() string { return t.Remote.Kind().String() }

// Codec is the negotiated codec's MIME type, e.g. "video/VP8".
func (t *Track) Codec() string { return t.Remote.Codec().MimeType }

// RequestKeyFrame asks the peer for a key frame of this track (an RTCP
// Picture Loss Indication): what a receiver that lost one, or joined late,
// needs before it can decode again. The sender decides whether and when it
// answers (Options.OnKeyFrameRequest on a Go sender; browsers answer by
// themselves).
func (t *Track) RequestKeyFrame() error {
	return t.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.Remote.SSRC())}})
}

// offerMedia adds what the consumer sends and asks to receive before
// the offer: Options.Tracks, and a receive-only transceiver per kind in
// Options.Receive.
func (o Options) offerMedia(pc *webrtc.PeerConnection) error {
	for _, kind := range o.Receive {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fmt.Errorf("rtc: receive %s: %w", kind, err)
		}
	}
	return o.addTracks(pc)
}

// addTracks adds Options.Tracks to a PeerConnection; an agent calls it
// after the offer is applied, so that each track takes the transceiver the
// offer made for its kind.
func (o Options) addTracks(pc *webrtc.PeerConnection) error {
	for _, t := range o.Tracks {
		sender, err := pc.AddTrack(t)
		if err != nil {
			return fmt.Errorf("rtc: add %s track %q: %w", t.Kind(), t.ID(), err)
		}
		// RTCP from the peer (loss reports, picture loss) is read so that
		// the interceptors see it, and a request for a key frame reaches
		// OnKeyFrameRequest; the sender ends with the session.
		go func() {
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				if o.OnKeyFrameRequest != nil && asksKeyFrame(pkts) {
					o.OnKeyFrameRequest(t)
				}
			}
		}()
	}
	return nil
}

// asksKeyFrame reports whether RTCP from a receiver asks for a key frame:
// a Picture Loss Indication or a Full Intra Request.
func asksKeyFrame(pkts []rtcp.Packet) bool {
	for _, p := range pkts {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			return true
		}
	}
	return false
}

// onTrack hands the peer's tracks to Options.OnTrack.
func (o Options) onTrack(pc *webrtc.PeerConnection, thingID, session string, peer func() string) {
	if o.OnTrack == nil {
		return
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		t := &Track{Remote: remote, Receiver: receiver, pc: pc, ThingID: thingID, Session: session, Peer: peer()}
		go func() {
			defer func() {
				if v := recover(); v != nil {
					o.Logger.Error("track handler panicked", "thing", thingID, "session", session, "panic", v)
				}
			}()
			o.OnTrack(t)
		}()
	})
}

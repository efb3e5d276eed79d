package rtc

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/wotmq/wotmq/wot"
)

// camera is a video track fed with synthetic frames (any bytes: nobody
// decodes them here) at 50 a second until the test ends.
func camera(tb testing.TB) *webrtc.TrackLocalStaticSample {
	tb.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "camera")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	tb.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := make([]byte, 1200)
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			frame[0] = byte(n)
			_ = track.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
		}
	}()
	return track
}

// frameCounter counts the frames of the tracks it is given (RTP packets
// with the marker bit) and the codecs they came in.
type frameCounter struct {
	frames atomic.Int64
	codec  atomic.Value
	peer   atomic.Value
}

func (f *frameCounter) onTrack(t *Track) {
	f.codec.Store(t.Codec())
	f.peer.Store(t.Peer)
	for {
		p, _, err := t.Remote.ReadRTP()
		if err != nil {
			return
		}
		if p.Marker {
			f.frames.Add(1)
		}
	}
}

// waitFrames waits until n frames have arrived.
func (f *frameCounter) waitFrames(tb testing.TB, n int64) {
	tb.Helper()
	deadline := time.Now().Add(testTimeout)
	for f.frames.Load() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d frames arrived", f.frames.Load(), n)
		}
		time.Sleep(10 * time.Millisecond) // polling a counter the track goroutine bumps
	}
}

// TestMedia sends video both ways on channel sessions: an agent's camera
// to a consumer that asks for video, and a consumer's camera to an agent
// that takes tracks. The hub only relays the signalling.
func TestMedia(t *testing.T) {
	h := startHub(t)
	agent := connect(t, h, "camera-agent")

	t.Run("AgentToConsumer", func(t *testing.T) {
		thing := expose(t, agent, "urn:t:camera")
		opts := loopback()
		opts.Tracks = []webrtc.TrackLocal{camera(t)}
		l, err := Serve(thing, opts, func(*Channel) {})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var got frameCounter
		viewer := connect(t, h, "viewer-app")
		vopts := loopback()
		vopts.Receive = []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}
		vopts.OnTrack = got.onTrack
		ch, err := Open(context.Background(), viewer, "urn:t:camera", "view", vopts)
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		got.waitFrames(t, 10)
		if c := got.codec.Load(); c != webrtc.MimeTypeVP8 {
			t.Errorf("codec %v", c)
		}
		if p := got.peer.Load(); p != "camera-agent" {
			t.Errorf("track from %v", p)
		}
	})

	t.Run("ConsumerToAgent", func(t *testing.T) {
		thing := expose(t, agent, "urn:t:screen")
		var got frameCounter
		opts := loopback()
		opts.OnTrack = got.onTrack
		l, err := Serve(thing, opts, func(*Channel) {})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		app := connect(t, h, "phone-app")
		copts := loopback()
		copts.Tracks = []webrtc.TrackLocal{camera(t)}
		ch, err := Open(context.Background(), app, "urn:t:screen", "cast", copts)
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		got.waitFrames(t, 10)
		if p := got.peer.Load(); p != "phone-app" {
			t.Errorf("track from %v", p)
		}
	})

	t.Run("SessionsPerPeerBounded", func(t *testing.T) {
		thing := expose(t, agent, "urn:t:bounded")
		opts := loopback()
		opts.MaxSessionsPerPeer = 1
		l, err := Serve(thing, opts, func(*Channel) {})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		app := connect(t, h, "greedy-app")
		first, err := Open(context.Background(), app, "urn:t:bounded", "one", loopback())
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(context.Background(), app, "urn:t:bounded", "two", loopback())
		var we *wot.Error
		if !errors.Is(err, wot.ErrBusy) || !errors.As(err, &we) || we.Code != wot.CodeQuota {
			t.Fatalf("second session: %v, want quota", err)
		}
		other := connect(t, h, "other-app")
		ch, err := Open(context.Background(), other, "urn:t:bounded", "theirs", loopback())
		if err != nil {
			t.Fatalf("another consumer: %v", err)
		}
		ch.Close()
		first.Close()
		waitClosed(t, first, "first")
		deadline := time.Now().Add(testTimeout)
		for l.Sessions() > 0 { // the agent forgets the session on bye
			if time.Now().After(deadline) {
				t.Fatalf("%d sessions left", l.Sessions())
			}
			time.Sleep(10 * time.Millisecond)
		}
		again, err := Open(context.Background(), app, "urn:t:bounded", "again", loopback())
		if err != nil {
			t.Fatalf("after the first closed: %v", err)
		}
		again.Close()
	})
}

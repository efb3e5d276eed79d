package rtc

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestKeyFrameRequest: a Go viewer's RequestKeyFrame reaches the Go
// camera's OnKeyFrameRequest with the track it asked about (pion sends no
// picture loss indication by itself, so nothing else can make it called).
func TestKeyFrameRequest(t *testing.T) {
	h := startHub(t)
	agent := connect(t, h, "kf-camera-agent")
	thing := expose(t, agent, "urn:t:kf-camera")
	track := camera(t)
	asked := make(chan webrtc.TrackLocal, 16)
	opts := loopback()
	opts.Tracks = []webrtc.TrackLocal{track}
	opts.OnKeyFrameRequest = func(tl webrtc.TrackLocal) {
		select {
		case asked <- tl:
		default:
		}
	}
	l, err := Serve(thing, opts, func(*Channel) {})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	viewer := connect(t, h, "kf-viewer")
	tracks := make(chan *Track, 1)
	vopts := loopback()
	vopts.Receive = []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}
	vopts.OnTrack = func(tr *Track) {
		tracks <- tr
		for { // drain, so that the session's RTCP keeps flowing
			if _, _, err := tr.Remote.ReadRTP(); err != nil {
				return
			}
		}
	}
	ch, err := Open(context.Background(), viewer, "urn:t:kf-camera", "view", vopts)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	var tr *Track
	select {
	case tr = <-tracks:
	case <-time.After(testTimeout):
		t.Fatal("no track arrived")
	}
	select {
	case tl := <-asked:
		t.Fatalf("asked for a key frame of %s before the viewer did", tl.ID())
	default:
	}
	if err := tr.RequestKeyFrame(); err != nil {
		t.Fatal(err)
	}
	select {
	case tl := <-asked:
		if tl != track {
			t.Errorf("asked about %v, want the camera's track", tl.ID())
		}
	case <-time.After(testTimeout):
		t.Fatal("the camera never heard the request for a key frame")
	}
}

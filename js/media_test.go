package js_test

import (
	"context"
	"encoding/json"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
	"github.com/wotmq/wotmq/wot/rtc"
)

const mediaPassword = "correct horse battery"

// startSecureHub starts a hub that admits accounts only, with an agent,
// an operator (may open channels) and a viewer (may not).
func startSecureHub(t *testing.T) *hub.Hub {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	h, err := hub.New(hub.Options{
		TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", TLSAddr: "off", WSSAddr: "off",
		HTTPAddr: "off", HTTPSAddr: "off", MetricsAddr: "off",
		DataDir: t.TempDir(), AdminPassword: "admin-password", PasswordCost: 4, Logger: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for id, role := range map[string]authz.Role{"media-agent": authz.RoleAgent, "operator": authz.RoleOperator, "viewer": authz.RoleViewer} {
		if err := h.Accounts().Add(ctx, id, role, "", mediaPassword); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// screen is a Go "screen" Thing's side of a browser camera: it counts the
// frames of the tracks it gets and keeps the VP8 frames from the first
// key frame on, up to keep of them.
type screen struct {
	mu     sync.Mutex
	frames int
	codec  string
	kept   []media.Sample
	keep   int
	enough chan struct{} // closed at want frames
	want   int
}

func (s *screen) onTrack(t *rtc.Track) {
	s.mu.Lock()
	s.codec = t.Codec()
	s.mu.Unlock()
	sb := samplebuilder.New(128, &codecs.VP8Packet{}, t.Remote.Codec().ClockRate)
	for {
		p, _, err := t.Remote.ReadRTP()
		if err != nil {
			return
		}
		sb.Push(p)
		for f := sb.Pop(); f != nil; f = sb.Pop() {
			s.frame(f)
		}
	}
}

func (s *screen) frame(f *media.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames++
	key := len(f.Data) > 0 && f.Data[0]&1 == 0 // the VP8 frame tag's inverse key-frame bit
	if (len(s.kept) > 0 || key) && len(s.kept) < s.keep && s.codec == webrtc.MimeTypeVP8 {
		s.kept = append(s.kept, *f)
	}
	if s.frames == s.want {
		close(s.enough)
	}
}

// TestBrowserMedia: MediaStreams on channel sessions, the hub relaying only
// the signalling. The browser's camera (Chromium's fake device) streams to
// a Go screen that counts its frames; then a Go camera sends those VP8
// frames again, in a loop, to a browser viewer whose <video> gets a size
// and advancing frames; a second session of the same viewer is refused by
// the camera's bound, and a viewer account by the hub.
func TestBrowserMedia(t *testing.T) {
	bin := chromium(t)
	h := startSecureHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	agent, err := wot.Connect(ctx, wot.Options{URL: "mqtt://" + h.MQTTAddr(), ClientID: "media-agent", Username: "media-agent", Password: mediaPassword, Timeout: wait})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close(context.Background())
	srv := servePages(t)
	hubURL := "ws://" + h.WSAddr()

	// 1. browser camera -> Go screen
	const screenID, cameraID = "urn:dev:go:screen", "urn:dev:go:camera"
	scr := &screen{keep: 60, want: 90, enough: make(chan struct{})}
	screenThing, err := agent.Produce(wot.NewThing(screenID, "Screen").TD())
	if err != nil {
		t.Fatal(err)
	}
	sessions := make(chan *rtc.Channel, 1)
	ls, err := rtc.Serve(screenThing, rtc.Options{Loopback: true, OnTrack: scr.onTrack}, func(ch *rtc.Channel) { sessions <- ch })
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	if err := screenThing.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	cameraPage := srv.URL + "/test/browser/camera.html?" + url.Values{
		"hub": {hubURL}, "user": {"operator"}, "pass": {mediaPassword}, "thing": {screenID},
	}.Encode()
	var castErr error
	var castFPS float64
	res := runPages(t, bin, func(ctx context.Context) {
		var ch *rtc.Channel
		select {
		case ch = <-sessions:
		case <-ctx.Done():
			castErr = ctx.Err()
			return
		}
		start := time.Now()
		select {
		case <-scr.enough:
			castFPS = float64(scr.want) / time.Since(start).Seconds()
		case <-ctx.Done():
			castErr = ctx.Err()
		}
		ch.Close() // bye: the page is done
	}, cameraPage)[0]
	if !res.OK || castErr != nil {
		t.Fatalf("camera page: %s (steps %v); screen: %v, %d frames", res.Error, res.Steps, castErr, scr.frames)
	}
	scr.mu.Lock()
	codec, kept := scr.codec, scr.kept
	scr.mu.Unlock()
	if codec != webrtc.MimeTypeVP8 || len(kept) < 30 {
		t.Fatalf("the screen got %s, kept %d VP8 frames from a key frame", codec, len(kept))
	}
	t.Logf("browser camera -> Go screen: %d frames at %.1f/s, %s", scr.want, castFPS, res.raw)

	// 2. Go camera -> browser viewer
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "go-camera")
	if err != nil {
		t.Fatal(err)
	}
	cam := wot.NewThing(cameraID, "Camera").TD()
	cam.Extra = map[string]json.RawMessage{"wotmq:media": json.RawMessage(`{"video": {"direction": "send", "codecs": ["video/VP8"]}}`)}
	cameraThing, err := agent.Produce(cam)
	if err != nil {
		t.Fatal(err)
	}
	// A browser that lost a frame asks for a key frame (picture loss):
	// the loop starts again at its key frame, else the picture would
	// stall until the loop came round.
	keyFrame := make(chan struct{}, 1)
	onKeyFrame := func(webrtc.TrackLocal) {
		select {
		case keyFrame <- struct{}{}:
		default:
		}
	}
	lc, err := rtc.Serve(cameraThing, rtc.Options{Loopback: true, Tracks: []webrtc.TrackLocal{track}, MaxSessionsPerPeer: 1, OnKeyFrameRequest: onKeyFrame}, func(*rtc.Channel) {})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	if err := cameraThing.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() { // the recorded frames in a loop, from the key frame, at their pace
		defer close(fed)
		for {
		loop:
			for _, f := range kept {
				d := f.Duration
				if d <= 0 || d > time.Second {
					d = 33 * time.Millisecond
				}
				_ = track.WriteSample(media.Sample{Data: f.Data, Duration: d})
				select {
				case <-stop:
					return
				case <-keyFrame:
					break loop
				case <-time.After(d):
				}
			}
		}
	}()
	defer func() { close(stop); <-fed }()
	viewerPage := srv.URL + "/test/browser/viewer.html?" + url.Values{
		"hub": {hubURL}, "user": {"operator"}, "pass": {mediaPassword},
		"viewer": {"viewer"}, "viewerPass": {mediaPassword}, "thing": {cameraID},
	}.Encode()
	res = runPages(t, bin, nil, viewerPage)[0]
	if !res.OK {
		t.Fatalf("viewer page: %s (steps %v)", res.Error, res.Steps)
	}
	var got struct {
		TrackFrom     string          `json:"trackFrom"`
		Width         int             `json:"width"`
		Height        int             `json:"height"`
		FramesIn2s    int             `json:"framesIn2s"`
		FPS           float64         `json:"fps"`
		SetupMs       float64         `json:"setupMs"`
		FirstFrameMs  float64         `json:"firstFrameMs"`
		Media         json.RawMessage `json:"media"`
		SecondSession string          `json:"secondSession"`
		ViewerRole    string          `json:"viewerRole"`
		Inbound       struct {
			JitterBufferMs float64 `json:"jitterBufferMs"`
			DecodeMs       float64 `json:"decodeMs"`
		} `json:"inbound"`
	}
	if err := json.Unmarshal(res.raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Width == 0 || got.Height == 0 || got.FramesIn2s < 10 {
		t.Errorf("the <video>: %dx%d, %d frames in 2 s", got.Width, got.Height, got.FramesIn2s)
	}
	if got.TrackFrom != "media-agent" || len(got.Media) == 0 {
		t.Errorf("track from %q; the TD's wotmq:media %s", got.TrackFrom, got.Media)
	}
	if got.SecondSession != "BusyError:quota" || got.ViewerRole != "DeniedError:denied" {
		t.Errorf("refusals: second session %q, viewer role %q", got.SecondSession, got.ViewerRole)
	}
	t.Logf("Go camera -> browser <video>: %dx%d, %.1f frames/s; setup %.0f ms, first frame after %.0f ms; jitter buffer %.1f ms, decode %.2f ms a frame",
		got.Width, got.Height, got.FPS, got.SetupMs, got.FirstFrameMs, got.Inbound.JitterBufferMs, got.Inbound.DecodeMs)
}

// Command camera is a simulated camera: a wotmq agent that exposes a
// Thing announcing video ("wotmq:media") and serves real-time channels
// with wot/rtc; every consumer that opens a channel asking for video gets
// the camera's VP8 track, peer to peer (the hub only relays the
// signalling). A browser shows it with viewer.html beside this file.
//
// The frames are recorded, not encoded here: nothing in this module's
// dependencies encodes VP8 in Go, so the camera replays pattern.ivf (a test
// pattern Chromium's WebCodecs encoder made, see pattern.mjs; embedded in
// the binary) in a loop at its frame rate, or an IVF file of VP8 frames
// given with -ivf. See README.md beside this file.
//
//	go run ./examples/camera -broker mqtt://127.0.0.1:1883 -id urn:dev:ops:camera-1
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/wotmq/wotmq/wot"
	"github.com/wotmq/wotmq/wot/rtc"
)

//go:embed pattern.ivf
var pattern []byte

// config is what the flags set.
type config struct {
	Broker   string // hub URL: mqtt://, mqtts://, ws:// or wss://
	Username string // MQTT credentials; none on a hub started with --dev
	Password string //
	Agent    string // MQTT client ID; the agent ID too unless Username is set
	ThingID  string // the ID of the camera's Thing
	IVF      string // a file of VP8 frames to send instead of pattern.ivf
	Loopback bool   // WebRTC on 127.0.0.1 (viewer and camera on one machine without a network)
	STUN     string // a STUN server for viewers behind NAT, e.g. stun:stun.l.google.com:19302
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", wot.DefaultURL, "hub URL (mqtt://, mqtts://, ws://, wss://)")
	flag.StringVar(&cfg.Username, "username", os.Getenv("WOTMQ_USERNAME"), "MQTT username (default $WOTMQ_USERNAME)")
	flag.StringVar(&cfg.Password, "password", os.Getenv("WOTMQ_PASSWORD"), "MQTT password or access token (default $WOTMQ_PASSWORD)")
	flag.StringVar(&cfg.Agent, "agent", "camera-agent", "MQTT client ID (the agent ID when there is no username)")
	flag.StringVar(&cfg.ThingID, "id", "urn:dev:ops:camera-1", "Thing ID of the camera")
	flag.StringVar(&cfg.IVF, "ivf", "", "IVF file of VP8 frames to send in a loop (default: the embedded test pattern)")
	flag.BoolVar(&cfg.Loopback, "loopback", false, "offer WebRTC candidates on the loopback interface (viewer on this machine, no network)")
	flag.StringVar(&cfg.STUN, "stun", "", "STUN server URL (none by default: fine on one machine or a LAN)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "camera:", err)
		os.Exit(1)
	}
}

// frames is a recording: VP8 frames and how long each shows.
type frames struct {
	data          [][]byte
	every         time.Duration
	width, height uint16
}

// readIVF reads the frames of an IVF file of VP8.
func readIVF(b []byte) (*frames, error) {
	r, h, err := ivfreader.NewWith(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if string(h.FourCC[:]) != "VP80" {
		return nil, fmt.Errorf("IVF of %q: want VP80", h.FourCC[:])
	}
	f := &frames{width: h.Width, height: h.Height, every: 40 * time.Millisecond}
	if h.TimebaseDenominator > 0 && h.TimebaseNumerator > 0 {
		f.every = time.Second * time.Duration(h.TimebaseNumerator) / time.Duration(h.TimebaseDenominator)
	}
	for {
		p, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		f.data = append(f.data, p)
	}
	if len(f.data) == 0 || f.data[0][0]&1 != 0 { // the frame tag's inverse key-frame bit
		return nil, errors.New("IVF does not start with a VP8 key frame")
	}
	return f, nil
}

// run exposes the camera until ctx ends.
func run(ctx context.Context, cfg config, out io.Writer) error {
	b := pattern
	if cfg.IVF != "" {
		var err error
		if b, err = os.ReadFile(cfg.IVF); err != nil {
			return err
		}
	}
	rec, err := readIVF(b)
	if err != nil {
		return err
	}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "camera")
	if err != nil {
		return err
	}

	c, err := wot.Connect(ctx, wot.Options{URL: cfg.Broker, ClientID: cfg.Agent, Username: cfg.Username, Password: cfg.Password})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	desc := wot.NewThing(cfg.ThingID, "Camera").TD()
	desc.Extra = map[string]json.RawMessage{
		"wotmq:media": json.RawMessage(`{"video": {"direction": "send", "codecs": ["video/VP8"]}}`),
	}
	thing, err := c.Produce(desc)
	if err != nil {
		return err
	}
	restart := make(chan struct{}, 1)
	keyFrame := func() {
		select {
		case restart <- struct{}{}:
		default:
		}
	}
	// A viewer that lost the key frame (or never got it) asks for one;
	// the recording's only key frame is its first.
	opts := rtc.Options{Tracks: []webrtc.TrackLocal{track}, Loopback: cfg.Loopback,
		OnKeyFrameRequest: func(webrtc.TrackLocal) { keyFrame() }}
	if cfg.STUN != "" {
		opts.ICEServers = []webrtc.ICEServer{{URLs: []string{cfg.STUN}}}
	}
	l, err := rtc.Serve(thing, opts, func(ch *rtc.Channel) {
		fmt.Fprintf(out, "viewer %s opened a channel\n", ch.Peer())
		keyFrame() // a new viewer needs a key frame
		go func() { <-ch.Done(); fmt.Fprintf(out, "viewer %s closed its channel\n", ch.Peer()) }()
	})
	if err != nil {
		return err
	}
	defer l.Close()
	if err := thing.Expose(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "camera %s exposed: %d VP8 frames of %dx%d, %v each, in a loop\n", cfg.ThingID, len(rec.data), rec.width, rec.height, rec.every)

	// The track sends to every open session (and nowhere when none is).
	// A recording cannot make a key frame when a viewer asks for one, so
	// a new viewer, or one that asks (picture loss), starts the loop again
	// at its key frame: the others see a jump.
	tick := time.NewTicker(rec.every)
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(rec.data) {
		if err := track.WriteSample(media.Sample{Data: rec.data[i], Duration: rec.every}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-restart:
			i = -1
		case <-tick.C:
		}
	}
}

// Command screen is a screen twin: a wotmq agent that exposes a Thing
// announcing that it takes video ("wotmq:media", direction receive) and
// serves real-time channels with wot/rtc. A camera (camera.html beside
// this file: a browser tab's getUserMedia) opens a channel to it and sends
// its track peer to peer; the hub only relays the signalling. The screen
// does not decode: it counts the frames of every video track, prints the
// frames received each second, and reports them on its twin as the
// properties frames (in all) and fps (the last second's, all tracks).
//
//	go run ./examples/screen -broker mqtt://127.0.0.1:1883 -id urn:dev:ops:screen-1
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
	"github.com/wotmq/wotmq/wot/rtc"
)

// config is what the flags set.
type config struct {
	Broker   string        // hub URL: mqtt://, mqtts://, ws:// or wss://
	Username string        // MQTT credentials; none on a hub started with --dev
	Password string        //
	Agent    string        // MQTT client ID; the agent ID too unless Username is set
	ThingID  string        // the ID of the screen's Thing
	Loopback bool          // WebRTC on 127.0.0.1 (camera and screen on one machine without a network)
	STUN     string        // a STUN server for cameras behind NAT
	Every    time.Duration // how often to print and publish the counts (1 s when zero)
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", wot.DefaultURL, "hub URL (mqtt://, mqtts://, ws://, wss://)")
	flag.StringVar(&cfg.Username, "username", os.Getenv("WOTMQ_USERNAME"), "MQTT username (default $WOTMQ_USERNAME)")
	flag.StringVar(&cfg.Password, "password", os.Getenv("WOTMQ_PASSWORD"), "MQTT password or access token (default $WOTMQ_PASSWORD)")
	flag.StringVar(&cfg.Agent, "agent", "screen-agent", "MQTT client ID (the agent ID when there is no username)")
	flag.StringVar(&cfg.ThingID, "id", "urn:dev:ops:screen-1", "Thing ID of the screen")
	flag.BoolVar(&cfg.Loopback, "loopback", false, "offer WebRTC candidates on the loopback interface (camera on this machine, no network)")
	flag.StringVar(&cfg.STUN, "stun", "", "STUN server URL (none by default: fine on one machine or a LAN)")
	flag.DurationVar(&cfg.Every, "every", time.Second, "how often to print and publish the frame counts")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "screen:", err)
		os.Exit(1)
	}
}

// screenTD describes the screen: what it takes, and its counters.
func screenTD(id string) *td.Thing {
	desc := wot.NewThing(id, "Screen").
		Description("Takes a video track on a real-time channel and counts its frames (wotmq examples)").
		Property("frames", td.DataSchema{Type: td.TypeInteger, ReadOnly: true, Description: "video frames received in all"}).
		Property("fps", td.DataSchema{Type: td.TypeNumber, ReadOnly: true, Unit: "frames per second", Description: "frames received in the last report interval, all tracks"}).
		TD()
	desc.Extra = map[string]json.RawMessage{
		"wotmq:media": json.RawMessage(`{"video": {"direction": "receive", "codecs": ["video/VP8"]}}`),
	}
	return desc
}

// feed is one video track a peer sends, as the screen counts it.
type feed struct {
	peer, codec   string
	frames        int // frames ended so far
	reported      int // frames at the last report
	width, height int // of the last VP8 key frame
	ended         bool
}

// screen counts the frames of the tracks it gets; its methods may be
// called concurrently (OnTrack runs each track on its own goroutine).
type screen struct {
	mu    sync.Mutex
	feeds map[*feed]struct{}
	total int
}

// receive reads a track until its session ends, counting frames: a frame
// ends with the RTP packet whose marker bit is set (RFC 7741 for VP8; the
// same for VP9, H.264 and AV1). Frames are not decoded; the size comes
// from the VP8 key frames' headers.
func (s *screen) receive(t *rtc.Track) {
	f := &feed{peer: t.Peer, codec: t.Codec()}
	s.mu.Lock()
	s.feeds[f] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		f.ended = true
		s.mu.Unlock()
	}()
	vp8 := t.Codec() == webrtc.MimeTypeVP8
	for {
		p, _, err := t.Remote.ReadRTP()
		if err != nil {
			return
		}
		w, h := 0, 0
		if vp8 {
			w, h = vp8KeyFrameSize(p.Payload)
		}
		s.mu.Lock()
		if w > 0 {
			f.width, f.height = w, h
		}
		if p.Marker {
			f.frames++
			s.total++
		}
		s.mu.Unlock()
	}
}

// vp8KeyFrameSize is the picture size when an RTP payload starts a VP8 key
// frame (RFC 7741 section 4; RFC 6386 section 9.1), else 0, 0.
func vp8KeyFrameSize(payload []byte) (int, int) {
	var d codecs.VP8Packet
	b, err := d.Unmarshal(payload)
	if err != nil || d.S != 1 || d.PID != 0 || len(b) < 10 {
		return 0, 0
	}
	if b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a { // not a key frame
		return 0, 0
	}
	return int(binary.LittleEndian.Uint16(b[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(b[8:]) & 0x3fff)
}

// report prints each feed's frames since the last report and forgets the
// feeds that ended; it returns the frames in all and the rate of the
// last interval.
func (s *screen) report(out io.Writer, every time.Duration) (total int, fps float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	sum := 0
	for f := range s.feeds {
		n := f.frames - f.reported
		f.reported = f.frames
		sum += n
		rate := float64(n) / every.Seconds()
		switch {
		case f.ended:
			lines = append(lines, fmt.Sprintf("video from %s ended after %d frames", f.peer, f.frames))
			delete(s.feeds, f)
		case f.width > 0:
			lines = append(lines, fmt.Sprintf("%.1f frames/s from %s (%s %dx%d, %d frames)", rate, f.peer, f.codec, f.width, f.height, f.frames))
		default:
			lines = append(lines, fmt.Sprintf("%.1f frames/s from %s (%s, %d frames)", rate, f.peer, f.codec, f.frames))
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return s.total, float64(sum) / every.Seconds()
}

// run exposes the screen until ctx ends.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.Every <= 0 {
		cfg.Every = time.Second
	}
	c, err := wot.Connect(ctx, wot.Options{URL: cfg.Broker, ClientID: cfg.Agent, Username: cfg.Username, Password: cfg.Password})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	thing, err := c.Produce(screenTD(cfg.ThingID))
	if err != nil {
		return err
	}
	s := &screen{feeds: map[*feed]struct{}{}}
	opts := rtc.Options{Loopback: cfg.Loopback, OnTrack: func(t *rtc.Track) {
		if t.Kind() != "video" { // a screen without speakers: read and drop
			for {
				if _, _, err := t.Remote.ReadRTP(); err != nil {
					return
				}
			}
		}
		fmt.Fprintf(out, "video from %s: %s\n", t.Peer, t.Codec())
		s.receive(t)
	}}
	if cfg.STUN != "" {
		opts.ICEServers = []webrtc.ICEServer{{URLs: []string{cfg.STUN}}}
	}
	l, err := rtc.Serve(thing, opts, func(ch *rtc.Channel) {
		fmt.Fprintf(out, "camera %s opened a channel\n", ch.Peer())
	})
	if err != nil {
		return err
	}
	defer l.Close()
	if err := thing.Expose(ctx); err != nil {
		return err
	}
	if err := thing.UpdateProperties(ctx, map[string]any{"frames": 0, "fps": 0.0}); err != nil {
		return err
	}
	fmt.Fprintf(out, "screen %s exposed: open a channel with a video track (camera.html)\n", cfg.ThingID)

	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	published, publishedFPS := 0, 0.0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		total, fps := s.report(out, cfg.Every)
		if total == published && fps == publishedFPS {
			continue // nothing new: the twin already says so
		}
		published, publishedFPS = total, fps
		if err := thing.UpdateProperties(ctx, map[string]any{"frames": total, "fps": fps}); err != nil && ctx.Err() == nil {
			fmt.Fprintf(out, "publishing the counts: %v\n", err)
		}
	}
}

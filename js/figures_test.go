package js_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/wotmq/wotmq/wot"
	"github.com/wotmq/wotmq/wot/rtc"
)

// TestChannelFigures measures the figures of docs/channels.md, "Figures":
// channel setup through the hub and DataChannel round trips between
// headless Chromium and Go both ways, and media frame rate and latency
// both ways on loopback (test/browser/figures.html, one run a page). It
// is opt-in, as it takes about 12 s a run:
//
//	WOTMQ_FIGURES=5 go test -v -count=1 -run TestChannelFigures ./js
//
// Latency, Go camera -> browser <video>: Go notes when it writes each
// frame's first RTP packet (its RTP timestamp -> time.Now()); the page
// reports each frame's requestVideoFrameCallback metadata (rtpTimestamp,
// receiveTime, expectedDisplayTime) on its wall clock
// (performance.timeOrigin + the time), moved onto Go's clock by the
// offset measured over the DataChannel (error: half the shortest round
// trip).
//
// Latency, browser camera -> Go screen: Chrome's RTCP sender reports map
// the RTP timestamp to its NTP clock, on which the RTP timestamp of a frame
// is its capture time; Go notes when the last packet of each frame
// arrives. The error is the offset of Chrome's NTP clock from Go's, which
// is bounded by the reports themselves: a report cannot arrive before it
// was sent, so its arrival minus its NTP time (the smallest is printed) is
// the offset plus the report's transit time.
func TestChannelFigures(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("WOTMQ_FIGURES"))
	if runs <= 0 {
		t.Skip("opt-in: WOTMQ_FIGURES=5 go test -v -count=1 -run TestChannelFigures ./js (about 12 s a run)")
	}
	const seconds = 4 // of video each way, each run
	bin := chromium(t)
	h := startHub(t)
	agent := connect(t, h, "figures-agent")
	app := connect(t, h, "figures-app")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	expose := func(id string, opts rtc.Options, handler func(*rtc.Channel)) {
		thing, err := agent.Produce(wot.NewThing(id, id).TD())
		if err != nil {
			t.Fatal(err)
		}
		opts.Loopback = true
		opts.MaxSetupsPerMinute = -1
		l, err := rtc.Serve(thing, opts, handler)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		if err := thing.Expose(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// the echo, which also tells the time
	const echoID, cameraID, screenID = "urn:dev:figures:echo", "urn:dev:figures:camera", "urn:dev:figures:screen"
	expose(echoID, rtc.Options{}, func(ch *rtc.Channel) {
		ch.OnMessage(func(b []byte) {
			if string(b) == "clock" {
				_ = ch.SendJSON(time.Now().UnixMicro())
				return
			}
			_ = ch.Send(b)
		})
	})

	// the Go camera: examples/camera's recorded VP8 frames in a loop
	cam := newFiguresCamera(t)
	restart := make(chan struct{}, 1)
	expose(cameraID, rtc.Options{Tracks: []webrtc.TrackLocal{cam}}, func(*rtc.Channel) {
		select {
		case restart <- struct{}{}:
		default:
		}
	})
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() { defer close(fed); cam.feed(stop, restart) }()
	defer func() { close(stop); <-fed }()

	// the Go screen: frame arrival and Chrome's sender reports
	screenTracks := make(chan *figuresScreen, 1)
	screenSessions := make(chan *rtc.Channel, 1)
	expose(screenID, rtc.Options{OnTrack: func(tr *rtc.Track) {
		s := &figuresScreen{enough: make(chan struct{}), span: seconds * time.Second}
		screenTracks <- s
		s.read(tr)
	}}, func(ch *rtc.Channel) { screenSessions <- ch })

	srv := figuresPages(t)
	var pages []string
	for i := range runs {
		pages = append(pages, srv.URL+"/test/browser/figures.html?"+url.Values{
			"hub": {"ws://" + h.WSAddr()}, "echo": {echoID}, "camera": {cameraID}, "screen": {screenID},
			"tab": {fmt.Sprintf("urn:dev:figures:tab-%d", i)}, "seconds": {strconv.Itoa(seconds)},
		}.Encode())
	}
	// five pages to a browser, as runPages gives a browser 3 minutes
	goSide := make([]figuresGoRun, runs)
	var results []pageResult
	for b := 0; b < runs; b += 5 {
		e := min(b+5, runs)
		results = append(results, runFiguresPages(t, bin, app, b, pages[b:e], goSide[b:e], screenSessions, screenTracks)...)
	}

	var all figuresRuns
	for i, res := range results {
		if !res.OK {
			t.Fatalf("run %d: %s (steps %v)", i, res.Error, res.Steps)
		}
		var page figuresPage
		if err := json.Unmarshal(res.raw, &page); err != nil {
			t.Fatal(err)
		}
		all.add(t, i, page, goSide[i], cam)
	}
	all.report(t)
}

// runFiguresPages runs pages (runs first, first+1, ...) in one browser,
// the Go side of each (phases 2 and 4 of figures.html) beside it, into
// goSide.
func runFiguresPages(t *testing.T, bin string, app *wot.Client, first int, pages []string, goSide []figuresGoRun,
	screenSessions <-chan *rtc.Channel, screenTracks <-chan *figuresScreen) []pageResult {
	t.Helper()
	var goErr error
	results := runPages(t, bin, func(ctx context.Context) {
		for k := range goSide {
			i := first + k
			r := &goSide[k]
			for range 5 { // 2. Go opens channels to the page's Thing
				setup, rtts, err := openToBrowser(ctx, app, fmt.Sprintf("urn:dev:figures:tab-%d", i))
				if err != nil {
					goErr = fmt.Errorf("run %d: Go to the browser: %w", i, err)
					return
				}
				r.setup = append(r.setup, setup)
				r.rtt = append(r.rtt, rtts...)
			}
			var ch *rtc.Channel // 4. the page's camera to the Go screen
			var s *figuresScreen
			for ch == nil || s == nil {
				select {
				case ch = <-screenSessions:
				case s = <-screenTracks:
				case <-ctx.Done():
					goErr = fmt.Errorf("run %d: no camera on the screen: %w", i, ctx.Err())
					return
				}
			}
			select {
			case <-s.enough:
			case <-ctx.Done():
				goErr = fmt.Errorf("run %d: the screen got too few frames: %w", i, ctx.Err())
				return
			}
			ch.Close()
			r.screen = s
		}
	}, pages...)
	if goErr != nil {
		t.Fatal(goErr)
	}
	return results
}

// figuresPages serves js/ like servePages, cross-origin isolated, so that
// the page's clock has 5 µs steps instead of 100 µs.
func figuresPages(t *testing.T) *httptest.Server {
	t.Helper()
	files := http.FileServer(http.Dir("."))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// figuresCamera is a VP8 track that notes when each frame's first RTP
// packet is written: its RTP timestamp -> time.Now().
type figuresCamera struct {
	*webrtc.TrackLocalStaticSample
	frames [][]byte
	every  time.Duration

	mu   sync.Mutex
	sent map[uint32]time.Time
}

func newFiguresCamera(t *testing.T) *figuresCamera {
	t.Helper()
	b, err := os.ReadFile("../examples/camera/pattern.ivf")
	if err != nil {
		t.Fatal(err)
	}
	r, hdr, err := ivfreader.NewWith(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := &figuresCamera{sent: map[uint32]time.Time{}, every: time.Second * time.Duration(hdr.TimebaseNumerator) / time.Duration(hdr.TimebaseDenominator)}
	for {
		f, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c.frames = append(c.frames, f)
	}
	c.TrackLocalStaticSample, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "figures")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bind wraps the session's writer with one that notes the send times.
func (c *figuresCamera) Bind(tc webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	return c.TrackLocalStaticSample.Bind(figuresContext{tc, c})
}

type figuresContext struct {
	webrtc.TrackLocalContext
	cam *figuresCamera
}

func (f figuresContext) WriteStream() webrtc.TrackLocalWriter {
	return figuresWriter{f.TrackLocalContext.WriteStream(), f.cam}
}

type figuresWriter struct {
	webrtc.TrackLocalWriter
	cam *figuresCamera
}

func (w figuresWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.cam.mu.Lock()
	if _, ok := w.cam.sent[h.Timestamp]; !ok {
		w.cam.sent[h.Timestamp] = time.Now()
	}
	w.cam.mu.Unlock()
	return w.TrackLocalWriter.WriteRTP(h, payload)
}

// sentAt is when the frame of RTP timestamp ts was written.
func (c *figuresCamera) sentAt(ts uint32) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.sent[ts]
	return at, ok
}

// feed writes the frames in a loop at their pace, from the key frame
// again on restart (a new viewer needs one), until stop.
func (c *figuresCamera) feed(stop, restart <-chan struct{}) {
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(c.frames) {
		_ = c.WriteSample(media.Sample{Data: c.frames[i], Duration: c.every})
		select {
		case <-stop:
			return
		case <-restart:
			i = -1
		case <-tick.C:
		}
	}
}

// figuresScreen notes the arrival of each frame's last packet and
// Chrome's sender reports.
type figuresScreen struct {
	span   time.Duration // of frames, before enough closes
	enough chan struct{}

	mu      sync.Mutex
	frames  []figuresArrival
	reports []figuresReport
}

type figuresArrival struct {
	ts uint32
	at time.Time
}

type figuresReport struct {
	ntp time.Time // the sender's clock
	rtp uint32
	at  time.Time // Go's, on arrival
}

func (s *figuresScreen) read(tr *rtc.Track) {
	go func() {
		for {
			pkts, _, err := tr.Receiver.ReadRTCP()
			if err != nil {
				return
			}
			at := time.Now()
			for _, p := range pkts {
				if sr, ok := p.(*rtcp.SenderReport); ok {
					s.mu.Lock()
					s.reports = append(s.reports, figuresReport{ntp: ntpTime(sr.NTPTime), rtp: sr.RTPTime, at: at})
					s.mu.Unlock()
				}
			}
		}
	}()
	done := false
	for {
		p, _, err := tr.Remote.ReadRTP()
		if err != nil {
			return
		}
		if !p.Marker {
			continue
		}
		at := time.Now()
		s.mu.Lock()
		s.frames = append(s.frames, figuresArrival{ts: p.Timestamp, at: at})
		if !done && at.Sub(s.frames[0].at) >= s.span && len(s.reports) > 0 {
			done = true
			close(s.enough)
		}
		s.mu.Unlock()
	}
}

// ntpTime converts an RTCP NTP timestamp (seconds since 1900, 32.32 fixed
// point) to a time.
func ntpTime(ntp uint64) time.Time {
	const unixFrom1900 = 2208988800
	sec := int64(ntp>>32) - unixFrom1900
	frac := int64((ntp & 0xffffffff) * 1e9 >> 32)
	return time.Unix(sec, frac)
}

// latencies: each frame's arrival minus its capture on Chrome's clock,
// from the sender report nearest in time; and the smallest arrival minus
// NTP time of the reports (their transit plus the clocks' offset).
func (s *figuresScreen) latencies() (lat []float64, reportTransit float64, fps float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reportTransit = 1e9
	for _, r := range s.reports {
		reportTransit = min(reportTransit, ms(r.at.Sub(r.ntp)))
	}
	for _, f := range s.frames {
		best := s.reports[0]
		for _, r := range s.reports {
			if abs(r.at.Sub(f.at)) < abs(best.at.Sub(f.at)) {
				best = r
			}
		}
		capture := best.ntp.Add(time.Duration(int32(f.ts-best.rtp)) * time.Second / 90000)
		lat = append(lat, ms(f.at.Sub(capture)))
	}
	n := len(s.frames)
	fps = float64(n-1) / s.frames[n-1].at.Sub(s.frames[0].at).Seconds()
	return lat, reportTransit, fps
}

func abs(d time.Duration) time.Duration { return max(d, -d) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// figuresPage is what figures.html reports.
type figuresPage struct {
	Isolated bool `json:"isolated"`
	Clock    struct {
		OffsetMs float64 `json:"offsetMs"`
		RTTMs    float64 `json:"rttMs"`
	} `json:"clock"`
	ToGo struct {
		SetupMs []float64 `json:"setupMs"`
		RTTMs   float64   `json:"rttMs"`
	} `json:"toGo"`
	GoCamera struct {
		SetupMs      float64 `json:"setupMs"`
		FirstFrameMs float64 `json:"firstFrameMs"`
		Width        int     `json:"width"`
		Height       int     `json:"height"`
		FPS          float64 `json:"fps"`
		Inbound      struct {
			JitterBufferMs float64 `json:"jitterBufferMs"`
			DecodeMs       float64 `json:"decodeMs"`
			FramesDropped  int     `json:"framesDropped"`
		} `json:"inbound"`
		TimeOrigin float64 `json:"timeOrigin"`
		// [rtpTimestamp, receiveTime, expectedDisplayTime], ms after
		// TimeOrigin
		Frames [][3]*float64 `json:"frames"`
	} `json:"goCamera"`
	BrowserCamera struct {
		SetupMs   float64 `json:"setupMs"`
		Width     int     `json:"width"`
		Height    int     `json:"height"`
		FrameRate float64 `json:"frameRate"`
	} `json:"browserCamera"`
}

// figuresGoRun is what the Go side measured in one run.
type figuresGoRun struct {
	setup  []time.Duration
	rtt    []time.Duration
	screen *figuresScreen
}

// figuresRuns collects each run's medians, named as reported.
type figuresRuns struct {
	names []string
	runs  map[string][]float64
}

func (a *figuresRuns) put(name string, v float64) {
	if a.runs == nil {
		a.runs = map[string][]float64{}
	}
	if _, ok := a.runs[name]; !ok {
		a.names = append(a.names, name)
	}
	a.runs[name] = append(a.runs[name], v)
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func (a *figuresRuns) add(t *testing.T, i int, p figuresPage, g figuresGoRun, cam *figuresCamera) {
	t.Helper()
	if !p.Isolated {
		t.Errorf("run %d: the page is not cross-origin isolated: its clock has 100 µs steps", i)
	}
	a.put("browser opens, Go serves: first setup of the page ms", p.ToGo.SetupMs[0])
	a.put("browser opens, Go serves: setup ms", medianOf(p.ToGo.SetupMs))
	a.put("browser opens, Go serves: round trip ms", p.ToGo.RTTMs)
	var setups []float64
	for _, d := range g.setup {
		setups = append(setups, ms(d))
	}
	a.put("Go opens, browser serves: setup ms", medianOf(setups))
	a.put("Go opens, browser serves: round trip ms", ms(medianDuration(g.rtt)))
	a.put("clock offset browser->Go ms (±half round trip)", p.Clock.OffsetMs)
	a.put("clock exchange round trip ms", p.Clock.RTTMs)

	gc := p.GoCamera
	var toReceive, toDisplay []float64
	for _, f := range gc.Frames {
		if f[0] == nil || f[1] == nil || f[2] == nil {
			continue
		}
		sent, ok := cam.sentAt(uint32(*f[0]))
		if !ok {
			continue
		}
		goMs := float64(sent.UnixNano())/1e6 - p.Clock.OffsetMs - gc.TimeOrigin // on the page's clock
		toReceive = append(toReceive, *f[1]-goMs)
		toDisplay = append(toDisplay, *f[2]-goMs)
	}
	if gc.FPS < 10 {
		t.Logf("run %d: the video stalled (%.1f frames/s): a lost key frame, which the recorded loop sends again only after 4 s", i, gc.FPS)
	}
	if len(toDisplay) < len(gc.Frames)/2 {
		t.Errorf("run %d: only %d of %d frames matched a sent frame", i, len(toDisplay), len(gc.Frames))
	}
	a.put("Go camera -> <video>: setup ms", gc.SetupMs)
	a.put("Go camera -> <video>: first frame ms", gc.FirstFrameMs)
	a.put("Go camera -> <video>: frames/s", gc.FPS)
	a.put("Go camera -> <video>: latency to receiveTime ms", medianOf(toReceive))
	a.put("Go camera -> <video>: latency to expectedDisplayTime ms", medianOf(toDisplay))
	a.put("Go camera -> <video>: jitter buffer ms", gc.Inbound.JitterBufferMs)
	a.put("Go camera -> <video>: decode ms", gc.Inbound.DecodeMs)

	lat, transit, fps := g.screen.latencies()
	a.put("browser camera -> Go: setup ms", p.BrowserCamera.SetupMs)
	a.put("browser camera -> Go: frames/s", fps)
	a.put("browser camera -> Go: latency capture -> last packet ms", medianOf(lat))
	a.put("browser camera -> Go: sender report arrival - NTP ms (min)", transit)
	t.Logf("run %d: <video> %dx%d, %d frames timed; browser camera %dx%d at %.0f/s, %d frames, %d sender reports",
		i, gc.Width, gc.Height, len(toDisplay), p.BrowserCamera.Width, p.BrowserCamera.Height, p.BrowserCamera.FrameRate, len(lat), len(g.screen.reports))
}

func (a *figuresRuns) report(t *testing.T) {
	t.Helper()
	for _, n := range a.names {
		xs := a.runs[n]
		s := ""
		for _, x := range xs {
			s += fmt.Sprintf(" %.2f", x)
		}
		t.Logf("%-62s median %8.2f  runs:%s", n, medianOf(xs), s)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/wotmq/wotmq/examples/internal/testhub"
	"github.com/wotmq/wotmq/hub"
)

// screenBrowser returns the node binary, or skips the test when node,
// js's node modules (MQTT.js, playwright-core) or Debian's chromium is
// missing.
func screenBrowser(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: camera.html is not tested (install Node.js 18 or later)")
	}
	for _, m := range []string{"mqtt", "playwright-core"} {
		if _, err := os.Stat("../../js/node_modules/" + m + "/package.json"); err != nil {
			t.Skipf("js/node_modules has no %s: run make js-deps (npm ci --prefix js)", m)
		}
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s not found: the camera page's test needs Debian's chromium (make js-deps installs it as root: apt-get install -y chromium)", chromium)
	}
	return bin
}

func TestVP8KeyFrameSize(t *testing.T) {
	// descriptor: S=1, PID=0, no extensions; then a key frame's tag,
	// start code and 320x240 (the top two bits are the scale, ignored)
	key := []byte{0x10, 0x50, 0x2b, 0x01, 0x9d, 0x01, 0x2a, 0x40, 0x41, 0xf0, 0x00}
	if w, h := vp8KeyFrameSize(key); w != 320 || h != 240 {
		t.Errorf("key frame: %dx%d", w, h)
	}
	inter := bytes.Clone(key)
	inter[1] |= 1 // the inverse key-frame bit
	if w, h := vp8KeyFrameSize(inter); w != 0 || h != 0 {
		t.Errorf("inter frame: %dx%d", w, h)
	}
	cont := bytes.Clone(key)
	cont[0] = 0x00 // not the start of a partition
	for _, b := range [][]byte{cont, key[:6], nil} {
		if w, h := vp8KeyFrameSize(b); w != 0 || h != 0 {
			t.Errorf("% x: %dx%d", b, w, h)
		}
	}
}

// counted matches the screen's per-second lines and captures the frames
// in all.
var counted = regexp.MustCompile(`frames/s from screen-camera \(video/VP8 (\d+)x(\d+), (\d+) frames\)`)

// TestScreen starts a hub, the screen agent (run, in this process) and
// camera.html in headless Chromium with its fake camera
// (js/test/browser/run.mjs): the page streams to the screen through a
// channel the hub signalled, and watches the screen's twin count frames
// until the count rose by 40; the screen's printed totals must advance
// too, and the track end when the page says bye.
func TestScreen(t *testing.T) {
	bin := screenBrowser(t)
	h := testhub.Start(t, func(o *hub.Options) { o.WSAddr = "127.0.0.1:0" })
	const thingID = "urn:dev:test:screen"
	out := testhub.NewOutput()
	cfg := config{Broker: testhub.URL(h), Agent: "screen-test-agent", ThingID: thingID, Loopback: true, Every: 250 * time.Millisecond}
	testhub.Run(t, func(ctx context.Context) error { return run(ctx, cfg, out) })
	out.WaitFor(t, "screen "+thingID+" exposed")

	srv := httptest.NewServer(http.FileServer(http.Dir("../.."))) // the page imports ../../js/
	defer srv.Close()
	page := srv.URL + "/examples/screen/camera.html?" + url.Values{"hub": {"ws://" + h.WSAddr()}, "thing": {thingID}, "until": {"40"}}.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "../../js/test/browser/run.mjs", page)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("chromium:\n%s", stderr.String())
	}
	var res struct {
		OK      bool            `json:"ok"`
		Error   string          `json:"error"`
		Counts  []int           `json:"counts"`
		SetupMs float64         `json:"setupMs"`
		Media   json.RawMessage `json:"media"`
		Camera  struct {
			Width, Height int
		} `json:"camera"`
	}
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); jerr != nil || err != nil || !res.OK {
		t.Fatalf("camera page: %v; %v; %s", err, jerr, stdout.String())
	}
	if n := len(res.Counts); n < 2 || res.Counts[n-1]-res.Counts[0] < 40 {
		t.Errorf("the screen's twin said %v frames", res.Counts)
	}
	if string(res.Media) != `{"video":{"direction":"receive","codecs":["video/VP8"]}}` {
		t.Errorf("the TD's wotmq:media: %s", res.Media)
	}
	out.WaitFor(t, "camera screen-camera opened a channel", "video from screen-camera: video/VP8", "video from screen-camera ended after")

	// the screen's own lines: the size of the camera's frames, and totals
	// that advance
	var totals []int
	for _, m := range counted.FindAllStringSubmatch(out.String(), -1) {
		if m[1] != strconv.Itoa(res.Camera.Width) || m[2] != strconv.Itoa(res.Camera.Height) {
			t.Errorf("the screen saw %sx%s, the camera is %dx%d", m[1], m[2], res.Camera.Width, res.Camera.Height)
		}
		n, _ := strconv.Atoi(m[3])
		totals = append(totals, n)
	}
	if len(totals) < 2 || totals[len(totals)-1] <= totals[0] {
		t.Errorf("the screen's totals %v do not advance:\n%s", totals, out.String())
	}
	t.Logf("camera.html -> screen: %dx%d, channel set up in %.0f ms; the screen's totals %v", res.Camera.Width, res.Camera.Height, res.SetupMs, totals)
}

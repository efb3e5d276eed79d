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
	"testing"
	"time"

	"github.com/wotmq/wotmq/examples/internal/testhub"
	"github.com/wotmq/wotmq/hub"
)

// browser returns the node binary, or skips the test when node, js's
// node modules (MQTT.js, playwright-core) or Debian's chromium is missing.
func browser(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the camera viewer is not tested (install Node.js 18 or later)")
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
		t.Skipf("%s not found: the viewer test needs Debian's chromium (make js-deps installs it as root: apt-get install -y chromium)", chromium)
	}
	return bin
}

func TestPattern(t *testing.T) {
	f, err := readIVF(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.data) != 100 || f.width != 320 || f.height != 240 || f.every != 40*time.Millisecond {
		t.Errorf("pattern.ivf: %d frames of %dx%d, %v each", len(f.data), f.width, f.height, f.every)
	}
}

// TestViewer starts a hub, the camera agent (run, in this process) and
// viewer.html in headless Chromium (js/test/browser/run.mjs), which opens a
// channel to the camera through the hub; the page reports once its
// <video> has a size, that is once a frame was decoded.
func TestViewer(t *testing.T) {
	bin := browser(t)
	h := testhub.Start(t, func(o *hub.Options) { o.WSAddr = "127.0.0.1:0" })
	const thingID = "urn:dev:test:camera"
	out := testhub.NewOutput()
	cfg := config{Broker: testhub.URL(h), Agent: "camera-test-agent", ThingID: thingID, Loopback: true}
	testhub.Run(t, func(ctx context.Context) error { return run(ctx, cfg, out) })
	out.WaitFor(t, "camera "+thingID+" exposed")

	srv := httptest.NewServer(http.FileServer(http.Dir("../.."))) // the page imports ../../js/
	defer srv.Close()
	page := srv.URL + "/examples/camera/viewer.html?" + url.Values{"hub": {"ws://" + h.WSAddr()}, "thing": {thingID}}.Encode()
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
		OK           bool            `json:"ok"`
		Error        string          `json:"error"`
		Width        int             `json:"width"`
		Height       int             `json:"height"`
		FirstFrameMs float64         `json:"firstFrameMs"`
		Media        json.RawMessage `json:"media"`
	}
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); jerr != nil || err != nil || !res.OK {
		t.Fatalf("viewer page: %v; %v; %s", err, jerr, stdout.String())
	}
	if res.Width != 320 || res.Height != 240 || len(res.Media) == 0 {
		t.Errorf("video %dx%d, the TD's wotmq:media %s", res.Width, res.Height, res.Media)
	}
	t.Logf("camera -> viewer.html: %dx%d, first frame %.0f ms after the channel was asked for", res.Width, res.Height, res.FirstFrameMs)
	out.WaitFor(t, "opened a channel")
}

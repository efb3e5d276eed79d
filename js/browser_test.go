package js_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// chromium returns the node binary, or skips the test when node,
// playwright-core or Debian's chromium is missing.
func chromium(t *testing.T) string {
	t.Helper()
	bin := node(t)
	if _, err := os.Stat("node_modules/playwright-core/package.json"); err != nil {
		t.Skip("js/node_modules has no playwright-core: run make js-deps (npm ci --prefix js)")
	}
	browser := os.Getenv("CHROMIUM")
	if browser == "" {
		browser = "/usr/bin/chromium"
	}
	if _, err := os.Stat(browser); err != nil {
		t.Skipf("%s not found: the browser tests need Debian's chromium (make js-deps installs it as root: apt-get install -y chromium)", browser)
	}
	return bin
}

// pageResult is what test/browser/run.mjs prints for a page.
type pageResult struct {
	URL     string          `json:"url"`
	OK      bool            `json:"ok"`
	Error   string          `json:"error"`
	Ms      float64         `json:"ms"`
	Steps   []string        `json:"steps"`
	Partial json.RawMessage `json:"partial"`
	raw     []byte
}

// servePages serves js/ (the client's modules, MQTT.js's browser build and
// the test pages) on 127.0.0.1.
func servePages(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(".")))
	t.Cleanup(srv.Close)
	return srv
}

// runPages loads pages in headless Chromium (test/browser/run.mjs) and
// returns their results. during runs beside the pages, with a context that
// ends when they did.
func runPages(t *testing.T, bin string, during func(context.Context), pages ...string) []pageResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"test/browser/run.mjs"}, pages...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithCancel(ctx)
	defer dcancel()
	duringDone := make(chan struct{})
	go func() {
		defer close(duringDone)
		if during != nil {
			during(dctx)
		}
	}()
	err := cmd.Wait()
	dcancel()
	<-duringDone
	if stderr.Len() > 0 {
		t.Logf("chromium:\n%s", stderr.String())
	}
	var out []pageResult
	for _, line := range bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) {
		var r pageResult
		if json.Unmarshal(line, &r) != nil {
			t.Logf("run.mjs: %s", line)
			continue
		}
		r.raw = line
		out = append(out, r)
	}
	if len(out) != len(pages) {
		t.Fatalf("run.mjs: %v; %d of %d pages reported:\n%s", err, len(out), len(pages), stdout.String())
	}
	if err != nil {
		t.Errorf("run.mjs: %v; %d of %d pages reported:\n%s", err, len(out), len(pages), stdout.String())
	}
	for _, r := range out {
		t.Logf("page %s: %s", r.URL, r.raw)
	}
	return out
}

// TestBrowser: a page in headless Chromium uses the client over the hub's
// WebSocket listener: it invokes an action of a Go agent's Thing and gets
// its event, then exposes a Thing of its own whose action the Go SDK
// invokes.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	h := startHub(t)
	agent := connect(t, h, "go-agent")
	const lampID, tabID = "urn:dev:go:browser-lamp", "urn:dev:browser:tab"
	exposeDoubler(t, agent, lampID)
	app := connect(t, h, "go-app")
	srv := servePages(t)

	page := srv.URL + "/test/browser/roundtrip.html?" + url.Values{
		"hub": {"ws://" + h.WSAddr()}, "thing": {lampID}, "tab": {tabID},
	}.Encode()
	var greeting string
	var greetErr error
	res := runPages(t, bin, func(ctx context.Context) {
		tab, err := waitThing(ctx, app, tabID)
		if err != nil {
			greetErr = err
			return
		}
		greetErr = tab.InvokeAction(ctx, "greet", "Go", &greeting)
	}, page)[0]
	if !res.OK {
		t.Fatalf("the page failed: %s (steps %v)", res.Error, res.Steps)
	}
	var got struct {
		Output   int      `json:"output"`
		Statuses []string `json:"statuses"`
		Event    struct {
			Data   int    `json:"data"`
			Sender string `json:"sender"`
		} `json:"event"`
		GreetedBy string  `json:"greetedBy"`
		InvokeMs  float64 `json:"invokeMs"`
	}
	if err := json.Unmarshal(res.raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Output != 42 || strings.Join(got.Statuses, " ") != "delivered running completed" {
		t.Errorf("double: output %d, statuses %v", got.Output, got.Statuses)
	}
	if got.Event.Data != 21 || got.Event.Sender != "go-agent" {
		t.Errorf("event %+v", got.Event)
	}
	if greetErr != nil || greeting != "hello Go, from Chromium" {
		t.Errorf("greet the browser: %q, %v", greeting, greetErr)
	}
	if got.GreetedBy != "go-app" {
		t.Errorf("the browser's twin was greeted by %q", got.GreetedBy)
	}
	t.Logf("browser round trip: invokeAction through the hub %.1f ms", got.InvokeMs)
}

// exposeDoubler exposes a Go Thing whose action double reports progress,
// publishes the event pinged with its input and returns twice it.
func exposeDoubler(t *testing.T, c *wot.Client, id string) *wot.ExposedThing {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	thing, err := c.Produce(wot.NewThing(id, "Doubler").
		Event("pinged", &td.DataSchema{Type: td.TypeInteger}).
		Action("double", &td.DataSchema{Type: td.TypeInteger}, &td.DataSchema{Type: td.TypeInteger}).
		TD())
	if err != nil {
		t.Fatal(err)
	}
	thing.HandleAction("double", wot.ActionFunc(func(ctx context.Context, n int) (int, error) {
		if err := wot.RequestFromContext(ctx).Progress(ctx, nil); err != nil {
			return 0, err
		}
		return 2 * n, thing.PublishEvent(ctx, "pinged", n)
	}))
	if err := thing.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	return thing
}

// waitThing waits until the hub knows a Thing and returns it.
func waitThing(ctx context.Context, c *wot.Client, id string) (*wot.ConsumedThing, error) {
	found := make(chan struct{}, 1)
	sub, err := c.WatchThings(ctx, func(tid string, t *td.Thing) {
		if tid == id && t != nil {
			select {
			case found <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		return nil, err
	}
	defer sub.Stop(context.Background())
	select {
	case <-found:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.Thing(ctx, id)
}

package explorer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
	"github.com/wotmq/wotmq/wot"
)

const (
	explorerAdminPW  = "explorer-admin-pw"
	explorerViewerPW = "explorer-viewer-pw"
	explorerAgentPW  = "explorer-agent-pw"
	explorerLamp     = "urn:dev:test:lamp"
)

// explorerChromium returns the node binary, or skips the test when node,
// playwright-core (js/node_modules) or Debian's chromium is missing: make
// js-deps installs them (make test runs it).
func explorerChromium(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the explorer's browser tests need Node.js 18 or later and make js-deps")
	}
	if _, err := os.Stat("../js/node_modules/playwright-core/package.json"); err != nil {
		t.Skip("js/node_modules has no playwright-core: run make js-deps (npm ci --prefix js; make test does)")
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

// startExplorerHub starts a hub with accounts (admin, the viewer vera and
// the agent lamp-agent) and the explorer on its HTTP listener.
func startExplorerHub(t *testing.T, opts ...func(*hub.Options)) *hub.Hub {
	t.Helper()
	h := hubtest.Start(t, append([]func(*hub.Options){func(o *hub.Options) {
		o.Dev = false
		o.AdminPassword = explorerAdminPW
		o.HTTPAddr = "127.0.0.1:0"
		o.Explorer = true
		o.PasswordCost = 4 // bcrypt's least: sign-ins are many here
	}}, opts...)...)
	ctx := context.Background()
	for _, a := range []struct {
		id, pw string
		role   authz.Role
	}{{"vera", explorerViewerPW, authz.RoleViewer}, {"lamp-agent", explorerAgentPW, authz.RoleAgent}} {
		if err := h.Accounts().Add(ctx, a.id, a.role, "", a.pw); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// explorerLampTD is the test Thing: a dimmable lamp with a read-only
// level whose history the chart draws.
func explorerLampTD() *td.Thing {
	t := wot.NewThing(explorerLamp, "Lamp").
		Property("brightness", td.DataSchema{Type: td.TypeInteger, Minimum: ptr(0.0), Maximum: ptr(100.0)}).
		Property("level", td.DataSchema{Type: td.TypeNumber, ReadOnly: true, Unit: "volt"}).
		Property("mode", td.DataSchema{Type: td.TypeString, Enum: []any{"eco", "bright"}}).
		Event("overheating", &td.DataSchema{Type: td.TypeNumber}).
		Action("fade", &td.DataSchema{Type: td.TypeObject, Properties: map[string]*td.DataSchema{
			"to": {Type: td.TypeInteger}, "seconds": {Type: td.TypeNumber}}, Required: []string{"to"}},
			&td.DataSchema{Type: td.TypeInteger}).
		TD()
	t.Type = td.Strings{"Light"}
	return t
}

func ptr[T any](v T) *T { return &v }

// explorerControl is what the browser script asks of the Go side.
type explorerControl struct {
	t   *testing.T
	h   *hub.Hub
	mu  sync.Mutex
	cl  *wot.Client
	lmp *wot.ExposedThing
}

func (c *explorerControl) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), hubtest.Timeout)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	out, err := c.do(ctx, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (c *explorerControl) do(ctx context.Context, r *http.Request) (any, error) {
	switch r.URL.Path {
	case "/register":
		c.cl = hubtest.Connect(c.t, hubtest.URL(c.h), "lamp-agent", func(o *wot.Options) {
			o.Username, o.Password = "lamp-agent", explorerAgentPW
		})
		thing, err := c.cl.Produce(explorerLampTD())
		if err != nil {
			return nil, err
		}
		thing.HandleWrite("brightness", func(ctx context.Context, req *wot.Request) (any, error) { return nil, nil })
		thing.HandleAction("fade", wot.ActionFunc(func(ctx context.Context, in struct {
			To int `json:"to"`
		}) (int, error) {
			if err := wot.RequestFromContext(ctx).Progress(ctx, nil); err != nil {
				return 0, err
			}
			return in.To, nil
		}))
		c.lmp = thing
		return nil, thing.Expose(ctx)
	case "/set":
		v, err := strconv.Atoi(r.URL.Query().Get("value"))
		if err != nil {
			return nil, err
		}
		return nil, c.lmp.UpdateProperty(ctx, "brightness", v)
	case "/event":
		v, err := strconv.ParseFloat(r.URL.Query().Get("value"), 64)
		if err != nil {
			return nil, err
		}
		return nil, c.lmp.PublishEvent(ctx, "overheating", v)
	case "/history":
		return c.storeHistory(ctx)
	case "/offline":
		return nil, c.cl.Close(ctx)
	}
	return nil, fmt.Errorf("no control %s", r.URL.Path)
}

// storeHistory reports twelve known values of level and answers them with
// the times the hub stamped them (read back from the history API).
func (c *explorerControl) storeHistory(ctx context.Context) (any, error) {
	values := []string{"1.5", "3", "2.25", "2.8", "3.6", "3.1", "2.4", "2.9", "3.8", "3.3", "2.7", "3.05"}
	for _, v := range values {
		f, _ := strconv.ParseFloat(v, 64)
		if err := c.lmp.UpdateProperty(ctx, "level", f); err != nil {
			return nil, err
		}
	}
	var page wire.HistoryPage
	hubtest.WaitFor(c.t, "three values of level in the history", func() bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hubtest.HTTPURL(c.h)+"/things/"+explorerLamp+"/properties/level/history", nil)
		req.SetBasicAuth("admin", explorerAdminPW)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		page = wire.HistoryPage{}
		return json.NewDecoder(res.Body).Decode(&page) == nil && len(page.Items) == len(values)
	})
	var times []string
	for i, it := range page.Items {
		if string(it.Value) != values[i] {
			return nil, fmt.Errorf("history item %d: %s, want %s", i, it.Value, values[i])
		}
		times = append(times, it.Time.UTC().Format(time.RFC3339Nano))
	}
	first, last := page.Items[0].Time, page.Items[len(page.Items)-1].Time
	margin := max(last.Sub(first)/20, time.Millisecond)
	return map[string]any{
		"values": values, "times": times, "min": "1.5", "max": "3.8",
		"before": first.Add(-time.Nanosecond).UTC().Format(time.RFC3339Nano),
		"from":   first.Add(-margin).UTC().Format(time.RFC3339Nano),
		"to":     last.Add(margin).UTC().Format(time.RFC3339Nano),
	}, nil
}

// TestExplorerInBrowser drives the explorer in headless Chromium
// (testdata/browser.mjs): sign in, a Thing a Go agent registers appears
// live, a value changes live, a write and an invocation end completed, a
// bad value is refused with the hub's reason, the chart and time travel
// show the stored values, the agents page cancels a waiting request, an
// admin issues a token, a viewer sees no controls and is refused anyway.
// WOTMQ_UPDATE_SCREENSHOTS=1 saves the screenshots in docs/explorer/.
func TestExplorerInBrowser(t *testing.T) {
	bin := explorerChromium(t)
	h := startExplorerHub(t)
	ctl := &explorerControl{t: t, h: h}
	srv := httptest.NewServer(ctl)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "testdata/browser.mjs", hubtest.HTTPURL(h), srv.URL)
	cmd.Env = append(os.Environ(), "ADMIN_PASSWORD="+explorerAdminPW, "VIEWER_PASSWORD="+explorerViewerPW)
	if os.Getenv("WOTMQ_UPDATE_SCREENSHOTS") == "1" {
		dir, err := filepath.Abs("../docs/explorer")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "SHOTS="+dir)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("chromium:\n%s", stderr.String())
	}
	steps := map[string]bool{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r struct {
			Step  string `json:"step"`
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			t.Logf("browser.mjs: %s", sc.Text())
			continue
		}
		t.Logf("step %s", sc.Text())
		if !r.OK {
			t.Errorf("step %s failed: %s", r.Step, r.Error)
		}
		steps[r.Step] = r.OK
	}
	if err != nil {
		t.Errorf("browser.mjs: %v", err)
	}
	for _, want := range []string{"SignIn", "ThingAppearsLive", "PropertyChangesLive", "WritePropertyCompletes", "InvokeActionCompletes",
		"RefusalShown", "HistoryChart", "TimeTravel", "AgentsAndQueues", "ViewerSeesNoControls", "SignOut"} {
		if !steps[want] {
			t.Errorf("step %s did not pass", want)
		}
	}
	if strings.Contains(stdout.String(), `"cookieInURL":true`) {
		t.Error("a token appeared in a page URL")
	}
}

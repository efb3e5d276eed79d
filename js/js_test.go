package js_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// goThing is the Thing a Go agent exposes to the Node tests
// (test/interop.test.js), which find it in WOTMQ_GO_THING.
const goThing = "urn:dev:go:counter"

// TestNode runs the client's Node tests (node --test test/) against a hub
// started here, with a Go agent for the JavaScript-to-Go checks.
func TestNode(t *testing.T) {
	bin := node(t)
	h := startHub(t)
	exposeCounter(t, connect(t, h, "go-agent"))

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	files, err := filepath.Glob("test/*.test.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test/*.test.js: %v", err)
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--test", "--test-reporter=spec", "--test-timeout=60000"}, files...)...)
	cmd.Env = append(os.Environ(), "WOTMQ_WS_URL=ws://"+h.WSAddr(), "WOTMQ_GO_THING="+goThing, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	t.Logf("node --test test/:\n%s", out)
	if err != nil {
		t.Fatalf("node --test: %v", err)
	}
}

// exposeCounter exposes the Go Thing the Node tests use: add adds its
// input to a counter (reporting progress first) and returns the sum,
// publishing the event added; the property count is the sum.
func exposeCounter(t *testing.T, c *wot.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	thing, err := c.Produce(wot.NewThing(goThing, "Go counter").
		Property("count", td.DataSchema{Type: td.TypeInteger}).
		Event("added", &td.DataSchema{Type: td.TypeInteger}).
		Action("add", &td.DataSchema{Type: td.TypeInteger}, &td.DataSchema{Type: td.TypeInteger}).
		TD())
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	thing.HandleAction("add", wot.ActionFunc(func(ctx context.Context, n int) (int, error) {
		if err := wot.RequestFromContext(ctx).Progress(ctx, map[string]int{"adding": n}); err != nil {
			return 0, err
		}
		count += n
		if err := thing.UpdateProperty(ctx, "count", count); err != nil {
			return 0, err
		}
		return count, thing.PublishEvent(ctx, "added", n)
	}))
	if err := thing.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	if err := thing.UpdateProperty(ctx, "count", 0); err != nil {
		t.Fatal(err)
	}
}

// TestGoConsumer runs a JavaScript agent (test/agent.mjs) and uses its
// Thing from the Go SDK: an action with progress, a property write, an
// event, and a failure with the agent's code.
func TestGoConsumer(t *testing.T) {
	bin := node(t)
	h := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "test/agent.mjs", "ws://"+h.WSAddr())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("agent.mjs stderr:\n%s", stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "ready ") {
		t.Fatalf("agent.mjs did not get ready: %q %v\n%s", lines.Text(), lines.Err(), stderr.String())
	}
	thingID := strings.TrimPrefix(lines.Text(), "ready ")

	app := connect(t, h, "go-app")
	thing, err := app.Thing(ctx, thingID)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan wot.Message, 4)
	if _, err := thing.SubscribeEvent(ctx, "greeted", func(m wot.Message) { events <- m }); err != nil {
		t.Fatal(err)
	}

	inv, err := thing.InvokeActionAsync(ctx, "greet", "Go")
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	var progress json.RawMessage
	for u := range inv.Updates() {
		statuses = append(statuses, string(u.Status))
		if u.Status == wot.StatusRunning {
			progress = u.Payload
		}
	}
	var out string
	if err := inv.Wait(ctx, &out); err != nil || out != "hello, Go" {
		t.Fatalf("greet: %q, %v", out, err)
	}
	if strings.Join(statuses, " ") != "delivered running completed" || string(progress) != `{"step":1}` {
		t.Errorf("statuses %v, progress %s", statuses, progress)
	}
	select {
	case m := <-events:
		if string(m.Payload) != `"Go"` || m.Sender != "js-agent" {
			t.Errorf("event %s from %s", m.Payload, m.Sender)
		}
	case <-time.After(wait):
		t.Error("no greeted event")
	}

	if err := thing.WriteProperty(ctx, "greeting", "hi"); err != nil {
		t.Fatal(err)
	}
	var greeting string
	if err := thing.ReadProperty(ctx, "greeting", &greeting); err != nil || greeting != "hi" {
		t.Errorf("greeting %q, %v", greeting, err)
	}
	if err := thing.InvokeAction(ctx, "greet", "", &out); !errors.Is(err, wot.ErrInvalidInput) {
		t.Errorf("greet nobody: %v, want the agent's invalid_payload", err)
	} else if code, ok := errorCode(err); !ok || code != wot.CodeInvalidPayload {
		t.Errorf("greet nobody: code %q", code)
	}
}

func errorCode(err error) (wot.Code, bool) {
	var we *wot.Error
	if errors.As(err, &we) {
		return we.Code, true
	}
	return "", false
}

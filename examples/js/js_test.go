package js_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/examples/internal/testhub"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

const thingID = "urn:dev:js-test:lamp"

// node returns the node binary, or skips the test when node or MQTT.js is
// missing.
func node(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the JavaScript example is not tested (install Node.js 18 or later)")
	}
	if _, err := os.Stat("node_modules/mqtt/package.json"); err != nil {
		t.Skip("examples/js/node_modules has no mqtt: run npm ci --prefix examples/js (make test does)")
	}
	return bin
}

// TestConsumer runs consumer.mjs over WebSocket against an in-process hub
// and a Go agent whose lamp answers toggle, and checks what it printed.
func TestConsumer(t *testing.T) {
	bin := node(t)
	h := testhub.Start(t, func(o *hub.Options) { o.WSAddr = "127.0.0.1:0" })

	ctx, cancel := context.WithTimeout(context.Background(), testhub.Wait)
	defer cancel()
	agent := testhub.Connect(t, h, "js-test-agent")
	lamp, err := agent.Produce(wot.NewThing(thingID, "JS test lamp").
		Property("on", td.DataSchema{Type: td.TypeBoolean}).
		Event("overheating", &td.DataSchema{Type: td.TypeNumber}).
		Action("toggle", nil, &td.DataSchema{Type: td.TypeBoolean}).
		TD())
	if err != nil {
		t.Fatal(err)
	}
	senders := make(chan string, 1)
	lamp.HandleAction("toggle", func(ctx context.Context, req *wot.Request) (any, error) {
		senders <- req.Sender
		return true, lamp.UpdateProperty(ctx, "on", true)
	})
	if err := lamp.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lamp.UpdateProperty(ctx, "on", false); err != nil {
		t.Fatal(err)
	}

	// Node starts slowly on a busy machine: a budget of its own.
	nctx, ncancel := context.WithTimeout(context.Background(), 2*testhub.Wait)
	defer ncancel()
	cmd := exec.CommandContext(nctx, bin, "consumer.mjs", "ws://"+h.WSAddr(), thingID, "0")
	cmd.Env = append(os.Environ(), "WOTMQ_USERNAME=js-app", "WOTMQ_PASSWORD=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("consumer.mjs printed:\n%s", out)
	if err != nil {
		t.Fatalf("node consumer.mjs: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		`discovered ` + thingID + ` "JS test lamp"`,
		"subscribed to event overheating on things/" + thingID + "/events/overheating",
		"property on = false",
		"invoked toggle on things/" + thingID + "/actions/toggle, replies on replies/js-app/js-app-",
		"toggle: completed, output true",
		"done",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("consumer.mjs did not print %q", want)
		}
	}
	select {
	case s := <-senders:
		if s != "js-app" {
			t.Errorf("toggle sender %q, want js-app", s)
		}
	default:
		t.Error("the agent got no toggle")
	}
}

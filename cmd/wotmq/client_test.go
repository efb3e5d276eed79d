package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// clientHub starts a development hub with a lamp Thing exposed by an SDK
// agent, and returns the --broker flag for the verbs and the lamp.
func clientHub(t *testing.T) ([]string, *wot.ExposedThing) {
	t.Helper()
	m := &Main{LogOutput: io.Discard, LogFormat: "json", LogLevel: "error", Stdout: io.Discard}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.DataDir = "127.0.0.1:0", "off", t.TempDir()
	m.Options.TLSAddr, m.Options.WSSAddr, m.Options.Dev = "off", "off", true
	m.Options.HTTPAddr = "off"
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	agent, err := wot.Connect(ctx, wot.Options{URL: m.Hub.MQTTAddr(), ClientID: "lamp-agent"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close(context.Background()) })
	pct := td.DataSchema{Type: td.TypeInteger}
	lamp, err := agent.Produce(wot.NewThing("urn:lamp", "Lamp").
		Property("brightness", pct).
		Property("label", td.DataSchema{Type: td.TypeString}).
		Event("overheating", &td.DataSchema{Type: td.TypeNumber}).
		Action("fade", &pct, &pct).
		TD())
	if err != nil {
		t.Fatal(err)
	}
	lamp.HandleAction("fade", wot.ActionFunc(func(ctx context.Context, to int) (int, error) {
		if to < 0 {
			return 0, wot.Errorf(wot.CodeAgentError, "cannot fade below zero")
		}
		if err := wot.RequestFromContext(ctx).Progress(ctx, to/2); err != nil {
			return 0, err
		}
		return to, nil
	}))
	accept := func(ctx context.Context, req *wot.Request) (any, error) { return nil, nil }
	lamp.HandleWrite("brightness", accept)
	lamp.HandleWrite("label", accept)
	if err := lamp.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lamp.UpdateProperty(ctx, "brightness", 50); err != nil {
		t.Fatal(err)
	}
	return []string{"--broker", m.Hub.MQTTAddr()}, lamp
}

// verb runs a client verb through run, as the command line does.
func verb(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := run(ctx, args, &out, &errb)
	return out.String() + errb.String(), err
}

func TestClientVerbs(t *testing.T) {
	hub, lamp := clientHub(t)
	with := func(args ...string) []string { return append(args, hub...) }

	t.Run("Things", func(t *testing.T) {
		out, err := verb(t, with("things")...)
		if err != nil || !strings.Contains(out, "urn:lamp") || !strings.Contains(out, "brightness,label") {
			t.Fatalf("%v\n%s", err, out)
		}
		out, err = verb(t, with("things", "--json")...)
		var thing td.Thing
		if err != nil || json.Unmarshal([]byte(out), &thing) != nil || thing.ID != "urn:lamp" {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	t.Run("TD", func(t *testing.T) {
		out, err := verb(t, with("td", "urn:lamp")...)
		if err != nil || !strings.Contains(out, `"mqv:topic": "things/urn:lamp/actions/fade"`) {
			t.Fatalf("%v\n%s", err, out)
		}
		if _, err := verb(t, with("td", "urn:nope")...); !errors.Is(err, wot.ErrNotFound) {
			t.Fatalf("unknown Thing: %v", err)
		}
	})
	t.Run("Read", func(t *testing.T) {
		if out, err := verb(t, with("read", "urn:lamp", "brightness")...); err != nil || out != "50\n" {
			t.Fatalf("%v\n%q", err, out)
		}
		if out, err := verb(t, with("read", "urn:lamp", "--json")...); err != nil || out != `{"brightness":50}`+"\n" {
			t.Fatalf("%v\n%q", err, out)
		}
		if _, err := verb(t, with("read", "urn:lamp", "label")...); !errors.Is(err, wot.ErrNoValue) {
			t.Fatalf("no value: %v", err)
		}
	})
	t.Run("Write", func(t *testing.T) {
		if out, err := verb(t, with("write", "urn:lamp", "label", "Living room")...); err != nil || !strings.Contains(out, `"Living room"`) {
			t.Fatalf("%v\n%s", err, out)
		}
		if out, err := verb(t, with("read", "urn:lamp", "label", "--json")...); err != nil || out != `"Living room"`+"\n" {
			t.Fatalf("%v\n%q", err, out)
		}
		if _, err := verb(t, with("write", "urn:lamp", "brightness", "loud")...); !errors.Is(err, wot.ErrInvalidInput) {
			t.Fatalf("bad value: %v", err)
		}
	})
	t.Run("Invoke", func(t *testing.T) {
		out, err := verb(t, with("invoke", "urn:lamp", "fade", "30")...)
		if err != nil || !strings.Contains(out, "delivered") || !strings.Contains(out, "running  15") || !strings.HasSuffix(out, "completed\n30\n") {
			t.Fatalf("%v\n%s", err, out)
		}
		out, err = verb(t, with("invoke", "urn:lamp", "fade", "-4", "--json")...)
		if !errors.Is(err, wot.ErrAgent) || !strings.Contains(out, `"status":"failed"`) || !strings.Contains(out, `"code":"agent_error"`) {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	t.Run("History", func(t *testing.T) {
		out, err := verb(t, with("history", "urn:lamp", "brightness", "--from", "1h")...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || len(lines) != 2 || strings.Join(strings.Fields(lines[1])[1:], " ") != "property brightness 50 lamp-agent" {
			t.Fatalf("%v\n%s", err, out)
		}
		out, err = verb(t, with("history", "urn:lamp", "--limit", "1", "--json")...)
		var page wot.HistoryPage
		if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 || page.Next == "" {
			t.Fatalf("%v\n%s", err, out)
		}
		if _, err := verb(t, with("history", "urn:lamp", "nothing")...); !errors.Is(err, wot.ErrNotFound) {
			t.Fatalf("unknown name: %v", err)
		}
		if _, err := verb(t, with("history", "urn:lamp", "--from", "yesterday")...); err == nil {
			t.Fatal("bad --from accepted")
		}
	})
	t.Run("Observe", func(t *testing.T) {
		out := &lockedBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(context.Background(), with("observe", "urn:lamp", "brightness", "--count", "2", "--json"), out, io.Discard)
		}()
		// The current value comes first; then report a new one.
		waitFor(t, func() bool { return strings.Contains(out.String(), `"value":`) })
		if err := lamp.UpdateProperty(context.Background(), "brightness", 77); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || !strings.Contains(lines[1], `"name":"brightness","value":77`) || !strings.Contains(lines[1], `"sender":"lamp-agent"`) {
			t.Fatalf("%q", lines)
		}
	})
	t.Run("Sub", func(t *testing.T) {
		out := &lockedBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, with("sub", "things/urn:lamp/events/#"), out, io.Discard) }()
		// Publish until the subscription has seen one: it starts at some point.
		waitFor(t, func() bool {
			_ = lamp.PublishEvent(context.Background(), "overheating", 81.5)
			return strings.Contains(out.String(), "things/urn:lamp/events/overheating  81.5  sender=lamp-agent  time=")
		})
		cancel() // observe and sub stop when interrupted
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Help", func(t *testing.T) {
		for _, v := range []string{"things", "td", "read", "observe", "write", "invoke", "sub", "history"} {
			out, err := verb(t, v, "--help")
			if err != nil || !strings.Contains(out, "Example:\n  wotmq "+v) || !strings.Contains(out, "-broker") {
				t.Errorf("%s --help: %v\n%s", v, err, out)
			}
		}
		if _, err := verb(t, "read"); !errors.As(err, new(usageError)) {
			t.Errorf("missing argument: %v", err)
		}
	})
	t.Run("Env", func(t *testing.T) {
		t.Setenv("WOTMQ_BROKER", hub[1])
		if out, err := verb(t, "read", "urn:lamp", "brightness"); err != nil || out == "" {
			t.Fatalf("%v\n%s", err, out)
		}
	})
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		<-tick.C
	}
}

package wot_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

func TestExpose(t *testing.T) {
	h := startHub(t, t.TempDir(), "")
	agent := connect(t, hubtest.URL(h), "agent")
	ctx := ctxT(t)
	t.Run("InvalidTD", func(t *testing.T) {
		bad := wot.NewThing("urn:bad", "").TD() // no title
		e, err := agent.Produce(bad)
		if err != nil {
			t.Fatal(err)
		}
		err = e.Expose(ctx)
		var we *wot.Error
		if !errors.Is(err, wot.ErrInvalidInput) || !errors.As(err, &we) || we.Code != wot.CodeInvalidTD || !strings.Contains(we.Message, "$.title") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("BadID", func(t *testing.T) {
		if _, err := agent.Produce(wot.NewThing("", "x").TD()); !errors.Is(err, wot.ErrInvalidInput) {
			t.Fatalf("empty ID: %v", err)
		}
	})
	t.Run("HandlerForUnknownAffordancePanics", func(t *testing.T) {
		e, err := agent.Produce(lampTD("urn:p"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		e.HandleAction("explode", nil)
	})
	t.Run("OwnedByAnotherAgent", func(t *testing.T) {
		exposeLamp(t, agent, "urn:mine")
		other := connect(t, hubtest.URL(h), "other-agent")
		e, err := other.Produce(lampTD("urn:mine"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Expose(ctx); !errors.Is(err, wot.ErrDenied) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestHandlerOutcomes(t *testing.T) {
	h := startHub(t, t.TempDir(), "")
	agent := connect(t, hubtest.URL(h), "agent")
	ctx := ctxT(t)
	e, err := agent.Produce(wot.NewThing("urn:dev:calc", "Calculator").
		SafeAction("half", &td.DataSchema{Type: td.TypeInteger}, &td.DataSchema{Type: td.TypeInteger}).
		SafeAction("panic", nil, nil).
		SafeAction("unhandled", nil, nil).
		Property("mode", td.DataSchema{Type: td.TypeString}).
		TD())
	if err != nil {
		t.Fatal(err)
	}
	e.HandleAction("half", wot.ActionFunc(func(ctx context.Context, in int) (any, error) {
		if in%2 != 0 {
			return "not an integer", nil // the hub refuses this output
		}
		return in / 2, nil
	}))
	e.HandleAction("panic", func(context.Context, *wot.Request) (any, error) { panic("boom") })
	if err := e.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	app := connect(t, hubtest.URL(h), "app")
	calc, err := app.Thing(ctx, "urn:dev:calc")
	if err != nil {
		t.Fatal(err)
	}
	var out int
	if err := calc.InvokeAction(ctx, "half", 8, &out); err != nil || out != 4 {
		t.Fatalf("half 8 = %d, %v", out, err)
	}
	tests := []struct {
		name, action string
		input        any
		code         wot.Code
		kind         error
		msg          string
	}{
		{"OutputRefusedByHub", "half", 3, wot.CodeAgentError, wot.ErrAgent, "refused the agent's output"},
		{"HandlerPanics", "panic", nil, wot.CodeAgentError, wot.ErrAgent, "panicked: boom"},
		{"NoHandler", "unhandled", nil, wot.CodeUnknownAffordance, wot.ErrNotFound, "no handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := calc.InvokeAction(ctx, tt.action, tt.input, nil)
			var we *wot.Error
			if !errors.Is(err, tt.kind) || !errors.As(err, &we) || we.Code != tt.code || !strings.Contains(we.Message, tt.msg) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("WriteWithoutHandler", func(t *testing.T) {
		if err := calc.WriteProperty(ctx, "mode", "rpn"); !errors.Is(err, wot.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestGateway exposes several Things from one agent. Requests for a Thing
// made while the agent was offline wait in the hub; they reach the agent
// when it subscribes again, before it has exposed that Thing, and run once
// it has.
func TestGateway(t *testing.T) {
	h := startHub(t, t.TempDir(), "")
	ctx := ctxT(t)
	gw := connect(t, hubtest.URL(h), "gateway")
	exposeLamp(t, gw, "urn:lamp-a")
	exposeLamp(t, gw, "urn:lamp-b")
	if err := gw.Close(ctx); err != nil {
		t.Fatal(err)
	}

	app := connect(t, hubtest.URL(h), "app")
	b, err := app.Thing(ctx, "urn:lamp-b")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SafeActionOffline", func(t *testing.T) {
		if err := b.InvokeAction(ctx, "echo", 1, nil); !errors.Is(err, wot.ErrOffline) {
			t.Fatalf("err = %v", err)
		}
	})
	inv, err := b.InvokeActionAsync(ctx, "fade", map[string]int{"to": 10})
	if err != nil {
		t.Fatal(err)
	}
	if u := recv(t, inv.Updates(), "first status"); u.Status != wot.StatusPending {
		t.Fatalf("status %+v, want pending", u)
	}

	gw2 := connect(t, hubtest.URL(h), "gateway")
	la := exposeLamp(t, gw2, "urn:lamp-a") // the hub hands over lamp-b's request here
	lb := exposeLamp(t, gw2, "urn:lamp-b") // and it runs now
	var out int
	if err := inv.Wait(ctx, &out); err != nil || out != 10 {
		t.Fatalf("outcome %d, %v", out, err)
	}
	if la.count("fade") != 0 || lb.count("fade") != 1 {
		t.Fatalf("fade ran %d times on a, %d on b", la.count("fade"), lb.count("fade"))
	}
}

// TestRedeliveryWhileRunning restarts the hub while an agent handles a
// request: the hub delivers the request again when the agent is back, and
// the agent does not run it a second time.
func TestRedeliveryWhileRunning(t *testing.T) {
	dir := t.TempDir()
	h1 := startHub(t, dir, "")
	addr := h1.MQTTAddr()
	agent := connect(t, "mqtt://"+addr, "lamp-agent")
	ctx := ctxT(t)
	e, err := agent.Produce(lampTD(lampID))
	if err != nil {
		t.Fatal(err)
	}
	started, gate := make(chan struct{}, 4), make(chan struct{})
	e.HandleAction("toggle", func(ctx context.Context, req *wot.Request) (any, error) {
		started <- struct{}{}
		<-gate
		return true, nil
	})
	if err := e.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	app := connect(t, "mqtt://"+addr, "app")
	lampT, err := app.Thing(ctx, lampID)
	if err != nil {
		t.Fatal(err)
	}
	if err := lampT.Emit(ctx, "toggle", nil); err != nil {
		t.Fatal(err)
	}
	recv(t, started, "handler started")

	reconnected := make(chan struct{}, 1)
	watcher := connect(t, "mqtt://"+addr, "watcher", func(o *wot.Options) {
		o.OnConnect = func() {
			select {
			case reconnected <- struct{}{}:
			default:
			}
		}
	})
	<-reconnected
	if err := h1.Close(); err != nil {
		t.Fatal(err)
	}
	startHub(t, dir, addr)
	recv(t, reconnected, "watcher back")
	th, err := watcher.Thing(ctx, lampID)
	if err != nil {
		t.Fatal(err)
	}
	// The agent gets the request again once it has subscribed again; it
	// is still running, so it is not started twice.
	hubtest.WaitFor(t, "request delivered again", func() bool { return agent.RepeatedRequests() == 1 })
	close(gate)
	hubtest.WaitFor(t, "request completed", func() bool {
		st, err := th.QueryAction(ctx, "toggle")
		return err == nil && st.Status == wot.StatusCompleted && string(st.Output) == "true"
	})
	select {
	case <-started:
		t.Fatal("the handler ran twice")
	default:
	}
}

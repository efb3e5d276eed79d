package wot_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// fixture is a hub with an exposed lamp and a consumer of it.
type fixture struct {
	hub   *hub.Hub
	lamp  *lamp
	app   *wot.Client
	thing *wot.ConsumedThing
}

func setup(t *testing.T) fixture {
	t.Helper()
	h := startHub(t, t.TempDir(), "")
	agent := connect(t, hubtest.URL(h), "lamp-agent")
	l := exposeLamp(t, agent, lampID)
	app := connect(t, hubtest.URL(h), "app")
	thing, err := app.Thing(ctxT(t), lampID)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{h, l, app, thing}
}

func TestDirectory(t *testing.T) {
	h := startHub(t, t.TempDir(), "")
	agent := connect(t, hubtest.URL(h), "lamp-agent")
	app := connect(t, hubtest.URL(h), "app")

	t.Run("EmptyDirectory", func(t *testing.T) {
		things, err := app.Things(ctxT(t))
		if err != nil || len(things) != 0 {
			t.Fatalf("Things = %v, %v", things, err)
		}
	})
	t.Run("UnknownThing", func(t *testing.T) {
		_, err := app.Thing(ctxT(t), "urn:nope")
		var we *wot.Error
		if !errors.Is(err, wot.ErrNotFound) || !errors.As(err, &we) || we.Code != wot.CodeUnknownThing {
			t.Fatalf("err = %v", err)
		}
	})

	type change struct {
		id string
		t  *td.Thing
	}
	changes := make(chan change, 16)
	sub, err := app.WatchThings(ctxT(t), func(id string, t *td.Thing) { changes <- change{id, t} })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(ctxT(t))

	l1 := exposeLamp(t, agent, "urn:dev:ops:lamp-a")
	exposeLamp(t, agent, "urn:x/with+odd#chars")
	for _, want := range []string{"urn:dev:ops:lamp-a", "urn:x/with+odd#chars"} {
		c := recv(t, changes, "directory change")
		if c.id != want || c.t == nil || c.t.Title != "Lamp" {
			t.Fatalf("change %q %v, want %q", c.id, c.t, want)
		}
	}
	t.Run("Things", func(t *testing.T) {
		things, err := app.Things(ctxT(t))
		if err != nil || len(things) != 2 || things[0].ID != "urn:dev:ops:lamp-a" || things[1].ID != "urn:x/with+odd#chars" {
			t.Fatalf("Things = %v, %v", things, err)
		}
		// The twin TD carries the hub's forms.
		if f := things[0].Actions["fade"].Forms; len(f) == 0 || f[0].MQTTTopic != wot.ActionTopic("urn:dev:ops:lamp-a", "fade") {
			t.Errorf("fade forms %+v", f)
		}
	})
	t.Run("Deleted", func(t *testing.T) {
		if err := l1.Destroy(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if c := recv(t, changes, "deletion"); c.id != "urn:dev:ops:lamp-a" || c.t != nil {
			t.Fatalf("change %q %v", c.id, c.t)
		}
		if _, err := app.Thing(ctxT(t), "urn:dev:ops:lamp-a"); !errors.Is(err, wot.ErrNotFound) {
			t.Fatalf("deleted Thing: %v", err)
		}
	})
}

func TestProperties(t *testing.T) {
	f := setup(t)
	l, lampT := f.lamp, f.thing
	ctx := ctxT(t)

	t.Run("NoValueYet", func(t *testing.T) {
		var v int
		if err := lampT.ReadProperty(ctx, "brightness", &v); !errors.Is(err, wot.ErrNoValue) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("UnknownProperty", func(t *testing.T) {
		var v int
		err := lampT.ReadProperty(ctx, "colour", &v)
		var we *wot.Error
		if !errors.Is(err, wot.ErrNotFound) || !errors.As(err, &we) || we.Code != wot.CodeUnknownAffordance {
			t.Fatalf("err = %v", err)
		}
	})

	values := make(chan wot.Message, 16)
	sub, err := lampT.ObserveProperty(ctx, "brightness", func(m wot.Message) { values <- m })
	if err != nil {
		t.Fatal(err)
	}
	if err := l.UpdateProperties(ctx, map[string]any{"brightness": 40, "on": true, "model": "LX-1"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, values, "observed value")
	if string(m.Payload) != "40" || m.Sender != "lamp-agent" || m.Time.IsZero() || m.Name != "brightness" || m.ThingID != lampID {
		t.Errorf("observed %+v", m)
	}
	t.Run("Read", func(t *testing.T) {
		var v int
		if err := lampT.ReadProperty(ctx, "brightness", &v); err != nil || v != 40 {
			t.Fatalf("ReadProperty = %d, %v", v, err)
		}
		var raw json.RawMessage
		if err := lampT.ReadProperty(ctx, "model", &raw); err != nil || string(raw) != `"LX-1"` {
			t.Fatalf("ReadProperty raw = %s, %v", raw, err)
		}
	})
	t.Run("ReadAll", func(t *testing.T) {
		all, err := lampT.ReadAllProperties(ctx)
		if err != nil || len(all) != 3 || string(all["on"]) != "true" {
			t.Fatalf("ReadAllProperties = %v, %v", all, err)
		}
	})
	t.Run("ReportRefused", func(t *testing.T) {
		err := l.UpdateProperty(ctx, "brightness", 101)
		var we *wot.Error
		if !errors.Is(err, wot.ErrInvalidInput) || !errors.As(err, &we) || we.Code != wot.CodeInvalidPayload {
			t.Fatalf("err = %v", err)
		}
		if err := l.UpdateProperty(ctx, "colour", 1); !errors.Is(err, wot.ErrNotFound) {
			t.Fatalf("unknown property: %v", err)
		}
	})
	t.Run("Write", func(t *testing.T) {
		if err := lampT.WriteProperty(ctx, "brightness", 70); err != nil {
			t.Fatal(err)
		}
		// The agent reported the written value before it completed.
		var v int
		if err := lampT.ReadProperty(ctx, "brightness", &v); err != nil || v != 70 {
			t.Fatalf("after write: %d, %v", v, err)
		}
		if m := recv(t, values, "written value"); string(m.Payload) != "70" {
			t.Errorf("observed %s", m.Payload)
		}
	})
	t.Run("WriteRefusedByHub", func(t *testing.T) {
		err := lampT.WriteProperty(ctx, "model", "x")
		var we *wot.Error
		if !errors.Is(err, wot.ErrInvalidInput) || !errors.As(err, &we) || we.Code != wot.CodeReadOnly {
			t.Fatalf("err = %v", err)
		}
		if err := lampT.WriteProperty(ctx, "brightness", "loud"); !errors.Is(err, wot.ErrInvalidInput) {
			t.Fatalf("wrong type: %v", err)
		}
	})
	t.Run("WriteRefusedByAgent", func(t *testing.T) {
		err := lampT.WriteProperty(ctx, "on", false)
		var we *wot.Error
		if !errors.Is(err, wot.ErrDenied) || !errors.As(err, &we) || we.Message != "the switch is locked" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ObserveAll", func(t *testing.T) {
		var mu sync.Mutex
		seen := map[string]string{}
		all, err := lampT.ObserveAllProperties(ctx, func(m wot.Message) {
			mu.Lock()
			seen[m.Name] = string(m.Payload)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		defer all.Stop(ctx)
		hubtest.WaitFor(t, "current values", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) == 3 && seen["brightness"] == "70"
		})
	})
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-sub.Done()
}

func TestEvents(t *testing.T) {
	f := setup(t)
	l, lampT := f.lamp, f.thing
	ctx := ctxT(t)
	events := make(chan wot.Message, 16)
	sub, err := lampT.SubscribeEvent(ctx, "overheating", func(m wot.Message) { events <- m })
	if err != nil {
		t.Fatal(err)
	}
	all := make(chan wot.Message, 16)
	if _, err := lampT.SubscribeAllEvents(ctx, func(m wot.Message) { all <- m }); err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{81.5, 82} {
		if err := l.PublishEvent(ctx, "overheating", v); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"81.5", "82"} {
		var got float64
		m := recv(t, events, "event")
		if err := m.Decode(&got); err != nil || string(m.Payload) != want || m.Sender != "lamp-agent" {
			t.Errorf("event %s %+v %v", want, m, err)
		}
		if m := recv(t, all, "event (all)"); m.Name != "overheating" || string(m.Payload) != want {
			t.Errorf("all events: %+v", m)
		}
	}
	if err := l.PublishEvent(ctx, "overheating", "hot"); !errors.Is(err, wot.ErrInvalidInput) {
		t.Errorf("bad event data: %v", err)
	}
	if _, err := lampT.SubscribeEvent(ctx, "exploded", func(wot.Message) {}); !errors.Is(err, wot.ErrNotFound) {
		t.Errorf("unknown event: %v", err)
	}
	sub.Stop(ctx)
	<-sub.Done()

	t.Run("History", func(t *testing.T) {
		for i := range 3 {
			if err := l.PublishEvent(ctx, "overheating", 90+i); err != nil {
				t.Fatal(err)
			}
		}
		p1, err := lampT.EventHistory(ctx, "overheating", wot.HistoryQuery{Limit: 3})
		if err != nil || len(p1.Items) != 3 || string(p1.Items[0].Value) != "81.5" || p1.Next == "" {
			t.Fatalf("page 1: %+v, %v", p1, err)
		}
		p2, err := lampT.EventHistory(ctx, "overheating", wot.HistoryQuery{Limit: 3, Cursor: p1.Next})
		if err != nil || len(p2.Items) != 2 || string(p2.Items[1].Value) != "92" || p2.Next != "" {
			t.Fatalf("page 2: %+v, %v", p2, err)
		}
		if err := l.UpdateProperty(ctx, "brightness", 3); err != nil {
			t.Fatal(err)
		}
		all, err := lampT.History(ctx, wot.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var items []wot.HistoryItem // the hub also records presence changes as events
		for _, it := range all.Items {
			if it.Name != "presence" {
				items = append(items, it)
			}
		}
		if len(items) != 6 || items[5].Kind != wot.KindProperty {
			t.Fatalf("thing history: %+v", items)
		}
		props, err := lampT.PropertyHistory(ctx, "brightness", wot.HistoryQuery{From: time.Now().Add(-time.Minute)})
		if err != nil || len(props.Items) != 1 || string(props.Items[0].Value) != "3" {
			t.Fatalf("property history: %+v, %v", props, err)
		}
		_, err = lampT.EventHistory(ctx, "overheating", wot.HistoryQuery{Cursor: "zz"})
		if !errors.Is(err, wot.ErrInvalidInput) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestPresence(t *testing.T) {
	f := setup(t)
	ctx := ctxT(t)
	states := make(chan wot.PresenceState, 8)
	sub, err := f.thing.ObservePresence(ctx, func(p wot.PresenceState) { states <- p })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(ctx)
	first := recv(t, states, "current presence")
	if first.State != wot.PresenceOnline || first.Since.IsZero() {
		t.Fatalf("presence %+v", first)
	}
	for _, p := range []wot.Presence{wot.PresenceSleeping, wot.PresenceLost, wot.PresenceOnline} {
		if err := f.lamp.SetPresence(ctx, p); err != nil {
			t.Fatal(err)
		}
		got := recv(t, states, "presence "+string(p))
		if got.State != p || got.Seq <= first.Seq {
			t.Fatalf("presence %+v, want %s after seq %d", got, p, first.Seq)
		}
		first = got
	}
	if err := f.lamp.SetPresence(ctx, "napping"); !errors.Is(err, wot.ErrInvalidInput) {
		t.Fatalf("bad presence: %v", err)
	}
}

func TestDesiredState(t *testing.T) {
	h := startHub(t, t.TempDir(), "")
	agent := connect(t, hubtest.URL(h), "thermostat-agent")
	thermo, err := agent.Produce(wot.NewThing("urn:dev:thermo", "Thermostat").
		Property("setpoint", td.DataSchema{Type: td.TypeNumber}).TD())
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	thermo.HandleWrite("setpoint", func(ctx context.Context, req *wot.Request) (any, error) {
		if err := req.Waiting(ctx, "the valve is asleep"); err != nil {
			return nil, err
		}
		<-gate
		return nil, nil
	})
	ctx := ctxT(t)
	if err := thermo.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	app := connect(t, hubtest.URL(h), "app")
	th, err := app.Thing(ctx, "urn:dev:thermo")
	if err != nil {
		t.Fatal(err)
	}
	desired := make(chan *wot.DesiredState, 8)
	sub, err := th.ObserveDesired(ctx, "setpoint", func(d *wot.DesiredState) { desired <- d })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(ctx)
	deltas := make(chan map[string]wot.DeltaEntry, 8)
	if _, err := th.ObserveDelta(ctx, func(d map[string]wot.DeltaEntry) { deltas <- d }); err != nil {
		t.Fatal(err)
	}

	written := make(chan error, 1)
	go func() { written <- th.WriteProperty(ctx, "setpoint", 21.5) }()
	d := recv(t, desired, "desired state")
	for d == nil {
		d = recv(t, desired, "desired state")
	}
	if string(d.Value) != "21.5" || d.Version == 0 || d.ActionID == "" {
		t.Fatalf("desired %+v", d)
	}
	for {
		delta := recv(t, deltas, "delta")
		if e, ok := delta["setpoint"]; ok && string(e.Desired) == "21.5" {
			break
		}
	}
	close(gate) // the agent applies it and reports 21.5
	if err := recv(t, written, "write outcome"); err != nil {
		t.Fatal(err)
	}
	for d := recv(t, desired, "desired cleared"); d != nil; d = recv(t, desired, "desired cleared") {
	}
	var v float64
	if err := th.ReadProperty(ctx, "setpoint", &v); err != nil || v != 21.5 {
		t.Fatalf("reported %v, %v", v, err)
	}
}

func TestWaitingCancelAndOutcomes(t *testing.T) {
	f := setup(t)
	ctx := ctxT(t)
	t.Run("Cancel", func(t *testing.T) {
		inv, err := f.thing.InvokeActionAsync(ctx, "block", nil)
		if err != nil {
			t.Fatal(err)
		}
		if u := recv(t, inv.Updates(), "first status"); u.Status != wot.StatusDelivered || inv.ActionID() == "" {
			t.Fatalf("first status %+v", u)
		}
		st, err := f.thing.CancelAction(ctx, "block", inv.ActionID())
		if err != nil || st.ID != inv.ActionID() {
			t.Fatalf("CancelAction = %+v, %v", st, err)
		}
		err = inv.Wait(ctx, nil)
		var we *wot.Error
		if !errors.Is(err, wot.ErrCancelled) || !errors.As(err, &we) || we.Code != wot.CodeCancelled {
			t.Fatalf("outcome: %v", err)
		}
		if _, err := f.thing.CancelAction(ctx, "block", inv.ActionID()); !errors.Is(err, wot.ErrExpired) {
			t.Fatalf("cancel a finished request: %v", err)
		}
	})
	t.Run("OutcomeHistory", func(t *testing.T) {
		for _, to := range []int{10, 20} {
			if err := f.thing.InvokeAction(ctx, "fade", map[string]int{"to": to}, nil); err != nil {
				t.Fatal(err)
			}
		}
		items, err := f.thing.ActionHistory(ctx, "fade")
		if err != nil || len(items) != 2 || string(items[0].Output) != "20" || items[1].Status != wot.StatusCompleted {
			t.Fatalf("ActionHistory = %+v, %v", items, err)
		}
	})
}

// TestSlowHandler checks the back-pressure policy: a handler that does not
// keep up loses messages beyond its queue, and stalls nothing else.
func TestSlowHandler(t *testing.T) {
	f := setup(t)
	ctx := ctxT(t)
	slow := connect(t, hubtest.URL(f.hub), "slow", func(o *wot.Options) { o.QueueSize = 2 })
	th := slow.Consume(f.thing.TD())
	gate := make(chan struct{})
	got := make(chan wot.Message, 100)
	sub, err := th.SubscribeEvent(ctx, "overheating", func(m wot.Message) {
		<-gate
		got <- m
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		if err := f.lamp.PublishEvent(ctx, "overheating", i); err != nil {
			t.Fatal(err)
		}
	}
	// The handler is stuck, yet the same client's calls go on.
	var out int
	if err := th.InvokeAction(ctx, "echo", 3, &out); err != nil || out != 3 {
		t.Fatalf("invoke while a handler is stuck: %d, %v", out, err)
	}
	// At most three are kept: one in the handler, two queued.
	hubtest.WaitFor(t, "drops counted", func() bool { return sub.Dropped() >= n-3 })
	close(gate)
	for range n - int(sub.Dropped()) {
		recv(t, got, "event")
	}
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-sub.Done()
}

package homie_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/bridge/homie"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// homieTestAccounts adds the agent "thermo", the controller "ctl" with
// the rules docs/bridges.md gives a Homie controller, and "peeker", a
// viewer with the same rules (its /set must not reach the agent).
func homieTestAccounts(t *testing.T, h *hub.Hub) {
	t.Helper()
	ctx := context.Background()
	a := h.Accounts()
	for _, acc := range []struct {
		id   string
		role authz.Role
	}{{"thermo", authz.RoleAgent}, {"ctl", authz.RoleManager}, {"peeker", authz.RoleViewer}} {
		if err := a.Add(ctx, acc.id, acc.role, acc.id, "password-for-"+acc.id); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"ctl", "peeker"} {
		for _, r := range []authz.TopicRule{
			{Who: who, Filter: "homie/5/#", Subscribe: true},
			{Who: who, Filter: "homie/5/+/+/+/set", Publish: true},
		} {
			if _, err := a.AddTopicRule(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func homieLogin(user string) func(*paho.Connect) {
	return func(c *paho.Connect) {
		c.Username, c.UsernameFlag = user, true
		c.Password, c.PasswordFlag = []byte("password-for-"+user), true
	}
}

func homieNextRequest(t *testing.T, got chan *wot.Request) *wot.Request {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(hubtest.Timeout):
		t.Fatal("the agent received no request")
		return nil
	}
}

// homieNextPayload waits for topic's next message with payload want.
func homieNextPayload(t *testing.T, c *hubtest.Client, topic, want string) *paho.Publish {
	t.Helper()
	m := c.Next(topic)
	if string(m.Payload) != want {
		t.Fatalf("%s: %q, want %q", topic, m.Payload, want)
	}
	return m
}

// TestHomieDevice runs a Homie controller against a real hub with the
// account and rules of docs/bridges.md: the device of a TD with every
// mapping row ($description against the golden file), $state from
// presence, values and events as Homie strings, commands on /set reaching
// the agent as its requests (and not a viewer's), and a deleted Thing's
// topics cleared, $state first.
func TestHomieDevice(t *testing.T) {
	h := hubtest.Start(t, func(o *hub.Options) {
		o.Homie = true
		o.Dev = false // accounts and rules, as in production
		o.PasswordCost = 4
	})
	homieTestAccounts(t, h)
	ctl := hubtest.Dial(t, h, "controller", homieLogin("ctl"))
	ctl.Sub("homie/5/#")
	// A marker: once it is back, Mochi has finished the subscription (a
	// publish racing it could arrive twice, retained and live).
	ctl.MustPub("homie/5/marker/n/p/set", []byte("x"), nil)
	ctl.Next("homie/5/marker/n/p/set")

	raw, err := os.ReadFile("../testdata/thermostat.td.json")
	if err != nil {
		t.Fatal(err)
	}
	thing, err := td.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	agent := hubtest.Connect(t, hubtest.URL(h), "thermo-1", func(o *wot.Options) { o.Username, o.Password = "thermo", "password-for-thermo" })
	e, err := agent.Produce(thing)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *wot.Request, 16)
	for name := range thing.Properties {
		e.HandleWrite(name, func(_ context.Context, r *wot.Request) (any, error) { got <- r; return nil, nil })
	}
	for name := range thing.Actions {
		e.HandleAction(name, func(_ context.Context, r *wot.Request) (any, error) { got <- r; return nil, nil })
	}
	if err := e.Expose(context.Background()); err != nil {
		t.Fatal(err)
	}
	dev := homie.Root + "/" + homie.DeviceID(thing.ID) + "/"

	homieNextPayload(t, ctl, dev+"$state", "init")
	desc := ctl.Next(dev + "$description")
	var d map[string]any
	if err := json.Unmarshal(desc.Payload, &d); err != nil {
		t.Fatal(err)
	}
	if v, _ := d["version"].(float64); v < float64(time.Now().Add(-time.Hour).UnixMilli()) {
		t.Errorf("version %v is no time in milliseconds", d["version"])
	}
	d["version"] = 1
	var pretty bytes.Buffer
	b, _ := json.Marshal(d)
	json.Indent(&pretty, b, "", "  ")
	homie.GoldenHomie(t, "thermostat.homie.golden.json", reorder(t, pretty.Bytes()))
	homieNextPayload(t, ctl, dev+"$state", "ready")

	t.Run("ValuesAndEvents", func(t *testing.T) {
		ctx := context.Background()
		// In the order they are awaited: Next drops other topics.
		for _, pv := range []struct {
			name string
			v    any
		}{{"temperature", 21.5}, {"mode", "eco"}, {"on", true}, {"fan", 40}, {"label", ""}} {
			if err := e.UpdateProperty(ctx, pv.name, pv.v); err != nil {
				t.Fatal(err)
			}
		}
		homieNextPayload(t, ctl, dev+"properties/temperature", "21.5")
		homieNextPayload(t, ctl, dev+"properties/mode", "eco")
		homieNextPayload(t, ctl, dev+"properties/on", "true")
		homieNextPayload(t, ctl, dev+"properties/fan", "40")
		homieNextPayload(t, ctl, dev+"properties/label", "\x00")
		if err := e.PublishEvent(ctx, "overheating", 81.5); err != nil {
			t.Fatal(err)
		}
		if m := homieNextPayload(t, ctl, dev+"events/overheating", "81.5"); m.QoS != 0 {
			t.Errorf("event at QoS %d, want 0 (Homie: non-retained values)", m.QoS)
		}
		if err := e.PublishEvent(ctx, "doorbell", nil); err != nil {
			t.Fatal(err)
		}
		homieNextPayload(t, ctl, dev+"events/doorbell", "doorbell")
	})

	t.Run("SetReachesTheAgent", func(t *testing.T) {
		peeker := hubtest.Dial(t, h, "peeker", homieLogin("peeker"))
		peeker.MustPub(dev+"properties/setpoint/set", []byte("29"), nil) // a viewer may not write: never reaches the agent
		for _, c := range []struct {
			topic, payload  string
			op, name, input string
		}{
			{dev + "properties/setpoint/set", "22.5", wot.OpWriteProperty, "setpoint", "22.5"},
			{dev + "properties/mode/set", "comfort", wot.OpWriteProperty, "mode", `"comfort"`},
			{dev + "properties/on/set", "false", wot.OpWriteProperty, "on", "false"},
			{dev + "properties/schedule/set", `{"from": "08:00"}`, wot.OpWriteProperty, "schedule", `{"from":"08:00"}`},
			{dev + "actions/reset/set", "invoke", wot.OpInvokeAction, "reset", ""},
			{dev + "actions/boost/set", "15", wot.OpInvokeAction, "boost", "15"},
		} {
			ctl.MustPub(c.topic, []byte(c.payload), nil)
			r := homieNextRequest(t, got)
			if r.Op != c.op || r.Name != c.name || string(r.Input) != c.input || r.Sender != "ctl" {
				t.Errorf("after %s %q the agent got %s %s %s from %s, want %s %s %s from ctl",
					c.topic, c.payload, r.Op, r.Name, r.Input, r.Sender, c.op, c.name, c.input)
			}
		}
		ctl.MustPub(dev+"properties/mode/set", []byte("turbo"), nil)  // not in the enum
		ctl.MustPub(dev+"properties/status/set", []byte("idle"), nil) // not settable
		ctl.MustPub(dev+"properties/fan/set", []byte("40"), nil)      // the marker
		if r := homieNextRequest(t, got); r.Name != "fan" {
			t.Errorf("the agent got %s %s before the marker", r.Name, r.Input)
		}
	})

	t.Run("StateFollowsPresence", func(t *testing.T) {
		if err := e.SetPresence(context.Background(), wot.PresenceSleeping); err != nil {
			t.Fatal(err)
		}
		homieNextPayload(t, ctl, dev+"$state", "sleeping")
	})

	t.Run("DeletedThingIsCleared", func(t *testing.T) {
		if err := e.Destroy(context.Background()); err != nil {
			t.Fatal(err)
		}
		homieNextPayload(t, ctl, dev+"$state", "")
		homieNextPayload(t, ctl, dev+"$description", "")
		homieNextPayload(t, ctl, dev+"properties/temperature", "")
	})
}

// reorder re-indents the description as the golden file writes it (struct
// field order, not sorted keys).
func reorder(t *testing.T, b []byte) []byte {
	t.Helper()
	var d homie.Description
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(&d, "", "  ")
	return out
}

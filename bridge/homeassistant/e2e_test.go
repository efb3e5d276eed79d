package homeassistant_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/bridge/homeassistant"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
	"github.com/wotmq/wotmq/wot"
)

// haTestAccounts adds the agent account "thermo" and the account "ha"
// Home Assistant logs in with, with exactly the rules docs/bridges.md
// gives it.
func haTestAccounts(t *testing.T, h *hub.Hub) {
	t.Helper()
	ctx := context.Background()
	a := h.Accounts()
	for _, acc := range []struct {
		id   string
		role authz.Role
	}{{"thermo", authz.RoleAgent}, {"ha", authz.RoleManager}, {"viewer", authz.RoleViewer}} {
		if err := a.Add(ctx, acc.id, acc.role, acc.id, "password-for-"+acc.id); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []authz.TopicRule{
		{Who: "ha", Filter: "homeassistant/#", Subscribe: true},
		{Who: "ha", Filter: "homeassistant/status", Publish: true},
	} {
		if _, err := a.AddTopicRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

func haLogin(user string) func(*paho.Connect) {
	return func(c *paho.Connect) {
		c.Username, c.UsernameFlag = user, true
		c.Password, c.PasswordFlag = []byte("password-for-"+user), true
	}
}

// haExposeThermostat exposes the thermostat of ../testdata as the agent
// "thermo"; every request it receives goes to the channel returned.
func haExposeThermostat(t *testing.T, h *hub.Hub) (*wot.ExposedThing, chan *wot.Request) {
	t.Helper()
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
	return e, got
}

func haNextRequest(t *testing.T, got chan *wot.Request) *wot.Request {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(hubtest.Timeout):
		t.Fatal("the agent received no request")
		return nil
	}
}

// TestHomeAssistantDiscovery runs the Home Assistant side against a real
// hub, as Home Assistant's MQTT integration would with the account and
// rules of docs/bridges.md: the device config of a TD with every mapping
// row (the golden file), commands as HA publishes them reaching the agent
// without a ResponseTopic, the configs again on HA's birth message, and
// an empty retained config when the Thing is deleted.
func TestHomeAssistantDiscovery(t *testing.T) {
	h := hubtest.Start(t, func(o *hub.Options) {
		o.HomeAssistant = true
		o.Build = hub.Build{Version: "test"}
		o.Dev = false // accounts and rules, as in production: free topics closed unless a rule opens them
		o.PasswordCost = 4
	})
	haTestAccounts(t, h)
	ha := hubtest.Dial(t, h, "home-assistant", haLogin("ha"))
	ha.Sub("homeassistant/#")
	haMarker(t, ha)

	e, got := haExposeThermostat(t, h)
	topic := homeassistant.ConfigTopic(homeassistant.DefaultPrefix, e.ID())
	cfg := ha.Next(topic)
	homeassistant.GoldenConfigHA(t, "thermostat.ha.golden.json", cfg.Payload)

	t.Run("CommandsReachTheAgent", func(t *testing.T) {
		for _, c := range []struct {
			topic, payload  string // as HA renders payload_on, command_template, payload_press
			op, name, input string
		}{
			{wire.Topic{Kind: wire.TopicPropertySet, ThingID: e.ID(), Name: "mode"}.String(), `"comfort"`, wire.OpWriteProperty, "mode", `"comfort"`},
			{wire.Topic{Kind: wire.TopicPropertySet, ThingID: e.ID(), Name: "on"}.String(), "true", wire.OpWriteProperty, "on", "true"},
			{wire.Topic{Kind: wire.TopicPropertySet, ThingID: e.ID(), Name: "fan"}.String(), "40", wire.OpWriteProperty, "fan", "40"},
			{wire.Topic{Kind: wire.TopicPropertySet, ThingID: e.ID(), Name: "label"}.String(), `"Hall \"A\""`, wire.OpWriteProperty, "label", `"Hall \"A\""`},
			{wire.ActionTopic(e.ID(), "reset"), "", wire.OpInvokeAction, "reset", ""},
		} {
			if code, reason := ha.Pub(c.topic, []byte(c.payload), nil); code != 0 {
				t.Fatalf("publish on %s: %#x %s", c.topic, code, reason)
			}
			r := haNextRequest(t, got)
			if r.Op != c.op || r.Name != c.name || string(r.Input) != c.input || r.Sender != "ha" {
				t.Errorf("agent got %s %s %s from %s, want %s %s %s from ha", r.Op, r.Name, r.Input, r.Sender, c.op, c.name, c.input)
			}
		}
	})

	t.Run("BirthMessagePublishesAgain", func(t *testing.T) {
		haMarker(t, ha) // nothing queued before the birth message counts
		ha.MustPub("homeassistant/status", []byte("online"), nil)
		again := ha.Next(topic)
		if string(again.Payload) != string(cfg.Payload) {
			t.Errorf("config after the birth message differs:\n%s", again.Payload)
		}
	})

	t.Run("OthersCannotPublishConfigs", func(t *testing.T) {
		v := hubtest.Dial(t, h, "viewer", haLogin("viewer"))
		if code, _ := v.Pub(topic, []byte("{}"), nil); code != 0x87 {
			t.Errorf("a viewer's publish on the discovery topic: %#x, want 0x87 not authorized", code)
		}
	})

	t.Run("DeletedThingEmptiesItsConfig", func(t *testing.T) {
		if err := e.Destroy(context.Background()); err != nil {
			t.Fatal(err)
		}
		gone := ha.Next(topic)
		if len(gone.Payload) != 0 {
			t.Errorf("config after delete: %q, want empty", gone.Payload)
		}
		late := hubtest.Dial(t, h, "home-assistant-2", haLogin("ha"))
		late.Sub("homeassistant/#")
		// A marker: a retained config would arrive before it.
		late.MustPub("homeassistant/status", []byte("online"), nil)
		select {
		case m := <-late.Msgs:
			if m.Topic != "homeassistant/status" {
				t.Errorf("a new subscriber got %s %q before the marker", m.Topic, m.Payload)
			}
		case <-time.After(hubtest.Timeout):
			t.Fatal("no marker")
		}
	})
}

// haMarker publishes a marker on the birth topic (which the bridge
// ignores) and drops what c receives until it comes back: Mochi has then
// finished c's subscriptions (a publish racing a new subscription can
// arrive twice, retained and live) and nothing older is queued.
func haMarker(t *testing.T, c *hubtest.Client) {
	t.Helper()
	c.MustPub("homeassistant/status", []byte("marker"), nil)
	for m := c.Next("homeassistant/status"); string(m.Payload) != "marker"; m = c.Next("homeassistant/status") {
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, p := range []string{"", "homeassistant", "site/ha"} {
		if err := homeassistant.CheckPrefix(p); err != nil {
			t.Errorf("CheckPrefix(%q): %v", p, err)
		}
	}
	for _, p := range []string{"things", "wotmq/ha", "$ha", "ha/#", "/ha", "ha/", "a//b", "replies"} {
		if err := homeassistant.CheckPrefix(p); err == nil {
			t.Errorf("CheckPrefix(%q) accepted", p)
		}
	}
}

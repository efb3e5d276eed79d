package hub_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/td"
	twincore "github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

var update = flag.Bool("update", false, "rewrite golden files")

const lampID = "urn:dev:ops:32473-WoTLamp-1234"

func lampTD(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/lamp.td.json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// registerLamp connects agent "lamp-agent", publishes the lamp TD and
// returns the agent's client.
func registerLamp(tb testing.TB, h *hub.Hub) *client {
	tb.Helper()
	agent := dial(tb, h, "lamp-agent")
	agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: lampID}.String(), lampTD(tb), nil)
	return agent
}

func agentTopic(kind wot.TopicKind, name string) string {
	return wot.Topic{Kind: kind, AgentID: "lamp-agent", ThingID: lampID, Name: name}.String()
}

func TestTwinTD(t *testing.T) {
	h := startHub(t, t.TempDir(), withHTTP)
	registerLamp(t, h)
	consumer := dial(t, h, "consumer")
	consumer.subscribe(wot.TDTopic(lampID))
	m := consumer.next(wot.TDTopic(lampID))
	if !m.Retain {
		t.Error("twin TD is not retained")
	}
	twin, err := td.Parse(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := td.Validate(twin, td.ValidateOptions{}); err != nil {
		t.Errorf("twin TD invalid: %v", err)
	}
	t.Run("KeepsUnknownMembers", func(t *testing.T) {
		if _, ok := twin.Extra["ex:vendor"]; !ok {
			t.Error("ex:vendor lost")
		}
	})
	t.Run("DeclaresMQVPrefix", func(t *testing.T) {
		if iri, ok := twin.Context.Prefix("mqv"); !ok || iri != twincore.MQTTBindingIRI {
			t.Errorf("mqv prefix = %q, %v", iri, ok)
		}
	})
	t.Run("PropertyForms", func(t *testing.T) {
		f := twin.Properties["brightness"].Forms
		if len(f) != 4 {
			t.Fatalf("brightness has %d forms, want 4 (2 HTTP, then 2 MQTT: one per topic)", len(f))
		}
		// HTTP first (generic consumers pick the scheme of the first form),
		// covering every operation: read/write, and observe as SSE; hrefs
		// relative to the twin's base.
		if !regexp.MustCompile(`^http://hub\.test:\d+/things/urn:dev:ops:32473-WoTLamp-1234/$`).MatchString(twin.Base) ||
			f[0].Href != "properties/brightness" || twin.Href(f[0]) != twin.Base+"properties/brightness" ||
			!f[0].Op.Contains("readproperty") || !f[0].Op.Contains("writeproperty") || f[1].Href != f[0].Href ||
			f[1].Subprotocol != "sse" || !f[1].Op.Contains("observeproperty") {
			t.Errorf("base %q, HTTP forms = %+v, %+v", twin.Base, f[0], f[1])
		}
		f = f[2:]
		want := wot.PropertyTopic(lampID, "brightness")
		// One form for the three ops on the value topic: the MQTT binding's
		// default control packets (subscribe, unsubscribe) apply.
		if f[0].MQTTFilter != want || f[0].MQTTControlPacket != "" || !f[0].Op.Contains("readproperty") ||
			!f[0].Op.Contains("unobserveproperty") || f[0].MQTTQoS != "1" {
			t.Errorf("read form = %+v", f[0])
		}
		if f[1].MQTTTopic != want+"/set" || f[1].MQTTControlPacket != "publish" || !f[1].Op.Contains("writeproperty") {
			t.Errorf("write form = %+v", f[1])
		}
		if !regexp.MustCompile(`^mqtt://hub\.test:\d+/things/`).MatchString(f[0].Href) {
			t.Errorf("href = %s", f[0].Href)
		}
	})
	t.Run("ReadOnlyHasNoWriteForm", func(t *testing.T) {
		for _, f := range twin.Properties["model"].Forms {
			if f.Op.Contains("writeproperty") {
				t.Errorf("read-only property has a write form: %+v", f)
			}
		}
	})
	t.Run("ThingLevelForms", func(t *testing.T) {
		ops := map[string]bool{}
		for _, f := range twin.Forms {
			for _, op := range f.Op {
				ops[op] = true
			}
		}
		for _, op := range []string{"readallproperties", "observeallproperties", "subscribeallevents", "queryallactions"} {
			if !ops[op] {
				t.Errorf("no Thing-level form for %s", op)
			}
		}
	})
	t.Run("Golden", func(t *testing.T) {
		var pretty any
		if err := json.Unmarshal(m.Payload, &pretty); err != nil {
			t.Fatal(err)
		}
		got, _ := json.MarshalIndent(pretty, "", "  ")
		got = regexp.MustCompile(`mqtt://hub\.test:\d+`).ReplaceAll(got, []byte("mqtt://hub.test:1883"))
		got = regexp.MustCompile(`http://hub\.test:\d+`).ReplaceAll(got, []byte("http://hub.test:8080"))
		golden := filepath.Join("testdata", "lamp.twin.golden.json")
		if *update {
			if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./broker -run TestTwinTD -update)", err)
		}
		if string(want) != string(got)+"\n" {
			t.Errorf("twin TD differs from %s; run with -update and review the diff", golden)
		}
	})
}

func TestHubTD(t *testing.T) {
	h := startHub(t, t.TempDir())
	c := dial(t, h, "dev")
	c.subscribe(wot.HubTDTopic)
	m := c.next(wot.HubTDTopic)
	hubTD, err := td.Parse(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := td.Validate(hubTD, td.ValidateOptions{}); err != nil {
		t.Errorf("hub TD invalid: %v", err)
	}
	for _, op := range []string{wot.OpAgentUpdateTD, wot.OpAgentPublishEvent, wot.OpAgentUpdateProperty, wot.OpAgentReply} {
		a, ok := hubTD.Actions[op]
		if !ok || len(a.Forms) == 0 || a.Forms[0].MQTTTopic == "" {
			t.Errorf("hub TD has no usable form for %s", op)
		}
	}
	if e, ok := hubTD.Events[wot.OpAgentReceive]; !ok || e.Forms[0].MQTTFilter != "agents/{agentID}/requests" {
		t.Errorf("hub TD request form missing or wrong")
	}
}

func TestInvalidTDRefused(t *testing.T) {
	h := startHub(t, t.TempDir())
	agent := dial(t, h, "a1")
	tests := []struct {
		name, td, reason string
		code             byte
	}{
		{"NotJSON", `{"title":`, "invalid_td", wot.ReasonPayloadFormatInvalid},
		{"MissingTitle", `{"@context":"https://www.w3.org/2022/wot/td/v1.1","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n"}`, "$.title", wot.ReasonPayloadFormatInvalid},
		{"MissingSecurity", `{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"x"}`, "$.security", wot.ReasonPayloadFormatInvalid},
		{"BadOp", `{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"x","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n","events":{"e":{"forms":[{"href":"x","op":"readproperty"}]}}}`, "op", wot.ReasonPayloadFormatInvalid},
		{"BadRetention", `{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"x","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n","events":{"e":{"wotmq:retention":"forever"}}}`, "wotmq:retention", wot.ReasonPayloadFormatInvalid},
		{"IDMismatch", `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:other","title":"x","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n"}`, "$.id", wot.ReasonPayloadFormatInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, reason := agent.publish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "a1", ThingID: "urn:x"}.String(), []byte(tt.td), nil)
			if rc != tt.code || !contains(reason, tt.reason) {
				t.Errorf("PUBACK %#x %q, want %#x naming %q", rc, reason, tt.code, tt.reason)
			}
		})
	}
	t.Run("NothingStored", func(t *testing.T) {
		c := dial(t, h, "c")
		c.subscribe("things/+/td")
		c.none("", 200*time.Millisecond)
	})
}

func TestEvent(t *testing.T) {
	h := startHub(t, t.TempDir())
	agent := registerLamp(t, h)
	consumer := dial(t, h, "consumer")
	consumer.subscribe(wot.EventTopic(lampID, "overheating"))
	agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("81.5"), nil)
	m := consumer.next(wot.EventTopic(lampID, "overheating"))
	if string(m.Payload) != "81.5" {
		t.Errorf("payload %q", m.Payload)
	}
	if s := userProp(m, wot.PropSender); s != "lamp-agent" {
		t.Errorf("sender %q", s)
	}
	if _, err := time.Parse(time.RFC3339Nano, userProp(m, wot.PropTime)); err != nil {
		t.Errorf("time stamp: %v", err)
	}
	t.Run("RejectsWrongType", func(t *testing.T) {
		rc, reason := agent.publish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte(`"hot"`), nil)
		if rc != wot.ReasonPayloadFormatInvalid || !contains(reason, "number") {
			t.Errorf("PUBACK %#x %q", rc, reason)
		}
	})
	t.Run("RejectsUnknownEvent", func(t *testing.T) {
		rc, reason := agent.publish(agentTopic(wot.TopicAgentEvent, "nope"), []byte(`1`), nil)
		if rc != wot.ReasonTopicNameInvalid || !contains(reason, "unknown_affordance") {
			t.Errorf("PUBACK %#x %q", rc, reason)
		}
	})
	t.Run("RejectsUnknownThing", func(t *testing.T) {
		rc, reason := agent.publish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "lamp-agent", ThingID: "urn:none", Name: "e"}.String(), []byte(`1`), nil)
		if rc != wot.ReasonTopicNameInvalid || !contains(reason, "unknown_thing") {
			t.Errorf("PUBACK %#x %q", rc, reason)
		}
	})
	consumer.none(wot.EventTopic(lampID, "overheating"), 100*time.Millisecond)
}

func TestPropertyRetainedForLateSubscriber(t *testing.T) {
	h := startHub(t, t.TempDir())
	agent := registerLamp(t, h)
	agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("42"), nil)
	late := dial(t, h, "late")
	late.subscribe(wot.PropertyTopic(lampID, "brightness"))
	m := late.next(wot.PropertyTopic(lampID, "brightness"))
	if string(m.Payload) != "42" || !m.Retain {
		t.Errorf("got %q retain=%v", m.Payload, m.Retain)
	}
	rc, _ := agent.publish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("142"), nil)
	if rc != wot.ReasonPayloadFormatInvalid {
		t.Errorf("out-of-range value accepted: %#x", rc)
	}
}

func TestAgentCannotActForAnother(t *testing.T) {
	h := startHub(t, t.TempDir())
	registerLamp(t, h)
	other := dial(t, h, "other-agent")
	tests := []struct{ name, topic string }{
		{"EventForForeignThing", wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "other-agent", ThingID: lampID, Name: "overheating"}.String()},
		{"TDForForeignThing", wot.Topic{Kind: wot.TopicAgentTD, AgentID: "other-agent", ThingID: lampID}.String()},
		{"AsAnotherAgent", agentTopic(wot.TopicAgentEvent, "overheating")},
		{"OnTwinTopic", wot.EventTopic(lampID, "overheating")},
		{"OnRequestsTopic", wot.RequestsTopic("lamp-agent")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte("1")
			if contains(tt.topic, "/td") {
				payload = lampTD(t)
			}
			rc, reason := other.publish(tt.topic, payload, nil)
			if rc != wot.ReasonNotAuthorized {
				t.Errorf("PUBACK %#x %q, want not authorized", rc, reason)
			}
		})
	}
	t.Run("CannotSubscribeToOthersRequests", func(t *testing.T) {
		ctx := t.Context()
		sa, err := other.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: wot.RequestsTopic("lamp-agent"), QoS: 1}}})
		if err == nil && sa.Reasons[0] < 0x80 {
			t.Error("subscription to another agent's requests granted")
		}
	})
}

func TestDeleteThing(t *testing.T) {
	h := startHub(t, t.TempDir())
	agent := registerLamp(t, h)
	agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("42"), nil)
	agent.mustPublish(agentTopic(wot.TopicAgentTD, ""), nil, nil)
	c := dial(t, h, "c")
	c.subscribe(wot.TDTopic(lampID), wot.PropertyTopic(lampID, "brightness"))
	c.none("", 200*time.Millisecond)
	rc, _ := agent.publish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("1"), nil)
	if rc != wot.ReasonTopicNameInvalid {
		t.Errorf("event for deleted thing: %#x", rc)
	}
}

func TestSpecialThingIDs(t *testing.T) {
	h := startHub(t, t.TempDir())
	agent := dial(t, h, "ag")
	id := "urn:x/y+z#1%25"
	doc := `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"` + id + `","title":"odd","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n","events":{"a/b":{}}}`
	agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "ag", ThingID: id}.String(), []byte(doc), nil)
	c := dial(t, h, "c")
	c.subscribe(wot.TDTopic(id), wot.EventTopic(id, "a/b"))
	if m := c.next(wot.TDTopic(id)); m.Topic != "things/urn:x%2Fy%2Bz%231%2525/td" {
		t.Errorf("topic %s", m.Topic)
	}
	agent.mustPublish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "ag", ThingID: id, Name: "a/b"}.String(), nil, nil)
	c.next(wot.EventTopic(id, "a/b"))
	rc, _ := agent.publish("agents/ag/things/urn:x%2fy/td", []byte(doc), nil)
	if rc != wot.ReasonTopicNameInvalid {
		t.Errorf("lower-case escape accepted: %#x", rc)
	}
}

// TestEventReachesEverySubscription checks that the hub's own publishes
// reach a wildcard or a shared subscription alone: the hub skips Mochi's
// publish path for a topic no subscription matches (broker.Hub.inject),
// so a match it missed would lose the event.
func TestEventReachesEverySubscription(t *testing.T) {
	topic := wot.EventTopic(lampID, "overheating")
	for name, filter := range map[string]string{
		"Exact":    topic,
		"Wildcard": "things/+/events/#",
		"Shared":   "$share/g/things/+/events/overheating",
	} {
		t.Run(name, func(t *testing.T) {
			h := startHub(t, t.TempDir())
			agent := registerLamp(t, h)
			// Published while nobody subscribes, most likely: the index's
			// answer for the topic is then "nobody" until the subscription.
			// (Its fan-out follows its PUBACK, so it may also reach the
			// subscription made right after.)
			agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("80"), nil)
			c := dial(t, h, "consumer")
			c.subscribe(filter)
			agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("81.5"), nil)
			m := c.next(topic)
			if string(m.Payload) == "80" {
				m = c.next(topic)
			}
			if string(m.Payload) != "81.5" {
				t.Errorf("got %q, want the event published after the subscription (81.5)", m.Payload)
			}
		})
	}
}

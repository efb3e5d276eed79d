package hubtest_test

import (
	"testing"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

const lampTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:lamp", "title": "Lamp",
	"securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
	"events": {"overheating": {"data": {"type": "number"}}}}`

// A test starts a hub, registers a Thing with an agent and sees a
// consumer receive the agent's event. When the test ends, the clients
// disconnect, the hub closes and its invariants are checked. (Not run
// here: it needs the *testing.T of a test.)
func Example() {
	_ = func(t *testing.T) { // func TestOverheating(t *testing.T)
		h := hubtest.Start(t, func(o *hub.Options) { o.HTTPAddr = "127.0.0.1:0" })
		agent := hubtest.Dial(t, h, "lamp-agent")
		agent.MustPub(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:lamp"}.String(), []byte(lampTD), nil)

		app := hubtest.Dial(t, h, "app")
		app.Sub(wot.EventTopic("urn:lamp", "overheating"))
		agent.MustPub(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "lamp-agent", ThingID: "urn:lamp", Name: "overheating"}.String(), []byte("71.5"), nil)
		if m := app.Next(wot.EventTopic("urn:lamp", "overheating")); string(m.Payload) != "71.5" {
			t.Errorf("event %s, want 71.5", m.Payload)
		}
	}
}

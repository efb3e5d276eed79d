package hub_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/wot"
)

func TestChannelSignalling(t *testing.T) {
	h, _ := secureHub(t)
	owner := login(t, h, "owner", testPassword) // takes over secureHub's connection
	owner.subscribe(wot.RequestsTopic("owner"))
	op := login(t, h, "r-operator", testPassword)
	op.subscribe("replies/r-operator/ch")
	channel := wot.Topic{Kind: wot.TopicChannel, ThingID: "urn:t:owner"}.String()
	send := func(c *client, sig wot.Signal) (byte, string) {
		b, _ := json.Marshal(sig)
		return c.publish(channel, b, reply("replies/"+c.ID[:len(c.ID)-2]+"/ch", []byte("corr")))
	}
	if rc, reason := send(op, wot.Signal{Session: "s1", Type: wot.SignalOffer, Label: "data", SDP: "v=0 offer"}); rc >= 0x80 {
		t.Fatalf("offer refused: %#x %s", rc, reason)
	}
	req := owner.next(wot.RequestsTopic("owner"))
	if userProp(req, wot.PropOp) != wot.OpSignal || userProp(req, wot.PropSession) != "s1" || userProp(req, wot.PropSender) != "r-operator" {
		t.Fatalf("agent got %v", req.Properties.User)
	}
	answer, _ := json.Marshal(wot.Signal{Session: "s1", Type: wot.SignalAnswer, SDP: "v=0 answer"})
	owner.mustPublish(req.Properties.ResponseTopic, answer, reply("", nil, wot.PropSender, "r-operator"))
	m := op.next("replies/r-operator/ch")
	var got wot.Signal
	if err := json.Unmarshal(m.Payload, &got); err != nil || got.Type != wot.SignalAnswer || string(m.Properties.CorrelationData) != "corr" {
		t.Fatalf("consumer got %s", m.Payload)
	}
	if rc, _ := send(op, wot.Signal{Session: "s1", Type: wot.SignalCandidate, Candidate: json.RawMessage(`{"candidate":"c1"}`)}); rc >= 0x80 {
		t.Fatalf("candidate refused: %#x", rc)
	}
	if c := owner.next(wot.RequestsTopic("owner")); userProp(c, wot.PropSession) != "s1" {
		t.Fatalf("candidate not relayed")
	}
	t.Run("ViewerDenied", func(t *testing.T) {
		v := login(t, h, "r-viewer", testPassword)
		if rc, _ := send(v, wot.Signal{Session: "s2", Type: wot.SignalOffer, SDP: "x"}); rc != wot.ReasonNotAuthorized {
			t.Errorf("viewer offer: %#x", rc)
		}
	})
	t.Run("OtherConsumersSessionUnknown", func(t *testing.T) {
		m := login(t, h, "r-manager", testPassword)
		if rc, _ := send(m, wot.Signal{Session: "s1", Type: wot.SignalCandidate}); rc != wot.CodeUnknownAffordance.Reason() {
			t.Errorf("candidate into another consumer's session: %#x", rc)
		}
	})
	t.Run("AgentCannotAnswerOthersSessions", func(t *testing.T) {
		ag := login(t, h, "r-agent", testPassword)
		rc, _ := ag.publish(wot.Topic{Kind: wot.TopicAgentSignal, AgentID: "r-agent"}.String(), answer, reply("", nil, wot.PropSender, "r-operator"))
		if rc != wot.CodeUnknownAffordance.Reason() {
			t.Errorf("foreign agent answer: %#x", rc)
		}
	})
	t.Run("ByeEndsSession", func(t *testing.T) {
		if rc, _ := send(op, wot.Signal{Session: "s1", Type: wot.SignalBye}); rc >= 0x80 {
			t.Fatalf("bye: %#x", rc)
		}
		owner.next(wot.RequestsTopic("owner"))
		if rc, _ := send(op, wot.Signal{Session: "s1", Type: wot.SignalCandidate}); rc != wot.CodeUnknownAffordance.Reason() {
			t.Errorf("candidate after bye: %#x", rc)
		}
	})
	t.Run("OfflineAgent", func(t *testing.T) {
		owner.Disconnect(&paho.Disconnect{})
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; ; i++ { // the hub notices the disconnect shortly after
			rc, reason := send(op, wot.Signal{Session: fmt.Sprint("s-off-", i), Type: wot.SignalOffer, SDP: "x"})
			if rc == wot.CodeOffline.Reason() {
				if !contains(reason, "hub messaging") {
					t.Errorf("reason %q", reason)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("offer to an offline agent still relayed")
			}
		}
	})
}

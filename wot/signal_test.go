package wot_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// TestSignals relays channel signalling through a hub with the SDK's
// transport-neutral half: the consumer's SendSignal, the agent's
// HandleSignals and Reply, and the refusal of a Thing without a handler.
func TestSignals(t *testing.T) {
	h := startHub(t, t.TempDir(), "")
	agent := connect(t, hubtest.URL(h), "sig-agent")
	lamp := exposeLamp(t, agent, lampID)
	got := make(chan *wot.SignalRequest, 8)
	lamp.HandleSignals(func(r *wot.SignalRequest) { got <- r })

	app := connect(t, hubtest.URL(h), "sig-app")
	replies := make(chan wot.Message, 8)
	replyTo := app.RepliesTopic() + "/channels/s1"
	if _, err := app.Subscribe(ctxT(t), replyTo, func(m wot.Message) { replies <- m }); err != nil {
		t.Fatal(err)
	}
	topic := wot.Topic{Kind: wot.TopicChannel, ThingID: lampID}.String()
	if err := app.SendSignal(ctxT(t), topic, replyTo, wot.Signal{Session: "s1", Type: wot.SignalOffer, Label: "l", SDP: "v=0 offer"}); err != nil {
		t.Fatal(err)
	}
	r := recv(t, got, "offer")
	if r.Type != wot.SignalOffer || r.SDP != "v=0 offer" || r.Label != "l" || r.Sender != "sig-app" || r.ThingID != lampID || r.Time.IsZero() {
		t.Fatalf("agent got %+v", r)
	}
	if err := r.Reply(ctxT(t), wot.Signal{Type: wot.SignalAnswer, SDP: "v=0 answer"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, replies, "answer")
	var answer wot.Signal
	if err := m.Decode(&answer); err != nil || answer.Session != "s1" || answer.SDP != "v=0 answer" || m.Sender != "sig-agent" {
		t.Fatalf("consumer got %s from %q", m.Payload, m.Sender)
	}
	// Candidates follow, in order.
	for _, c := range []string{`{"candidate":"a"}`, `{"candidate":"b"}`} {
		if err := app.SendSignal(ctxT(t), topic, replyTo, wot.Signal{Session: "s1", Type: wot.SignalCandidate, Candidate: json.RawMessage(c)}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := recv(t, got, "candidate"), recv(t, got, "candidate"); string(a.Candidate) != `{"candidate":"a"}` || string(b.Candidate) != `{"candidate":"b"}` {
		t.Errorf("candidates %s %s", a.Candidate, b.Candidate)
	}

	// Without a handler, an offer is refused at once.
	lamp.HandleSignals(nil)
	if err := app.SendSignal(ctxT(t), topic, replyTo, wot.Signal{Session: "s2", Type: wot.SignalOffer, SDP: "x"}); err != nil {
		t.Fatal(err)
	}
	m = recv(t, replies, "refusal")
	var refusal wot.Signal
	if err := m.Decode(&refusal); err != nil || refusal.Session != "s2" || !errors.Is(refusal.Err(), wot.ErrNotFound) {
		t.Fatalf("consumer got %s", m.Payload)
	}
	if (wot.Signal{Type: wot.SignalAnswer}).Err() != nil || !errors.Is((wot.Signal{Type: wot.SignalError}).Err(), &wot.Error{Code: wot.CodeInternal}) {
		t.Error("Signal.Err")
	}
}

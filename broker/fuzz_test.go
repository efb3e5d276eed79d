package broker

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wot"
)

// Fuzzers of what the hub reads from the network, driven through the hub's
// own hooks on a real hub (Badger in a temporary directory): every publish
// (topic, payload, ResponseTopic, CorrelationData, user properties), admin
// requests as an admin, and agents' replies to a real request. Their seeds
// are in testdata/fuzz. The td and wot packages fuzz TDs, data schemas and
// topics on their own.

const fuzzLampID = "urn:dev:ops:32473-WoTLamp-1234"

// fuzzHub starts a development hub on loopback with one registered lamp
// and returns a connected client of agent "fuzz-agent" (which owns the
// lamp) for the hooks.
func fuzzHub(tb testing.TB) (*Hub, *mqtt.Client) {
	tb.Helper()
	log := zerolog.Nop()
	h, db := testHub(tb, Options{TCPAddr: "127.0.0.1:0", WSAddr: "off", Dev: true, Logger: &log}, "fuzz-admin-password")
	if err := h.Start(context.Background(), nil, nil); err != nil {
		h.Close()
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(); db.Close() })
	cl := fuzzPipedClient(tb, h)
	h.sessions.Store(cl, authz.Identity{ID: "fuzz-agent", Role: authz.RoleService, Anonymous: true})
	lamp, err := os.ReadFile("testdata/lamp.td.json")
	if err != nil {
		tb.Fatal(err)
	}
	if err := fuzzPublish(h, cl, "agents/fuzz-agent/things/"+fuzzLampID+"/td", lamp, "", nil, "", ""); err != nil {
		tb.Fatal(err)
	}
	return h, cl
}

// fuzzPublish runs a QoS 1 publish through the guard and the hub's hook,
// as Mochi would, and checks what they answer: acknowledged, or refused
// with an error reason code and a reason string that starts with a wire
// error code.
func fuzzPublish(h *Hub, cl *mqtt.Client, topic string, payload []byte, replyTo string, corr []byte, status, action string) error {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1},
		TopicName:   topic, Payload: payload, PacketID: 7,
		Properties: packets.Properties{ResponseTopic: replyTo, CorrelationData: corr},
	}
	for _, up := range [][2]string{{wot.PropStatus, status}, {wot.PropActionID, action}} {
		if up[1] != "" {
			pk.Properties.User = append(pk.Properties.User, packets.UserProperty{Key: up[0], Val: up[1]})
		}
	}
	_, err := (&guard{h: h}).OnPublish(cl, pk)
	if err == nil {
		_, err = (&hook{h: h}).OnPublish(cl, pk)
		if errors.Is(err, packets.ErrRejectPacket) { // the pipeline answers it
			err = fuzzPipelineAck(cl)
		}
	}
	var code packets.Code
	switch {
	case err == nil, errors.Is(err, packets.CodeSuccessIgnore):
		return nil
	case errors.As(err, &code):
		wire, _, _ := strings.Cut(code.Reason, ":")
		if code.Code < 0x80 || !wot.Code(wire).Known() || wot.Code(wire).Reason() != code.Code {
			return errors.New("bad refusal: " + code.Reason)
		}
		if wot.Code(wire) == wot.CodeInternal {
			return errors.New("internal error for a client's input: " + topic)
		}
		return code
	}
	return err
}

func FuzzPublish(f *testing.F) {
	lamp, err := os.ReadFile("testdata/lamp.td.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		topic, reply, status, action string
		payload, corr                []byte
	}{
		{topic: "agents/fuzz-agent/things/" + fuzzLampID + "/td", payload: lamp},
		{topic: "agents/fuzz-agent/things/urn:x/td", payload: []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"x","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n","events":{"e":{}}}`)},
		{topic: "agents/fuzz-agent/things/" + fuzzLampID + "/events/overheating", payload: []byte("81.5")},
		{topic: "agents/fuzz-agent/things/" + fuzzLampID + "/properties/brightness", payload: []byte("50")},
		{topic: "agents/fuzz-agent/things/" + fuzzLampID + "/presence", payload: []byte(`"sleeping"`)},
		{topic: "things/" + fuzzLampID + "/actions/fade", payload: []byte(`{"to":30}`), reply: "replies/fuzz-agent/x", corr: []byte("c1")},
		{topic: "things/" + fuzzLampID + "/properties/on/set", payload: []byte("true"), reply: "replies/fuzz-agent/x"},
		{topic: "things/" + fuzzLampID + "/actions/fade/cancel", payload: []byte(`""`), reply: "replies/fuzz-agent/x"},
		{topic: "things/" + fuzzLampID + "/actions/fade/history", reply: "replies/fuzz-agent/x"},
		{topic: "things/" + fuzzLampID + "/history", payload: []byte(`{"from":"2026-01-01T00:00:00Z","limit":5,"cursor":"18ea17bd5f7df752"}`), reply: "replies/fuzz-agent/x"},
		{topic: "things/" + fuzzLampID + "/events/overheating/history", payload: []byte(`{"latest":true}`), reply: "replies/fuzz-agent/x"},
		{topic: "agents/fuzz-agent/replies", payload: []byte(`{"code":"jammed","message":"stuck"}`), status: "failed", action: "18ea17be8a066596"},
		{topic: "wotmq/admin", payload: []byte(`{"op":"token","ttl":"1h"}`), reply: "replies/fuzz-agent/a"},
		{topic: "things/" + fuzzLampID + "/channel", payload: []byte(`{"type":"offer","sdp":"v=0"}`), reply: "replies/fuzz-agent/c"},
		{topic: "$SYS/x", payload: []byte("1")},
		{topic: "things/a%2Fb/td", payload: []byte("{}")},
	} {
		f.Add(s.topic, s.payload, s.reply, s.corr, s.status, s.action)
	}
	h, cl := fuzzHub(f)
	f.Fuzz(func(t *testing.T, topic string, payload []byte, replyTo string, corr []byte, status, action string) {
		if err := fuzzPublish(h, cl, topic, payload, replyTo, corr, status, action); err != nil {
			var code packets.Code
			if !errors.As(err, &code) {
				t.Fatal(err)
			}
		}
	})
}

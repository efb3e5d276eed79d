package broker

import (
	"context"
	"encoding/json"
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
	h, db := testHub(tb, Options{TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", Dev: true, Logger: &log}, "fuzz-admin-password")
	if err := h.Start(context.Background()); err != nil {
		h.Close()
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(); db.Close() })
	cl := h.srv.NewClient(nil, "tcp", "fuzz-agent", false)
	cl.Properties.ProtocolVersion = 5
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

// FuzzAdminRequest sends admin requests as an admin: every answer is a
// result or an error with a code a client can act on, never internal.
func FuzzAdminRequest(f *testing.F) {
	for _, s := range []string{
		`{"op":"accounts.list"}`,
		`{"op":"accounts.add","id":"app","role":"operator","name":"App","password":"a long enough password"}`,
		`{"op":"accounts.add","id":"x","role":"agent"}`,
		`{"op":"accounts.update","id":"app","enabled":false,"name":"","role":"viewer"}`,
		`{"op":"accounts.update","password":"short"}`,
		`{"op":"accounts.update","password":"long enough password","current":"not it"}`,
		`{"op":"accounts.update","id":"admin","password":"long enough password","current":""}`,
		`{"op":"token","id":"admin","ttl":"8760h1s"}`,
		`{"op":"things.acl","thing":"` + fuzzLampID + `","allow":["role:viewer"],"deny":["app"]}`,
		`{"op":"things.reassign","thing":"` + fuzzLampID + `","agent":"a/b"}`,
		`{"op":"things.delete","thing":"urn:nope"}`,
		`{"op":"backup","file":"../x"}`,
		`{"op":42}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	h, _ := fuzzHub(f)
	admin := authz.Identity{ID: "admin", Role: authz.RoleAdmin}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var req AdminRequest
		if json.Unmarshal(payload, &req) != nil {
			return // answered with invalid_payload before adminDo (FuzzPublish covers it)
		}
		if req.Op == AdminBackup {
			return // writes files; its name check is covered by TestBackupRestore
		}
		if _, err := h.adminDo(context.Background(), admin, req); err != nil && wot.CodeOf(err) == wot.CodeInternal {
			t.Fatalf("internal error for %s: %v", payload, err)
		}
	})
}

// FuzzAgentReply answers a real, delivered request with whatever an agent
// may send: a reply is refused with a code, or it moves the request to the
// status it names with the output or error it carries.
func FuzzAgentReply(f *testing.F) {
	for _, s := range []struct {
		payload               []byte
		status, code, message string
	}{
		{[]byte("30"), "", "", ""},
		{[]byte("30"), "completed", "", ""},
		{[]byte(`{"progress":0.5}`), "running", "", ""},
		{[]byte(`{"code":"jammed","message":"stuck"}`), "failed", "", ""},
		{[]byte(`"plain string"`), "failed", "", ""},
		{[]byte("not json"), "failed", "jammed", "stuck"},
		{nil, "waiting", "", ""},
		{[]byte(`"30"`), "completed", "", ""},
		{[]byte(`{}`), "pending", "", ""},
	} {
		f.Add(s.payload, s.status, s.code, s.message)
	}
	h, cl := fuzzHub(f)
	id, _ := h.identity(cl)
	f.Fuzz(func(t *testing.T, payload []byte, status, code, message string) {
		ctx := context.Background()
		r, err := h.submit(ctx, id, wot.Topic{Kind: wot.TopicAction, ThingID: fuzzLampID, Name: "toggle"}, wot.OpInvokeAction, nil, Submission{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.inbox.Transition(ctx, r.ID, wot.StatusDelivered, nil, nil); err != nil {
			t.Fatal(err)
		}
		pk := packets.Packet{TopicName: wot.RepliesTopic("fuzz-agent"), Payload: payload,
			Properties: packets.Properties{CorrelationData: []byte(r.ID)}}
		for _, up := range [][2]string{{wot.PropStatus, status}, {wot.PropError, code}, {wot.PropMessage, message}} {
			if up[1] != "" {
				pk.Properties.User = append(pk.Properties.User, packets.UserProperty{Key: up[0], Val: up[1]})
			}
		}
		err = h.agentReply(ctx, id, wot.Topic{Kind: wot.TopicAgentReplies, AgentID: "fuzz-agent"}, fromPacket(&pk))
		got, gerr := h.inbox.Get(ctx, r.ID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if err != nil {
			if c := wot.CodeOf(err); c == wot.CodeInternal || !c.Known() {
				t.Fatalf("reply %q (%s): %v", payload, status, err)
			}
			if got.Status != wot.StatusDelivered {
				t.Fatalf("refused reply moved the request to %s", got.Status)
			}
		} else {
			want := wot.Status(status)
			if status == "" {
				want = wot.StatusCompleted
			}
			if got.Status != want {
				t.Fatalf("reply with status %q left the request %s", status, got.Status)
			}
			if got.Status == wot.StatusFailed && (got.Error == nil || got.Error.Code == "") {
				t.Fatalf("failed without an error code: %+v", got.Error)
			}
		}
		if !got.Status.Final() {
			// Leave no unfinished request behind (the agent's queue is bounded).
			mu := h.agentLock(r.AgentID)
			mu.Lock()
			_ = h.finishLocked(ctx, r.ID, wot.StatusFailed, nil, wot.Errorf(wot.CodeCancelled, "fuzz"))
			mu.Unlock()
		}
	})
}

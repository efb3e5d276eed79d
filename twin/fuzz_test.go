package twin

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// Fuzzers of what the core reads from the network, driven through the
// core on a real store (Badger in a temporary directory): admin requests
// as an admin, and agents' replies to a real request. Their seeds are in
// testdata/fuzz. Package broker fuzzes whole publishes through its hooks.

const fuzzLampID = "urn:dev:ops:32473-WoTLamp-1234"

// fuzzCore starts a development core with one registered lamp and returns
// the identity of agent "fuzz-agent", which owns the lamp.
func fuzzCore(tb testing.TB) (*Core, authz.Identity) {
	tb.Helper()
	h, db := testCore(tb, Options{Dev: true, Logger: zerolog.Nop()}, "fuzz-admin-password")
	if err := h.Start(context.Background(), Forms{MQTT: "mqtt://localhost:1883"}); err != nil {
		h.Close()
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(); db.Close() })
	id := authz.Identity{ID: "fuzz-agent", Role: authz.RoleService, Anonymous: true}
	lamp, err := os.ReadFile("testdata/lamp.td.json")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := h.Publish(context.Background(), id, nil, &Message{Topic: "agents/fuzz-agent/things/" + fuzzLampID + "/td", Payload: lamp, QoS: 1}); err != nil {
		tb.Fatal(err)
	}
	return h, id
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
		`{"op":"token.revoke"}`,
		`{"op":"token.revoke","token":"eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJlIG9mIG5vIGtleSBvZiBvdXJz"}`,
		`{"op":"things.acl","thing":"` + fuzzLampID + `","allow":["role:viewer"],"deny":["app"]}`,
		`{"op":"things.reassign","thing":"` + fuzzLampID + `","agent":"a/b"}`,
		`{"op":"things.delete","thing":"urn:nope"}`,
		`{"op":"backup","file":"../x"}`,
		`{"op":42}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	h, _ := fuzzCore(f)
	admin := authz.Identity{ID: "admin", Role: authz.RoleAdmin}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var req AdminRequest
		if json.Unmarshal(payload, &req) != nil {
			return // answered with invalid_payload before adminDo (FuzzPublish covers it)
		}
		if req.Op == AdminBackup {
			return // writes files; its name check is covered by TestBackupRestore
		}
		if _, err := h.adminDo(context.Background(), admin, req); err != nil && wire.CodeOf(err) == wire.CodeInternal {
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
	h, id := fuzzCore(f)
	f.Fuzz(func(t *testing.T, payload []byte, status, code, message string) {
		ctx := context.Background()
		r, err := h.Submit(ctx, id, wire.Topic{Kind: wire.TopicAction, ThingID: fuzzLampID, Name: "toggle"}, wire.OpInvokeAction, nil, Submission{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.inbox.Transition(ctx, r.ID, wire.StatusDelivered, nil, nil); err != nil {
			t.Fatal(err)
		}
		pk := &Message{Topic: wire.RepliesTopic("fuzz-agent"), Payload: payload, CorrelationData: []byte(r.ID)}
		for _, up := range [][2]string{{wire.PropStatus, status}, {wire.PropError, code}, {wire.PropMessage, message}} {
			if up[1] != "" {
				pk.User = append(pk.User, Property{Key: up[0], Value: up[1]})
			}
		}
		err = h.agentReply(ctx, id, wire.Topic{Kind: wire.TopicAgentReplies, AgentID: "fuzz-agent"}, pk)
		got, gerr := h.inbox.Get(ctx, r.ID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if err != nil {
			if c := wire.CodeOf(err); c == wire.CodeInternal || !c.Known() {
				t.Fatalf("reply %q (%s): %v", payload, status, err)
			}
			if got.Status != wire.StatusDelivered {
				t.Fatalf("refused reply moved the request to %s", got.Status)
			}
		} else {
			want := wire.Status(status)
			if status == "" {
				want = wire.StatusCompleted
			}
			if got.Status != want {
				t.Fatalf("reply with status %q left the request %s", status, got.Status)
			}
			if got.Status == wire.StatusFailed && (got.Error == nil || got.Error.Code == "") {
				t.Fatalf("failed without an error code: %+v", got.Error)
			}
		}
		if !got.Status.Final() {
			// Leave no unfinished request behind (the agent's queue is bounded).
			mu := h.agentLock(r.AgentID)
			mu.Lock()
			_ = h.finishLocked(ctx, r.ID, wire.StatusFailed, nil, wire.Errorf(wire.CodeCancelled, "fuzz"))
			mu.Unlock()
		}
	})
}

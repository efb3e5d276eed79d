package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

const testPassword = "correct horse battery"

// secureHub starts a hub that requires credentials, with one account per
// role ("r-{role}") and an agent "owner" that registered urn:t:owner.
// Every log line is captured for the secrets check.
func secureHub(t *testing.T, mod ...func(*hub.Options)) (*hub.Hub, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	h := startHub(t, t.TempDir(), append([]func(*hub.Options){func(o *hub.Options) {
		o.Dev = false
		o.AdminPassword = testPassword
		o.PasswordCost = 4
		o.Logger = &log
	}}, mod...)...)
	ctx := context.Background()
	for _, r := range authz.Roles() {
		if err := h.Accounts().Add(ctx, "r-"+string(r), r, "", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Accounts().Add(ctx, "owner", authz.RoleAgent, "", testPassword); err != nil {
		t.Fatal(err)
	}
	owner := login(t, h, "owner", testPassword)
	owner.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "owner", ThingID: "urn:t:owner"}.String(), thingTD("urn:t:owner"), nil)
	owner.subscribe(wot.RequestsTopic("owner"))
	return h, logs
}

func thingTD(id string) []byte {
	return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"` + id + `","title":"T",
	"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n",
	"properties":{"p":{"type":"integer"}},"actions":{"a":{}},"events":{"e":{"type":"integer","data":{"type":"integer"}}}}`)
}

// login connects with a user name and password (or token) and fails the
// test if the hub refuses.
func login(t testing.TB, h *hub.Hub, user, pass string) *client {
	t.Helper()
	c, rc, reason := tryLogin(t, h, user+"-c", user, pass)
	if c == nil {
		t.Fatalf("login %s: CONNACK %#x %s", user, rc, reason)
	}
	return c
}

// tryLogin returns the client, or nil with the CONNACK reason code.
func tryLogin(t testing.TB, h *hub.Hub, clientID, user, pass string) (*client, byte, string) {
	t.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{hubtest.NewClient(t, conn, clientID)}
	cp := &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: user != "", Password: []byte(pass), PasswordFlag: pass != ""}
	// A generous bound: a login does a bcrypt comparison, slow on a busy
	// machine under the race detector (TestLoginRefusals/UnknownAccount
	// failed on a 5 s limit).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		if ca != nil {
			reason := ""
			if ca.Properties != nil {
				reason = ca.Properties.ReasonString
			}
			return nil, ca.ReasonCode, reason
		}
		t.Fatalf("connect %s: %v", user, err)
	}
	return c, 0, ""
}

// trySubscribe returns the SUBACK reason code.
func (c *client) trySubscribe(filter string) byte {
	c.TB.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if sa == nil {
		c.TB.Fatalf("subscribe %s: %v", filter, err)
	}
	return sa.Reasons[0]
}

// TestPermissionTable drives every role through every operation over real
// MQTT connections, on the role's own Thing and on another agent's, and
// checks each cell against the permission table.
func TestPermissionTable(t *testing.T) {
	h, _ := secureHub(t)
	owner := login(t, h, "owner", testPassword)
	other := "urn:t:owner"
	type cell struct {
		op    authz.Op
		name  string
		own   bool // on the role's own Thing
		check func(t *testing.T, c *client, me string) bool
	}
	pubOK := func(rc byte, reason string) bool { return rc < 0x80 }
	cells := []cell{
		{authz.OpExpose, "RegisterOwnThing", true, func(t *testing.T, c *client, me string) bool {
			return pubOK(c.publish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: me, ThingID: "urn:t:" + me}.String(), thingTD("urn:t:"+me), nil))
		}},
		{authz.OpExpose, "PublishEventOfOtherAgentsThing", false, func(t *testing.T, c *client, me string) bool {
			return pubOK(c.publish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: me, ThingID: other, Name: "e"}.String(), []byte("1"), nil))
		}},
		{authz.OpExpose, "PublishAsOtherAgent", false, func(t *testing.T, c *client, me string) bool {
			return pubOK(c.publish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "owner", ThingID: other, Name: "e"}.String(), []byte("1"), nil))
		}},
		{authz.OpExpose, "DeleteOtherAgentsThingAsAgent", false, func(t *testing.T, c *client, me string) bool {
			return pubOK(c.publish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: me, ThingID: other}.String(), nil, nil))
		}},
		{authz.OpExpose, "ReceiveOtherAgentsRequests", false, func(t *testing.T, c *client, me string) bool {
			return c.trySubscribe(wot.RequestsTopic("owner")) < 0x80
		}},
		{authz.OpReadTD, "ReadTD", false, func(t *testing.T, c *client, me string) bool {
			if c.trySubscribe(wot.TDTopic(other)) >= 0x80 {
				return false
			}
			c.next(wot.TDTopic(other))
			return true
		}},
		{authz.OpReadProperty, "ReadProperty", false, func(t *testing.T, c *client, me string) bool {
			owner.mustPublish(wot.Topic{Kind: wot.TopicAgentProperty, AgentID: "owner", ThingID: other, Name: "p"}.String(), []byte("7"), nil)
			if c.trySubscribe(wot.PropertyTopic(other, "p")) >= 0x80 {
				return false
			}
			return string(c.next(wot.PropertyTopic(other, "p")).Payload) == "7"
		}},
		{authz.OpSubscribeEvent, "SubscribeEvent", false, func(t *testing.T, c *client, me string) bool {
			if c.trySubscribe(wot.EventTopic(other, "e")) >= 0x80 {
				return false
			}
			owner.mustPublish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "owner", ThingID: other, Name: "e"}.String(), []byte("3"), nil)
			c.next(wot.EventTopic(other, "e"))
			return true
		}},
		{authz.OpReadHistory, "ReadHistory", false, func(t *testing.T, c *client, me string) bool {
			c.trySubscribe("replies/" + me)
			return pubOK(c.publish(wot.Topic{Kind: wot.TopicThingHistory, ThingID: other}.String(), nil, reply("replies/"+me, nil)))
		}},
		{authz.OpQueryAction, "QueryAction", false, func(t *testing.T, c *client, me string) bool {
			return c.trySubscribe(wot.ActionStatusTopic(other, "a")) < 0x80
		}},
		{authz.OpInvokeAction, "InvokeAction", false, func(t *testing.T, c *client, me string) bool {
			return pubOK(c.publish(wot.ActionTopic(other, "a"), nil, reply("replies/"+me, nil)))
		}},
		{authz.OpWriteProperty, "WriteProperty", false, func(t *testing.T, c *client, me string) bool {
			return pubOK(c.publish(wot.Topic{Kind: wot.TopicPropertySet, ThingID: other, Name: "p"}.String(), []byte("1"), reply("replies/"+me, nil)))
		}},
		{authz.OpManageAccounts, "ListAccounts", false, func(t *testing.T, c *client, me string) bool {
			c.trySubscribe("replies/" + me + "/admin")
			rc, _ := c.publish(authz.AdminTopic, []byte(`{"op":"accounts.list"}`), reply("replies/"+me+"/admin", nil))
			m := c.next("replies/" + me + "/admin")
			return rc < 0x80 && userProp(m, wot.PropStatus) == string(wot.StatusCompleted)
		}},
		{authz.OpManageThings, "ChangeACLOfOtherAgentsThing", false, func(t *testing.T, c *client, me string) bool {
			c.trySubscribe("replies/" + me + "/admin")
			rc, _ := c.publish(authz.AdminTopic, []byte(`{"op":"things.acl","thing":"`+other+`"}`), reply("replies/"+me+"/admin", nil))
			c.next("replies/" + me + "/admin")
			return rc < 0x80
		}},
	}
	for _, role := range authz.Roles() {
		me := "r-" + string(role)
		c := login(t, h, me, testPassword)
		for _, cl := range cells {
			t.Run(string(role)+"/"+cl.name, func(t *testing.T) {
				want := authz.Allowed(role, cl.op)
				if !cl.own && cl.op == authz.OpExpose {
					want = false // nobody acts for another agent's Thing
				}
				if got := cl.check(t, c, me); got != want {
					t.Errorf("%s %s: allowed=%v, table says %v", role, cl.name, got, want)
				}
			})
		}
	}
}

func TestLoginRefusals(t *testing.T) {
	clk := &clock{now: time.Now()}
	h, logs := secureHub(t, func(o *hub.Options) {
		o.Now = clk.Now
		o.Throttle = authz.ThrottleOptions{Failures: 3, Window: time.Minute, Backoff: time.Minute}
	})
	ctx := context.Background()
	tests := []struct {
		name, user, pass string
		code             byte
	}{
		{"NoCredentials", "", "", 0x87},
		{"WrongPassword", "r-viewer", "wrong password!", 0x86},
		{"UnknownAccount", "nobody", testPassword, 0x86},
		{"GarbageToken", "", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl", 0x86},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rc, reason := tryLogin(t, h, "x-"+tt.name, tt.user, tt.pass)
			if c != nil || rc != tt.code {
				t.Errorf("CONNACK %#x %q, want %#x", rc, reason, tt.code)
			}
		})
	}
	t.Run("TokenWorksUntilExpiry", func(t *testing.T) {
		tok, _, err := h.Accounts().IssueToken("r-operator", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		login(t, h, "", tok)
		login(t, h, "r-operator", tok)
		if c, rc, _ := tryLogin(t, h, "x-tok", "r-viewer", tok); c != nil || rc != 0x86 {
			t.Errorf("token used with another user name: %#x", rc)
		}
		clk.Add(2 * time.Hour)
		if c, rc, reason := tryLogin(t, h, "x-exp", "", tok); c != nil || rc != 0x86 || !strings.Contains(reason, "expired") {
			t.Errorf("expired token: %#x %q", rc, reason)
		}
	})
	t.Run("DisableRevokesPasswordTokensAndConnections", func(t *testing.T) {
		tok, _, _ := h.Accounts().IssueToken("r-manager", time.Hour)
		live := login(t, h, "r-manager", testPassword)
		admin := login(t, h, "admin", testPassword)
		admin.subscribe("replies/admin")
		admin.mustPublish(authz.AdminTopic, []byte(`{"op":"accounts.update","id":"r-manager","enabled":false}`), reply("replies/admin", nil))
		if m := admin.next("replies/admin"); userProp(m, wot.PropStatus) != string(wot.StatusCompleted) {
			t.Fatalf("disable: %s", m.Payload)
		}
		select {
		case <-live.Done():
		case <-time.After(30 * time.Second):
			t.Error("connection of the disabled account still open")
		}
		if c, rc, _ := tryLogin(t, h, "x-dis", "r-manager", testPassword); c != nil || rc != 0x87 {
			t.Errorf("disabled password login: %#x", rc)
		}
		if c, rc, _ := tryLogin(t, h, "x-dis2", "", tok); c != nil || rc >= 0x80 == false {
			t.Errorf("token of disabled account: %#x", rc)
		}
	})
	t.Run("Throttle", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			tryLogin(t, h, fmt.Sprint("x-th", i), "r-service", "wrong password!")
		}
		if c, rc, _ := tryLogin(t, h, "x-th-ok", "r-service", testPassword); c != nil || rc != 0x9F {
			t.Errorf("throttled login with the right password: %#x", rc)
		}
		clk.Add(2 * time.Minute)
		login(t, h, "r-service", testPassword)
	})
	t.Run("ClientIDOfAnotherAccount", func(t *testing.T) {
		// Each account has its own client IDs: both connect, neither takes
		// the other's session over (TestSessionOwnership).
		first := login(t, h, "r-viewer", testPassword) // client ID r-viewer-c
		c, rc, _ := tryLogin(t, h, "r-viewer-c", "r-operator", testPassword)
		if c == nil {
			t.Fatalf("refused another account's client ID: %#x", rc)
		}
		if rc := first.trySubscribe("things/#"); rc >= 0x80 {
			t.Errorf("the first account's connection was cut: SUBACK %#x", rc)
		}
	})
	t.Run("StoreHoldsOnlyHashes", func(t *testing.T) {
		for _, a := range h.Accounts().List() {
			if len(a.Hash) != 0 {
				t.Errorf("List leaks the hash of %s", a.ID)
			}
		}
		if strings.Contains(logs.String(), testPassword) || strings.Contains(logs.String(), "wrong password!") {
			t.Error("a password appears in the log")
		}
		if strings.Contains(logs.String(), "eyJ") {
			t.Error("a token appears in the log")
		}
		_ = ctx
	})
}

// TestNoRoleSeesNothing: an agent account (no consumer role) subscribed to
// everything receives nothing but its own requests; a viewer with "#"
// receives twin state but no action statuses, replies or requests of
// others, and cannot change, delete or invoke anything.
func TestNoRoleSeesNothing(t *testing.T) {
	h, _ := secureHub(t)
	agent := login(t, h, "r-agent", testPassword)
	viewer := login(t, h, "r-viewer", testPassword)
	if rc := agent.trySubscribe("things/#"); rc >= 0x80 {
		t.Fatalf("SUBACK %#x", rc)
	}
	viewer.subscribe("#")
	operator := login(t, h, "r-operator", testPassword)
	operator.subscribe("replies/r-operator")
	operator.mustPublish(wot.ActionTopic("urn:t:owner", "a"), nil, reply("replies/r-operator", []byte("op")))
	operator.next("replies/r-operator")
	owner := login(t, h, "owner", testPassword)
	owner.mustPublish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "owner", ThingID: "urn:t:owner", Name: "e"}.String(), []byte("5"), nil)
	viewer.next(wot.EventTopic("urn:t:owner", "e"))
	agent.none("", 300*time.Millisecond)
	deadline := time.After(300 * time.Millisecond)
	for {
		select {
		case m := <-viewer.Msgs:
			if strings.Contains(m.Topic, "/actions/") || strings.HasPrefix(m.Topic, "replies/") || strings.HasPrefix(m.Topic, "agents/") {
				t.Errorf("viewer received %s", m.Topic)
			}
			continue
		case <-deadline:
		}
		break
	}
	for _, tc := range []struct{ topic, payload string }{
		{wot.Topic{Kind: wot.TopicPropertySet, ThingID: "urn:t:owner", Name: "p"}.String(), "1"},
		{wot.ActionTopic("urn:t:owner", "a"), ""},
		{wot.Topic{Kind: wot.TopicAgentTD, AgentID: "r-viewer", ThingID: "urn:t:owner"}.String(), ""},
		{authz.AdminTopic, `{"op":"things.delete","thing":"urn:t:owner"}`},
	} {
		if rc, _ := viewer.publish(tc.topic, []byte(tc.payload), reply("replies/r-viewer", nil)); rc != wot.ReasonNotAuthorized {
			t.Errorf("viewer publish %s: %#x", tc.topic, rc)
		}
	}
	var st wot.ActionStatus
	_ = json.Unmarshal(nil, &st)
}

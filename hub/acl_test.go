package hub_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// Free topics and their access rules (docs/security.md, "Free topics and
// access rules"), through the real hub: each rule kind, substitution, a
// live change, development mode, the reserved namespaces, Wills, retained
// messages and shared subscriptions.

// aclRule adds a rule through the admin API over MQTT, as wotmq acl does,
// and returns it with its ID.
func aclRule(t *testing.T, admin *client, r authz.TopicRule) authz.TopicRule {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"op": "acl.add", "rule": r})
	admin.mustPublish(authz.AdminTopic, body, reply("replies/admin/acl", nil))
	m := admin.next("replies/admin/acl")
	if userProp(m, wot.PropStatus) != string(wot.StatusCompleted) {
		t.Fatalf("acl.add %+v: %s", r, m.Payload)
	}
	var out authz.TopicRule
	if err := json.Unmarshal(m.Payload, &out); err != nil || out.ID == "" {
		t.Fatalf("acl.add answer %s: %v", m.Payload, err)
	}
	return out
}

// aclAdmin starts a hub with accounts (secureHub: one account per role,
// r-{role}) and logs the admin in, subscribed to its replies.
func aclAdmin(t *testing.T) (*hub.Hub, *client) {
	t.Helper()
	h, _ := secureHub(t)
	admin := login(t, h, "admin", testPassword)
	admin.subscribe("replies/admin/#")
	return h, admin
}

// aclSubCode subscribes to filter and returns the SUBACK reason code.
func aclSubCode(t *testing.T, c *client, filter string) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if err != nil && sa == nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	return sa.Reasons[0]
}

func TestFreeTopicsClosedWithAccounts(t *testing.T) {
	h, _ := aclAdmin(t)
	for _, r := range authz.Roles() {
		c := login(t, h, "r-"+string(r), testPassword)
		if rc, _ := c.publish("site/x", []byte("1"), nil); rc != 0x87 {
			t.Errorf("%s published on a free topic without a rule: %#x", r, rc)
		}
		if rc := aclSubCode(t, c, "site/#"); rc != 0x87 {
			t.Errorf("%s subscribed to a free topic without a rule: %#x", r, rc)
		}
	}
}

func TestAccessRules(t *testing.T) {
	h, admin := aclAdmin(t)
	viewer := login(t, h, "r-viewer", testPassword)
	operator := login(t, h, "r-operator", testPassword)
	aclRule(t, admin, authz.TopicRule{Who: "r-operator", Filter: "site/#", Publish: true})
	sub := aclRule(t, admin, authz.TopicRule{Who: "role:viewer", Filter: "site/#", Subscribe: true})
	aclRule(t, admin, authz.TopicRule{Who: "*", Filter: "site/secret/#", Subscribe: true, Deny: true})
	aclRule(t, admin, authz.TopicRule{Who: "*", Filter: "home/%u/#", Publish: true, Subscribe: true})

	t.Run("PublishByAccountSubscribeByRole", func(t *testing.T) {
		viewer.subscribe("site/#")
		operator.mustPublish("site/a", []byte("1"), nil)
		if m := viewer.next("site/a"); string(m.Payload) != "1" {
			t.Fatalf("got %s", m.Payload)
		}
		if rc, _ := viewer.publish("site/a", []byte("2"), nil); rc != 0x87 {
			t.Fatalf("viewer published without a publish rule: %#x", rc)
		}
	})
	t.Run("DenyWinsPerDelivery", func(t *testing.T) {
		if rc := aclSubCode(t, viewer, "site/secret/#"); rc != 0x87 {
			t.Fatalf("a filter the deny rule covers: SUBACK %#x", rc)
		}
		operator.mustPublish("site/secret/k", []byte("secret"), nil)
		operator.mustPublish("site/marker", []byte("m"), nil)
		if m := viewer.next(""); m.Topic != "site/marker" {
			t.Fatalf("viewer's site/# received %s before the marker", m.Topic)
		}
	})
	t.Run("AccountSubstitution", func(t *testing.T) {
		viewer.subscribe("home/r-viewer/#")
		if rc := aclSubCode(t, viewer, "home/r-operator/#"); rc != 0x87 {
			t.Fatalf("%%u opened another account's space: %#x", rc)
		}
		viewer.mustPublish("home/r-viewer/x", []byte("mine"), nil)
		if m := viewer.next("home/r-viewer/x"); string(m.Payload) != "mine" {
			t.Fatalf("got %s", m.Payload)
		}
		if rc, _ := viewer.publish("home/r-operator/x", []byte("theirs"), nil); rc != 0x87 {
			t.Fatalf("%%u let a publish into another account's space: %#x", rc)
		}
	})
	t.Run("LiveRemoveStopsDeliveries", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"op": "acl.remove", "id": sub.ID})
		admin.mustPublish(authz.AdminTopic, body, reply("replies/admin/acl", nil))
		admin.next("replies/admin/acl")
		operator.subscribe("home/r-operator/#")
		operator.mustPublish("site/after-removal", []byte("x"), nil)
		// A client's publishes are delivered in order, each to all its
		// subscribers before the next: once the operator's own marker is
		// back, site/after-removal's deliveries were decided. (Its PUBACK
		// alone does not say so: on a loaded machine the rule came back
		// below before they were, and the viewer received it.)
		operator.mustPublish("home/r-operator/marker", []byte("m"), nil)
		operator.next("home/r-operator/marker")
		viewer.mustPublish("home/r-viewer/marker", []byte("m"), nil)
		if m := viewer.next(""); m.Topic != "home/r-viewer/marker" {
			t.Fatalf("a subscription whose rule was removed still received %s", m.Topic)
		}
		aclRule(t, admin, authz.TopicRule{Who: "role:viewer", Filter: "site/#", Subscribe: true})
		operator.mustPublish("site/again", []byte("y"), nil)
		if m := viewer.next(""); m.Topic != "site/again" {
			t.Fatalf("the subscription did not receive again once a rule allowed it: %s", m.Topic)
		}
	})
	t.Run("ReservedNamespacesKeepTheirRules", func(t *testing.T) {
		for _, f := range []string{"things/#", "agents/r-viewer/#", "replies/#", "wotmq/admin", "$SYS/#"} {
			body, _ := json.Marshal(map[string]any{"op": "acl.add", "rule": authz.TopicRule{Who: "*", Filter: f, Publish: true}})
			if rc, _ := admin.publish(authz.AdminTopic, body, reply("replies/admin/acl", nil)); rc != 0x99 {
				t.Errorf("a rule on %s: PUBACK %#x", f, rc)
			}
			if m := admin.next("replies/admin/acl"); userProp(m, wot.PropError) != string(wot.CodeInvalidPayload) {
				t.Errorf("a rule on %s was not refused: %s", f, m.Payload)
			}
		}
		aclRule(t, admin, authz.TopicRule{Who: "*", Filter: "#", Publish: true})
		if rc, _ := viewer.publish(wot.Topic{Kind: wot.TopicEvent, ThingID: "urn:t:owner", Name: "e"}.String(), []byte("1"), nil); rc < 0x80 {
			t.Fatalf("a rule on # opened a twin topic: %#x", rc)
		}
	})
	t.Run("NotAdminsManageRules", func(t *testing.T) {
		operator.subscribe("replies/r-operator/#")
		body, _ := json.Marshal(map[string]any{"op": "acl.add", "rule": authz.TopicRule{Who: "*", Filter: "x", Publish: true}})
		_, _ = operator.publish(authz.AdminTopic, body, reply("replies/r-operator/acl", nil))
		if m := operator.next("replies/r-operator/acl"); userProp(m, wot.PropError) != string(wot.CodeDenied) {
			t.Fatalf("an operator added a rule: %s", m.Payload)
		}
	})
}

func TestFreeTopicsWillsRetainedShared(t *testing.T) {
	h, admin := aclAdmin(t)
	aclRule(t, admin, authz.TopicRule{Who: "role:agent", Filter: "tele/%u/#", Publish: true})
	aclRule(t, admin, authz.TopicRule{Who: "role:viewer", Filter: "tele/#", Subscribe: true})
	viewer := login(t, h, "r-viewer", testPassword)

	t.Run("WillDecidedByRules", func(t *testing.T) {
		if _, _, rc, reason := aclTryWill(t, h, "r-agent", "tele/r-operator/LWT"); rc != 0x87 {
			t.Fatalf("a Will on a topic the rules close: CONNACK %#x %s", rc, reason)
		}
		viewer.subscribe("tele/#")
		c, aclConn, rc, reason := aclTryWill(t, h, "r-agent", "tele/r-agent/LWT")
		if c == nil {
			t.Fatalf("a Will the rules allow: CONNACK %#x %s", rc, reason)
		}
		aclConn.Close() // ends without DISCONNECT: the Will goes
		m := viewer.next("tele/r-agent/LWT")
		if string(m.Payload) != "Offline" || m.Properties == nil || m.Properties.User.Get("device") != "plug" {
			t.Fatalf("Will arrived as %q %+v", m.Payload, m.Properties)
		}
	})
	t.Run("RetainedDecidedPerSubscriber", func(t *testing.T) {
		other := login(t, h, "r-operator", testPassword)
		if rc := aclSubCode(t, other, "tele/#"); rc != 0x87 {
			t.Fatalf("operator subscribed without a rule: %#x", rc)
		}
		late := dialAs(t, h, "r-viewer", "late")
		late.subscribe("tele/+/LWT")
		if m := late.next("tele/r-agent/LWT"); !m.Retain || string(m.Payload) != "Offline" {
			t.Fatalf("retained Will: %q retain %v", m.Payload, m.Retain)
		}
	})
	t.Run("SharedSubscriptions", func(t *testing.T) {
		a := dialAs(t, h, "r-viewer", "s1")
		a.subscribe("$share/g/tele/#")
		if rc := aclSubCode(t, login(t, h, "r-manager", testPassword), "$share/g/tele/#"); rc != 0x87 {
			t.Fatalf("manager joined a shared subscription without a rule: %#x", rc)
		}
		agent := login(t, h, "r-agent", testPassword)
		agent.mustPublish("tele/r-agent/STATE", []byte(`{"POWER":"ON"}`), nil)
		if m := a.next("tele/r-agent/STATE"); string(m.Payload) != `{"POWER":"ON"}` {
			t.Fatalf("shared subscription got %s", m.Payload)
		}
	})
}

// dialAs logs account in with its own client ID.
func dialAs(t *testing.T, h *hub.Hub, account, clientID string) *client {
	t.Helper()
	c, rc, reason := tryLogin(t, h, clientID, account, testPassword)
	if c == nil {
		t.Fatalf("login %s: CONNACK %#x %s", account, rc, reason)
	}
	return c
}

// aclTryWill logs account in with a retained text Will on topic; the
// client is nil when the hub refuses, with the CONNACK's code and reason.
func aclTryWill(t *testing.T, h *hub.Hub, account, topic string) (*client, net.Conn, byte, string) {
	t.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{hubtest.NewClient(t, conn, account+"-will")}
	cp := &paho.Connect{ClientID: account + "-will", CleanStart: true, KeepAlive: 30,
		Username: account, UsernameFlag: true, Password: []byte(testPassword), PasswordFlag: true,
		WillMessage: &paho.WillMessage{Topic: topic, Payload: []byte("Offline"), QoS: 1, Retain: true},
		// paho.golang packs Will properties as CONNECT properties: the
		// content type is lost on its side, user properties go through.
		WillProperties: &paho.WillProperties{User: paho.UserProperties{{Key: "device", Value: "plug"}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		if ca != nil {
			reason := ""
			if ca.Properties != nil {
				reason = ca.Properties.ReasonString
			}
			return nil, nil, ca.ReasonCode, reason
		}
		t.Fatalf("connect %s: %v", account, err)
	}
	return c, conn, 0, ""
}

func TestFreeTopicsOpenInDev(t *testing.T) {
	h := hubtest.Start(t)
	a := dial(t, h, "a")
	b := dial(t, h, "b")
	b.subscribe("#")
	a.mustPublish("any/topic", []byte("1"), &paho.PublishProperties{ContentType: "text/plain", User: paho.UserProperties{{Key: "k", Value: "v"}}})
	m := b.next("any/topic")
	if m.Properties.ContentType != "text/plain" || m.Properties.User.Get("k") != "v" {
		t.Fatalf("properties not relayed as sent: %+v", m.Properties)
	}
}

func TestHubTDOutOfWildcards(t *testing.T) {
	h := hubtest.Start(t)
	general := dial(t, h, "general")
	general.subscribe("#", "+/+")
	exact := dial(t, h, "exact")
	exact.subscribe(wot.LegacyHubTDTopic)
	if m := exact.next(wot.LegacyHubTDTopic); !m.Retain || len(m.Payload) == 0 {
		t.Fatal("the old hub TD topic lost its retained TD")
	}
	dollar := dial(t, h, "dollar")
	dollar.subscribe(wot.HubTDTopic)
	if m := dollar.next(wot.HubTDTopic); !m.Retain || len(m.Payload) == 0 {
		t.Fatal("no retained hub TD on " + wot.HubTDTopic)
	}
	general.mustPublish("marker/x", []byte("m"), nil)
	if m := general.next(""); m.Topic != "marker/x" {
		t.Fatalf("a # subscriber received %s before its own marker", m.Topic)
	}
}

// TestFreeTopicRetainedSurvivesRestart: a site moving from a broker with
// persistence loses nothing: retained messages of free topics, with their
// properties, come back after a restart; cleared ones stay cleared.
func TestFreeTopicRetainedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir)
	dev := dial(t, h, "plug")
	props := &paho.PublishProperties{ContentType: "text/plain", User: paho.UserProperties{{Key: "k", Value: "v"}}}
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	for _, p := range []*paho.Publish{
		{Topic: "stat/plug1/POWER", Payload: []byte("ON"), QoS: 1, Retain: true, Properties: props},
		{Topic: "stat/plug1/gone", Payload: []byte("x"), QoS: 1, Retain: true},
		{Topic: "stat/plug1/gone", QoS: 1, Retain: true}, // clears it
	} {
		if _, err := dev.Publish(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = startHub(t, dir)
	late := dial(t, h, "dashboard")
	late.subscribe("stat/#")
	m := late.next("")
	if m.Topic != "stat/plug1/POWER" || string(m.Payload) != "ON" || !m.Retain || m.Properties.ContentType != "text/plain" || m.Properties.User.Get("k") != "v" {
		t.Fatalf("after a restart: %s %q retain %v %+v", m.Topic, m.Payload, m.Retain, m.Properties)
	}
	late.mustPublish("stat/marker", []byte("m"), nil)
	if m := late.next(""); m.Topic != "stat/marker" {
		t.Fatalf("a cleared retained message came back: %s", m.Topic)
	}
}

// TestDevClientsShareGroups: anonymous development clients, each an
// account of its own, share a group as on a plain broker (each message to
// one of them); accounts keep their groups apart.
func TestDevClientsShareGroups(t *testing.T) {
	h := hubtest.Start(t)
	a := dial(t, h, "a")
	b := dial(t, h, "b")
	a.subscribe("$share/g/jobs/#", "marker")
	b.subscribe("$share/g/jobs/#", "marker")
	pub := dial(t, h, "pub")
	pub.mustPublish("jobs/1", []byte("1"), nil)
	pub.mustPublish("marker", []byte("m"), nil)
	got := 0
	for _, c := range []*client{a, b} {
		for m := c.next(""); m.Topic != "marker"; m = c.next("") {
			got++
		}
	}
	if got != 1 {
		t.Fatalf("a message to a shared group of two anonymous clients arrived %d times", got)
	}
}

package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// clusterAcctNode starts a node of a cluster that requires credentials
// (no --dev), with HTTP, its data in dir; natsURL joins the first node's
// NATS ("" embeds one: the first node).
func clusterAcctNode(t *testing.T, dir, name, natsURL string) *hub.Hub {
	t.Helper()
	return startHub(t, dir, withHTTP, func(o *hub.Options) {
		o.Dev = false
		o.PasswordCost = 4
		o.Cluster = hub.ClusterOptions{Name: "acct", NodeName: name, Listen: "127.0.0.1:0"}
		if natsURL != "" {
			o.Cluster.Listen, o.Cluster.NATSURLs = "", []string{natsURL}
		}
	})
}

// clusterAcctApplied waits until node h has applied a change made on
// another node (cond reads h's account store).
func clusterAcctApplied(t *testing.T, what string, cond func() bool) {
	t.Helper()
	hubtest.WaitFor(t, what, cond)
}

// TestClusterAccounts runs a cluster of two nodes in one process without
// --dev: the first admin is created once for the cluster, and every change
// of accounts, access lists, access rules and tokens made on one node
// decides on the other, ending what it voids there with the reason codes a
// single node uses; after a restart all of it is still there.
func TestClusterAccounts(t *testing.T) {
	ctx := context.Background()
	dirA := t.TempDir()
	a := clusterAcctNode(t, dirA, "a", "")
	b := clusterAcctNode(t, t.TempDir(), "b", a.NATSURL())
	acA, acB := a.Accounts(), b.Accounts()

	adminPW := a.InitialAdminPassword()
	t.Run("FirstAdminOnceForTheCluster", func(t *testing.T) {
		if adminPW == "" {
			t.Fatal("the first node made no admin password")
		}
		if pw := b.InitialAdminPassword(); pw != "" {
			t.Fatal("the second node made another admin password")
		}
		if n := acB.Len(); n != 1 {
			t.Fatalf("the second node has %d accounts, want the one admin", n)
		}
		acctLogin(t, b, "admin-b", "admin", adminPW)
	})

	add := func(id string, role authz.Role) {
		t.Helper()
		if err := acA.Add(ctx, id, role, "", testPassword); err != nil {
			t.Fatal(err)
		}
		clusterAcctApplied(t, id+" on node b", func() bool { _, ok := acB.Get(id); return ok })
	}
	t.Run("AccountMadeOnALogsInOnB", func(t *testing.T) {
		add("alice", authz.RoleOperator)
		acctLogin(t, b, "alice-b", "alice", testPassword)
		newWeb(t, b, "Authorization", basic("alice", testPassword)).do("GET", "/things", nil).want(t, 200)
		if err := acB.Add(ctx, "alice", authz.RoleViewer, "", testPassword); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Fatalf("alice made again on node b: %v", err)
		}
	})
	t.Run("OneAccountOnBothNodes", func(t *testing.T) {
		// Another client ID of the account is another session, kept on
		// each node as on one; the same client ID on another node takes
		// its session over (0x8E).
		onA := acctLogin(t, a, "alice-phone", "alice", testPassword)
		tablet := acctLogin(t, a, "alice-tablet", "alice", testPassword)
		onB := acctLogin(t, b, "alice-laptop", "alice", testPassword)
		again := acctLogin(t, b, "alice-phone", "alice", testPassword)
		if rc, _ := acctEnded(t, onA); rc != 0x8E {
			t.Errorf("alice-phone on node a ended with %#x, want 0x8E session taken over", rc)
		}
		// Sentinels: the account's other connections are up (a SUBACK each).
		for _, c := range []*client{tablet, onB, again} {
			c.Sub(wot.TDTopic("urn:t:none"))
		}
	})
	t.Run("DisabledOnAEndsItsConnectionsOnB", func(t *testing.T) {
		add("dis", authz.RoleViewer)
		c := acctLogin(t, b, "dis-b", "dis", testPassword)
		s := newWeb(t, b, "Authorization", basic("dis", testPassword)).stream("/events")
		off := false
		t0 := time.Now()
		if err := acA.Update(ctx, "dis", nil, nil, &off, nil); err != nil {
			t.Fatal(err)
		}
		stored := time.Since(t0)
		if rc, reason := acctEnded(t, c); rc != 0x87 || !strings.Contains(reason, "disabled") {
			t.Errorf("DISCONNECT %#x %q on node b, want 0x87 account disabled (as on one node)", rc, reason)
		}
		t.Logf("disable stored on a in %s; the connection on b ended %s after the call began", stored.Round(time.Microsecond), time.Since(t0).Round(time.Microsecond))
		acctStreamEnded(t, s)
		if _, rc, _ := acctDial(t, b, "127.0.0.1", "dis-b2", "dis", testPassword); rc != 0x87 && rc != 0x86 {
			t.Errorf("a disabled account's login on node b: CONNACK %#x", rc)
		}
	})
	t.Run("RoleAndPasswordChangedOnAEndConnectionsOnB", func(t *testing.T) {
		add("roler", authz.RoleViewer)
		add("pwuser", authz.RoleViewer)
		cr := acctLogin(t, b, "roler-b", "roler", testPassword)
		cp := acctLogin(t, b, "pwuser-b", "pwuser", testPassword)
		op, pw := authz.RoleOperator, "another password 1"
		if err := acA.Update(ctx, "roler", &op, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := acA.Update(ctx, "pwuser", nil, nil, nil, &pw); err != nil {
			t.Fatal(err)
		}
		if rc, reason := acctEnded(t, cr); rc != 0x98 || !strings.Contains(reason, "role") {
			t.Errorf("role change: DISCONNECT %#x %q on node b, want 0x98", rc, reason)
		}
		if rc, reason := acctEnded(t, cp); rc != 0x98 || !strings.Contains(reason, "password") {
			t.Errorf("password change: DISCONNECT %#x %q on node b, want 0x98", rc, reason)
		}
		acctLogin(t, b, "pwuser-b2", "pwuser", pw)
	})
	var tok string
	t.Run("TokenRevokedOnAEndsItsConnectionOnB", func(t *testing.T) {
		add("tok", authz.RoleViewer)
		var err error
		tok, _, err = acB.IssueToken("tok", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c := acctLogin(t, b, "tok-b", "tok", tok)
		kept := acctLogin(t, b, "tok-b-pw", "tok", testPassword)
		if err := acA.RevokeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if rc, reason := acctEnded(t, c); rc != 0x98 || !strings.Contains(reason, "revoked") {
			t.Errorf("DISCONNECT %#x %q on node b, want 0x98 token revoked", rc, reason)
		}
		if _, rc, _ := acctDial(t, b, "127.0.0.1", "tok-b2", "tok", tok); rc < 0x80 {
			t.Errorf("the revoked token logs in on node b: CONNACK %#x", rc)
		}
		kept.Sub(wot.TDTopic("urn:t:none")) // the password's connection is still up
	})
	t.Run("AccessListSetOnADecidesOnB", func(t *testing.T) {
		add("owner", authz.RoleAgent)
		add("vic", authz.RoleViewer)
		owner := acctLogin(t, a, "owner-a", "owner", testPassword)
		owner.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "owner", ThingID: "urn:t:acl"}.String(), thingTD("urn:t:acl"), nil)
		vic := newWeb(t, b, "Authorization", basic("vic", testPassword))
		clusterAcctApplied(t, "the Thing on node b", func() bool { return vic.do("GET", "/things/urn:t:acl", nil).status == 200 })
		s := vic.stream("/things/urn:t:acl/events/e")
		if err := acA.SetThingACL(ctx, "urn:t:acl", authz.ThingACL{Deny: []string{"vic"}}); err != nil {
			t.Fatal(err)
		}
		acctStreamEnded(t, s)
		vic.do("GET", "/things/urn:t:acl", nil).problem(t, 403, wot.CodeDenied)
	})
	var rule authz.TopicRule
	t.Run("AccessRuleAddedOnADecidesOnB", func(t *testing.T) {
		c := acctLogin(t, b, "alice-free", "alice", testPassword)
		if rc, _ := c.publish("free/alice", []byte("x"), nil); rc < 0x80 {
			t.Fatalf("a free topic without a rule: PUBACK %#x", rc)
		}
		var err error
		if rule, err = acA.AddTopicRule(ctx, authz.TopicRule{Who: "alice", Filter: "free/#", Publish: true}); err != nil {
			t.Fatal(err)
		}
		clusterAcctApplied(t, "the rule on node b", func() bool { return len(acB.TopicRules()) == 1 })
		c.mustPublish("free/alice", []byte("y"), nil)
	})

	// A restart of the whole cluster keeps all of it (the node that
	// embeds NATS holds the bucket).
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = clusterAcctNode(t, dirA, "a", "")
	acA = a.Accounts()
	t.Run("KeptAcrossARestart", func(t *testing.T) {
		if pw := a.InitialAdminPassword(); pw != "" {
			t.Error("a restart made another admin password")
		}
		acctLogin(t, a, "admin-a", "admin", adminPW)
		acctLogin(t, a, "pwuser-a", "pwuser", "another password 1")
		if _, rc, _ := acctDial(t, a, "127.0.0.1", "tok-a", "tok", tok); rc < 0x80 {
			t.Errorf("the revoked token logs in after the restart: CONNACK %#x", rc)
		}
		if acc, _ := acA.Get("dis"); acc.Enabled {
			t.Error("the disabled account is enabled after the restart")
		}
		if acl, ok := acA.ThingACL("urn:t:acl"); !ok || len(acl.Deny) != 1 {
			t.Errorf("access list after the restart: %+v, %v", acl, ok)
		}
		if rules := acA.TopicRules(); len(rules) != 1 || rules[0].ID != rule.ID {
			t.Errorf("rules after the restart: %+v", rules)
		}
	})
}

// TestClusterResetPasswordRefused: wotmq reset-password on a cluster
// node's data directory says it cannot reach the cluster's accounts
// rather than changing a Badger copy no node reads.
func TestClusterResetPasswordRefused(t *testing.T) {
	dir := t.TempDir()
	h := clusterAcctNode(t, dir, "solo", "")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := hub.ResetPassword(context.Background(), dir, "admin", "a new password 1", nil)
	if err == nil || !strings.Contains(err.Error(), "cluster") {
		t.Fatalf("reset-password on a cluster node: %v, want a refusal naming the cluster", err)
	}
}

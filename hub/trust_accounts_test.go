package hub_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// Tests of issue 12, accounts group: what account, password and access
// list changes do to live connections (item 4), the login throttle (8),
// tokens and password changes (9) and account enumeration (14).

// acctWait is the last-resort bound of every wait in these tests: generous,
// so that a busy machine never fails them.
const acctWait = 30 * time.Second

// acctDial connects from local, an address of the loopback network (the
// tests play several client addresses with 127.0.0.1, 127.0.0.2, ...), and
// returns the client, or nil with the CONNACK reason code and string. The
// client records a DISCONNECT from the server.
func acctDial(t testing.TB, h *hub.Hub, local, clientID, user, pass string) (*client, byte, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: acctWait}
	conn, err := d.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{hubtest.NewClient(t, conn, clientID)}
	cp := &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: user != "", Password: []byte(pass), PasswordFlag: pass != ""}
	ctx, cancel := context.WithTimeout(context.Background(), acctWait)
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

// acctLogin connects from 127.0.0.1 and fails the test on a refusal.
func acctLogin(t testing.TB, h *hub.Hub, clientID, user, pass string) *client {
	t.Helper()
	w, rc, reason := acctDial(t, h, "127.0.0.1", clientID, user, pass)
	if w == nil {
		t.Fatalf("login %s: CONNACK %#x %s", user, rc, reason)
	}
	return w
}

// acctEnded waits until the server closed the connection and returns its
// DISCONNECT reason code (0 when it closed without one).
func acctEnded(t testing.TB, w *client) (byte, string) {
	t.Helper()
	select {
	case <-w.Done():
	case <-time.After(acctWait):
		t.Fatalf("%s: connection still open", w.ID)
	}
	select {
	case d := <-w.ServerDisconnect:
		reason := ""
		if d.Properties != nil {
			reason = d.Properties.ReasonString
		}
		return d.ReasonCode, reason
	case <-time.After(30 * time.Second): // OnServerDisconnect runs on its own goroutine
		return 0, ""
	}
}

// acctAdmin sends an admin request as c (account me) and returns the
// reply's status and payload.
func acctAdmin(t testing.TB, c *client, me, req string) (string, []byte) {
	t.Helper()
	topic := "replies/" + me + "/acct"
	c.subscribe(topic)
	c.publish(authz.AdminTopic, []byte(req), reply(topic, []byte("acct")))
	m := c.next(topic)
	return userProp(m, wot.PropStatus), m.Payload
}

// acctStreamEnded waits until the server ended an event stream.
func acctStreamEnded(t testing.TB, s *sseStream) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(acctWait):
		t.Fatal("the event stream is still open")
	}
}

// acctNextEvent returns the next event of a stream, failing the test if the
// stream ends first.
func acctNextEvent(t testing.TB, s *sseStream) sseEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-s.closed:
		t.Fatal("the event stream ended")
	case <-time.After(acctWait):
		t.Fatal("no event")
	}
	return sseEvent{}
}

// acctAddAccount adds an account with testPassword.
func acctAddAccount(t testing.TB, h *hub.Hub, id string, role authz.Role) {
	t.Helper()
	if err := h.Accounts().Add(context.Background(), id, role, "", testPassword); err != nil {
		t.Fatal(err)
	}
}

// TestLiveRevocation: a change of an account (role, password, disabled) or
// of a Thing's access list reaches the connections and event streams that
// are already open (issue 12, item 4).
func TestLiveRevocation(t *testing.T) {
	h, _ := secureHub(t, withHTTP)
	ctx := context.Background()
	owner := acctLogin(t, h, "owner-acct", "owner", testPassword)
	event := func(thing string, v string) {
		owner.mustPublish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "owner", ThingID: thing, Name: "e"}.String(), []byte(v), nil)
	}
	owner.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "owner", ThingID: "urn:t:owner2"}.String(), thingTD("urn:t:owner2"), nil)

	t.Run("DemotedAdminIsDisconnected", func(t *testing.T) {
		acctAddAccount(t, h, "boss", authz.RoleAdmin)
		c := acctLogin(t, h, "boss-c", "boss", testPassword)
		if st, _ := acctAdmin(t, c, "boss", `{"op":"accounts.list"}`); st != string(wot.StatusCompleted) {
			t.Fatalf("admin request before the change: %s", st)
		}
		viewer := authz.RoleViewer
		if err := h.Accounts().Update(ctx, "boss", &viewer, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		// [MQTT-3.14.2-1] a DISCONNECT with a reason code; 0x98 is
		// "administrative action".
		if rc, reason := acctEnded(t, c); rc != 0x98 || reason == "" {
			t.Errorf("DISCONNECT %#x %q, want 0x98 with a reason string", rc, reason)
		}
		again := acctLogin(t, h, "boss-c2", "boss", testPassword)
		if st, _ := acctAdmin(t, again, "boss", `{"op":"accounts.list"}`); st != string(wot.StatusFailed) {
			t.Errorf("admin request after the demotion: %s", st)
		}
	})
	t.Run("PasswordChangeDisconnects", func(t *testing.T) {
		acctAddAccount(t, h, "pw-user", authz.RoleOperator)
		c := acctLogin(t, h, "pw-user-c", "pw-user", testPassword)
		pw := "another password 1"
		if err := h.Accounts().Update(ctx, "pw-user", nil, nil, nil, &pw); err != nil {
			t.Fatal(err)
		}
		if rc, _ := acctEnded(t, c); rc < 0x80 {
			t.Errorf("DISCONNECT %#x, want a refusal code", rc)
		}
	})
	t.Run("DisableDisconnectsWithNotAuthorized", func(t *testing.T) {
		acctAddAccount(t, h, "dis-user", authz.RoleOperator)
		c := acctLogin(t, h, "dis-user-c", "dis-user", testPassword)
		off := false
		if err := h.Accounts().Update(ctx, "dis-user", nil, nil, &off, nil); err != nil {
			t.Fatal(err)
		}
		if rc, reason := acctEnded(t, c); rc != 0x87 || !strings.Contains(reason, "disabled") {
			t.Errorf("DISCONNECT %#x %q, want 0x87 account disabled", rc, reason)
		}
	})
	t.Run("DisableEndsEventStreams", func(t *testing.T) {
		acctAddAccount(t, h, "sse-dis", authz.RoleViewer)
		s := newWeb(t, h, "Authorization", basic("sse-dis", testPassword)).stream("/things/urn:t:owner/events/e")
		dir := newWeb(t, h, "Authorization", basic("sse-dis", testPassword)).stream("/events")
		off := false
		if err := h.Accounts().Update(ctx, "sse-dis", nil, nil, &off, nil); err != nil {
			t.Fatal(err)
		}
		acctStreamEnded(t, s)
		acctStreamEnded(t, dir)
	})
	t.Run("RoleChangeEndsEventStreams", func(t *testing.T) {
		acctAddAccount(t, h, "sse-role", authz.RoleViewer)
		s := newWeb(t, h, "Authorization", basic("sse-role", testPassword)).stream("/things/urn:t:owner/properties/p")
		agent := authz.RoleAgent
		if err := h.Accounts().Update(ctx, "sse-role", &agent, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		acctStreamEnded(t, s)
	})
	t.Run("DenyRuleEndsEventStreamsItDenies", func(t *testing.T) {
		acctAddAccount(t, h, "sse-denied", authz.RoleViewer)
		acctAddAccount(t, h, "sse-kept", authz.RoleViewer)
		denied := newWeb(t, h, "Authorization", basic("sse-denied", testPassword)).stream("/things/urn:t:owner2/events/e")
		kept := newWeb(t, h, "Authorization", basic("sse-kept", testPassword)).stream("/things/urn:t:owner2/events/e")
		if err := h.Accounts().SetThingACL(ctx, "urn:t:owner2", authz.ThingACL{Deny: []string{"sse-denied"}}); err != nil {
			t.Fatal(err)
		}
		acctStreamEnded(t, denied)
		event("urn:t:owner2", "5")
		if ev := acctNextEvent(t, kept); ev.data != "5" {
			t.Errorf("the allowed stream got %q", ev.data)
		}
		_ = h.Accounts().SetThingACL(ctx, "urn:t:owner2", authz.ThingACL{})
	})
	t.Run("DenyRuleStopsMQTTDeliveries", func(t *testing.T) {
		acctAddAccount(t, h, "mq-denied", authz.RoleViewer)
		c := acctLogin(t, h, "mq-denied-c", "mq-denied", testPassword)
		c.subscribe(wot.EventTopic("urn:t:owner", "e"), wot.EventTopic("urn:t:owner2", "e"))
		event("urn:t:owner", "1")
		if m := c.next(""); m.Topic != wot.EventTopic("urn:t:owner", "e") {
			t.Fatalf("before the rule: %s", m.Topic)
		}
		if err := h.Accounts().SetThingACL(ctx, "urn:t:owner", authz.ThingACL{Deny: []string{"role:viewer"}}); err != nil {
			t.Fatal(err)
		}
		event("urn:t:owner", "2")
		event("urn:t:owner2", "3") // the sentinel: once it is in, the denied one would have been too
		if m := c.next(""); m.Topic != wot.EventTopic("urn:t:owner2", "e") {
			t.Errorf("delivered after the deny rule: %s %s", m.Topic, m.Payload)
		}
		_ = h.Accounts().SetThingACL(ctx, "urn:t:owner", authz.ThingACL{})
	})
	t.Run("OtherAccountsStayConnected", func(t *testing.T) {
		acctAddAccount(t, h, "bystander", authz.RoleViewer)
		acctAddAccount(t, h, "changed", authz.RoleViewer)
		by := acctLogin(t, h, "bystander-c", "bystander", testPassword)
		ch := acctLogin(t, h, "changed-c", "changed", testPassword)
		op := authz.RoleOperator
		if err := h.Accounts().Update(ctx, "changed", &op, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		acctEnded(t, ch)
		by.subscribe(wot.EventTopic("urn:t:owner", "e"))
		event("urn:t:owner", "9")
		if m := by.next(wot.EventTopic("urn:t:owner", "e")); string(m.Payload) != "9" {
			t.Errorf("bystander got %s", m.Payload)
		}
	})
}

// TestTokenMinting: a token made with a token never outlives it, and a
// password change needs the current password (issue 12, item 9).
func TestTokenMinting(t *testing.T) {
	clk := &clock{now: time.Now()}
	h, _ := secureHub(t, func(o *hub.Options) { o.Now = clk.Now })
	tokenReply := func(t *testing.T, c *client, me, req string) (string, twin.TokenReply) {
		t.Helper()
		st, body := acctAdmin(t, c, me, req)
		var out twin.TokenReply
		if st == string(wot.StatusCompleted) {
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
		}
		return st, out
	}
	t.Run("TokenCannotMintALongerToken", func(t *testing.T) {
		tok, exp, err := h.Accounts().IssueToken("r-operator", 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		c := acctLogin(t, h, "mint-1", "", tok)
		st, out := tokenReply(t, c, "r-operator", `{"op":"token","ttl":"8760h"}`)
		if st == string(wot.StatusCompleted) && out.Expires.After(exp) {
			t.Errorf("a token of 2 minutes minted one until %s", out.Expires)
		}
		st, out = tokenReply(t, c, "r-operator", `{"op":"token"}`)
		if st != string(wot.StatusCompleted) || out.Expires.After(exp) {
			t.Errorf("default lifetime from a token: %s, expires %s after %s", st, out.Expires, exp)
		}
	})
	t.Run("AdminTokenCannotMintLongerTokensForOthers", func(t *testing.T) {
		tok, exp, _ := h.Accounts().IssueToken("admin", 2*time.Minute)
		c := acctLogin(t, h, "mint-2", "", tok)
		st, out := tokenReply(t, c, "admin", `{"op":"token","id":"r-agent","ttl":"720h"}`)
		if st == string(wot.StatusCompleted) && out.Expires.After(exp) {
			t.Errorf("an admin token of 2 minutes minted one until %s", out.Expires)
		}
	})
	t.Run("PasswordMintsLongTokens", func(t *testing.T) {
		c := acctLogin(t, h, "mint-3", "r-operator", testPassword)
		st, out := tokenReply(t, c, "r-operator", `{"op":"token","ttl":"720h"}`)
		if st != string(wot.StatusCompleted) || out.Expires.Before(clk.Now().Add(719*time.Hour)) {
			t.Errorf("password login asking for 720h: %s until %s", st, out.Expires)
		}
	})
	t.Run("PasswordChangeNeedsTheCurrentPassword", func(t *testing.T) {
		acctAddAccount(t, h, "pw-self", authz.RoleViewer)
		tok, _, _ := h.Accounts().IssueToken("pw-self", time.Hour)
		c := acctLogin(t, h, "pw-self-c", "", tok)
		for name, req := range map[string]string{
			"Without":      `{"op":"accounts.update","password":"stolen password 1"}`,
			"WrongCurrent": `{"op":"accounts.update","password":"stolen password 1","current":"not the password"}`,
		} {
			if st, body := acctAdmin(t, c, "pw-self", req); st != string(wot.StatusFailed) {
				t.Errorf("%s: %s %s", name, st, body)
			}
		}
		if _, err := h.Accounts().Login(context.Background(), "pw-self", testPassword, ""); err != nil {
			t.Fatalf("the password changed: %v", err)
		}
		pw := acctLogin(t, h, "pw-self-c2", "pw-self", testPassword)
		if st, body := acctAdmin(t, pw, "pw-self", `{"op":"accounts.update","password":"my new password 1","current":"`+testPassword+`"}`); st != string(wot.StatusCompleted) {
			t.Errorf("with the current password: %s %s", st, body)
		}
		if _, err := h.Accounts().Login(context.Background(), "pw-self", "my new password 1", ""); err != nil {
			t.Errorf("new password: %v", err)
		}
	})
	t.Run("AdminSetsAnotherAccountsPassword", func(t *testing.T) {
		acctAddAccount(t, h, "pw-other", authz.RoleViewer)
		c := acctLogin(t, h, "admin-pw", "admin", testPassword)
		if st, body := acctAdmin(t, c, "admin", `{"op":"accounts.update","id":"pw-other","password":"set by admin 12"}`); st != string(wot.StatusCompleted) {
			t.Errorf("admin: %s %s", st, body)
		}
		if st, _ := acctAdmin(t, c, "admin", `{"op":"accounts.update","password":"admin own pw 12"}`); st != string(wot.StatusFailed) {
			t.Errorf("an admin's own password without the current one: %s", st)
		}
	})
}

// TestLoginThrottle: guesses from one address neither lock out the account
// from other addresses nor lock other accounts out (issue 12, item 8).
func TestLoginThrottle(t *testing.T) {
	h, _ := secureHub(t, withHTTP, func(o *hub.Options) {
		o.Throttle = authz.ThrottleOptions{Failures: 3, Window: time.Hour, Backoff: time.Hour, AddressFailures: 5, Delay: time.Millisecond}
	})
	guess := func(t *testing.T, from, user string, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if c, rc, _ := acctDial(t, h, from, "guess", user, "a wrong password"); c != nil || rc < 0x80 {
				t.Fatalf("guess %d: %#x", i, rc)
			}
		}
	}
	t.Run("GuessesLockOnlyTheGuessersAddress", func(t *testing.T) {
		guess(t, "127.0.0.2", "r-agent", 6)
		if c, rc, _ := acctDial(t, h, "127.0.0.2", "guess-ok", "r-agent", testPassword); c != nil || rc != 0x9F {
			t.Errorf("the guesser's address with the right password: %#x, want 0x9F", rc)
		}
		acctLogin(t, h, "r-agent-elsewhere", "r-agent", testPassword)
		web := newWeb(t, h, "Authorization", basic("r-agent", testPassword))
		if r := web.do("GET", "/things", nil); r.status == http.StatusTooManyRequests || r.status == http.StatusUnauthorized {
			t.Errorf("HTTP login of the guessed account: %d %s", r.status, r.body)
		}
	})
	t.Run("TokenPassesTheLock", func(t *testing.T) {
		tok, _, _ := h.Accounts().IssueToken("r-agent", time.Hour)
		if c, rc, reason := acctDial(t, h, "127.0.0.2", "guess-tok", "", tok); c == nil {
			t.Errorf("token from the locked address: %#x %s", rc, reason)
		}
	})
	t.Run("OneAddressDoesNotLockOtherAccounts", func(t *testing.T) {
		for _, who := range []string{"nobody-1", "nobody-2", "nobody-3", "r-viewer", "r-manager"} {
			guess(t, "127.0.0.3", who, 3)
		}
		if c, rc, reason := acctDial(t, h, "127.0.0.3", "sprayed-ok", "r-operator", testPassword); c == nil {
			t.Errorf("another account from the spraying address: %#x %s", rc, reason)
		}
	})
}

// TestAccountEnumeration: an unknown account and a known one get the same
// answer (issue 12, item 14). That they take the same time is checked
// structurally in package authz (TestLoginDoesTheSameWork).
func TestAccountEnumeration(t *testing.T) {
	h, _ := secureHub(t, withHTTP)
	type answer struct {
		rc     byte
		reason string
	}
	try := func(t *testing.T, user, pass string) answer {
		t.Helper()
		c, rc, reason := acctDial(t, h, "127.0.0.4", "enum", user, pass)
		if c != nil {
			t.Fatalf("%s logged in", user)
		}
		return answer{rc, reason}
	}
	for name, pass := range map[string]string{"NoPassword": "", "WrongPassword": "wrong password!"} {
		t.Run("MQTT"+name, func(t *testing.T) {
			known, unknown := try(t, "r-viewer", pass), try(t, "no-such-account", pass)
			if known != unknown {
				t.Errorf("known account %+v, unknown %+v: the answer tells them apart", known, unknown)
			}
		})
		t.Run("HTTP"+name, func(t *testing.T) {
			known := newWeb(t, h, "Authorization", basic("r-viewer", pass)).do("GET", "/things", nil)
			unknown := newWeb(t, h, "Authorization", basic("no-such-account", pass)).do("GET", "/things", nil)
			if known.status != unknown.status || string(known.body) != string(unknown.body) {
				t.Errorf("known %d %s, unknown %d %s", known.status, known.body, unknown.status, unknown.body)
			}
		})
	}
}

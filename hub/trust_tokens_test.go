package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// Tests of what a token's end ends: at its expiry, or revoked (the
// explorer's sign-out, token.revoke, `wotmq token revoke`), the MQTT
// connections and event streams opened with it end too, so that a stolen
// short-lived token stays short-lived (docs/security.md, "What ends
// when").

// tokShort is the lifetime of the tokens these tests let expire: tokens
// count whole seconds, so a token of 2 s has between 1 and 2 s left.
const tokShort = 2 * time.Second

// tokIssue issues a token for an account, failing the test otherwise.
func tokIssue(t testing.TB, h *hub.Hub, id string, ttl time.Duration) string {
	t.Helper()
	tok, _, err := h.Accounts().IssueToken(id, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tokWaitExpired waits until the hub takes tok for expired.
func tokWaitExpired(t testing.TB, h *hub.Hub, tok string) {
	t.Helper()
	deadline := time.Now().Add(acctWait)
	for {
		_, err := h.Accounts().VerifyToken(tok)
		if errors.Is(err, authz.ErrTokenExpired) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the token did not expire: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling the condition, not waiting out a time
	}
}

// tokStreamEnd waits for the stream to end and returns its last event.
func tokStreamEnd(t testing.TB, s *sseStream) sseEvent {
	t.Helper()
	var last sseEvent
	for {
		select {
		case ev := <-s.events:
			last = ev
		case <-s.closed:
			for {
				select {
				case ev := <-s.events:
					last = ev
				default:
					return last
				}
			}
		case <-time.After(acctWait):
			t.Fatal("the event stream is still open")
		}
	}
}

// tokEndEvent checks that a stream's last event says why it ended.
func tokEndEvent(t testing.TB, ev sseEvent, code wot.Code, detail string) {
	t.Helper()
	var p struct {
		Code   wot.Code `json:"code"`
		Detail string   `json:"detail"`
	}
	if ev.event != "wotmq:end" || json.Unmarshal([]byte(ev.data), &p) != nil || p.Code != code || !strings.Contains(p.Detail, detail) {
		t.Errorf("last event %q %q, want wotmq:end with code %s and %q", ev.event, ev.data, code, detail)
	}
}

// TestTokenExpiryEndsWhatItOpened: a connection or event stream opened
// with a token ends when the token expires.
func TestTokenExpiryEndsWhatItOpened(t *testing.T) {
	h, _ := secureHub(t, withHTTP)
	t.Run("MQTT5GetsMaximumConnectTime", func(t *testing.T) {
		tok := tokIssue(t, h, "r-viewer", tokShort)
		c := acctLogin(t, h, "tok-exp-5", "", tok)
		// [MQTT-3.14.2-1] 0xA0 "maximum connect time": the credential
		// bounded how long the connection may last.
		if rc, reason := acctEnded(t, c); rc != 0xA0 || !strings.Contains(reason, "token expired") {
			t.Errorf("DISCONNECT %#x %q, want 0xA0 token expired", rc, reason)
		}
	})
	t.Run("MQTT311IsClosed", func(t *testing.T) {
		tok := tokIssue(t, h, "r-viewer", tokShort)
		r, ack := sessConnect(t, h, packets.Packet{ProtocolVersion: 4, Connect: packets.ConnectParams{Clean: true, ClientIdentifier: "tok-exp-4",
			Keepalive: 60, Password: []byte(tok), PasswordFlag: true}})
		if ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %#x", ack.ReasonCode)
		}
		_ = r.SetReadDeadline(time.Now().Add(acctWait))
		for {
			pk, err := hubtest.ReadPacket(r.br, 4)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the connection is still open")
			}
			if err != nil {
				break // closed
			}
			if pk.FixedHeader.Type == packets.Disconnect {
				t.Error("a 3.1.1 server sends no DISCONNECT")
			}
		}
	})
	t.Run("PasswordLoginStays", func(t *testing.T) {
		// The sentinel: a token connection of the same account ends at its
		// expiry; the password connection opened before it is still there.
		pw := acctLogin(t, h, "tok-exp-pw", "r-viewer", testPassword)
		tc := acctLogin(t, h, "tok-exp-tok", "", tokIssue(t, h, "r-viewer", tokShort))
		acctEnded(t, tc)
		select {
		case <-pw.Done():
			t.Error("the password connection ended with the token")
		default:
		}
	})
	for _, tc := range []struct {
		name string
		open func(tok string) *sseStream
	}{
		{"StreamWithBearer", func(tok string) *sseStream {
			return newWeb(t, h, "Authorization", "Bearer "+tok).stream("/things/urn:t:owner/events/e")
		}},
		{"StreamWithQuery", func(tok string) *sseStream {
			return newWeb(t, h).stream("/things/urn:t:owner/properties/p?access_token=" + tok)
		}},
		{"StreamWithCookie", func(tok string) *sseStream {
			return newWeb(t, h, "Cookie", "wotmq_token="+tok).stream("/events")
		}},
	} {
		t.Run(tc.name+"Ends", func(t *testing.T) {
			s := tc.open(tokIssue(t, h, "r-viewer", tokShort))
			tokEndEvent(t, tokStreamEnd(t, s), wot.CodeUnauthenticated, "token expired")
		})
	}
	t.Run("ExpiredTokenCannotResumeItsSession", func(t *testing.T) {
		tok := tokIssue(t, h, "r-viewer", tokShort)
		dialSess := func(user, pass string) (*client, *paho.Connack) { return tokSession(t, h, "tok-sess", user, pass) }
		s, _ := dialSess("", tok)
		if s == nil {
			t.Fatal("token login refused")
		}
		ev := wot.EventTopic("urn:t:owner", "e")
		s.subscribe(ev)
		if rc, _ := acctEnded(t, s); rc != 0xA0 {
			t.Errorf("DISCONNECT %#x, want 0xA0", rc)
		}
		owner := acctLogin(t, h, "tok-sess-owner", "owner", testPassword)
		owner.mustPublish("agents/owner/things/urn:t:owner/events/e", []byte("1"), nil)
		if again, ca := dialSess("", tok); again != nil || ca == nil || ca.ReasonCode != 0x86 || ca.Properties == nil || ca.Properties.ReasonString != "token expired" {
			t.Errorf("resume with the expired token: %+v", ca)
		}
		// Another account with the same client ID does not get the session.
		other, ca := dialSess("r-operator", testPassword)
		if other == nil || ca.SessionPresent {
			t.Fatalf("another account: %+v", ca)
		}
		other.subscribe(ev)
		owner.mustPublish("agents/owner/things/urn:t:owner/events/e", []byte("2"), nil)
		if m := other.next(ev); string(m.Payload) != "2" {
			t.Errorf("another account got the session's queued %s", m.Payload)
		}
		// The account itself, with its password, resumes it.
		own, ca := dialSess("r-viewer", testPassword)
		if own == nil || !ca.SessionPresent {
			t.Fatalf("the account's own resume: %+v", ca)
		}
		if m := own.next(ev); string(m.Payload) != "1" {
			t.Errorf("queued %s, want 1", m.Payload)
		}
	})
}

// tokSession connects with clean start 0 and a session expiry of an
// hour; a refusal returns nil and the CONNACK.
func tokSession(t testing.TB, h *hub.Hub, clientID, user, pass string) (*client, *paho.Connack) {
	t.Helper()
	expiry := uint32(3600)
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	cl := &client{hubtest.NewClient(t, conn, clientID)}
	ctx, cancel := context.WithTimeout(context.Background(), acctWait)
	defer cancel()
	ca, err := cl.Connect(ctx, &paho.Connect{ClientID: clientID, CleanStart: false, KeepAlive: 30,
		Username: user, UsernameFlag: user != "", Password: []byte(pass), PasswordFlag: true,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry, RequestProblemInfo: true}})
	if err != nil {
		return nil, ca
	}
	return cl, ca
}

// tokAdmin sends an admin request and returns its status and the reply's
// error code.
func tokAdmin(t testing.TB, c *client, me, req string) (string, string) {
	t.Helper()
	st, body := acctAdmin(t, c, me, req)
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	return st, e.Code
}

// TestTokenRevocation: one token can be revoked, by its account or an
// admin; what it opened ends, later logins with it are refused, the
// account's other tokens and connections stay.
func TestTokenRevocation(t *testing.T) {
	dir := t.TempDir()
	h, _ := secureHub(t, withHTTP, func(o *hub.Options) { o.DataDir = dir })
	t.Run("ByItsAccount", func(t *testing.T) {
		tok := tokIssue(t, h, "r-operator", time.Hour)
		keep := tokIssue(t, h, "r-operator", time.Hour)
		c := acctLogin(t, h, "tok-rev-1", "", tok)
		kept := acctLogin(t, h, "tok-rev-kept", "", keep)
		s := newWeb(t, h, "Authorization", "Bearer "+tok).stream("/things/urn:t:owner/events/e")
		self := acctLogin(t, h, "tok-rev-self", "r-operator", testPassword)
		if st, code := tokAdmin(t, self, "r-operator", `{"op":"token.revoke","token":"`+tok+`"}`); st != string(wot.StatusCompleted) {
			t.Fatalf("token.revoke: %s %s", st, code)
		}
		if rc, reason := acctEnded(t, c); rc != 0x98 || !strings.Contains(reason, "revoked") {
			t.Errorf("DISCONNECT %#x %q, want 0x98 token revoked", rc, reason)
		}
		tokEndEvent(t, tokStreamEnd(t, s), wot.CodeUnauthenticated, "revoked")
		if _, rc, reason := acctDial(t, h, "127.0.0.1", "tok-rev-1b", "", tok); rc != 0x86 || reason != "invalid token" {
			t.Errorf("login with the revoked token: %#x %q", rc, reason)
		}
		newWeb(t, h, "Authorization", "Bearer "+tok).do("GET", "/things", nil).problem(t, 401, wot.CodeUnauthenticated)
		// The account's other token and its password connection stay.
		if st, _ := tokAdmin(t, kept, "r-operator", `{"op":"accounts.list"}`); st != string(wot.StatusFailed) {
			t.Errorf("the other token's connection: %s", st)
		}
		select {
		case <-self.Done():
			t.Error("the password connection ended")
		default:
		}
	})
	t.Run("TheOneItLoggedInWith", func(t *testing.T) {
		tok := tokIssue(t, h, "r-viewer", time.Hour)
		c := acctLogin(t, h, "tok-rev-own", "", tok)
		topic := "replies/r-viewer/rev"
		c.subscribe(topic)
		// The connection ends while its request is handled: no PUBACK to
		// wait for.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), acctWait)
			defer cancel()
			_, _ = c.Publish(ctx, &paho.Publish{Topic: authz.AdminTopic, QoS: 1, Payload: []byte(`{"op":"token.revoke"}`),
				Properties: reply(topic, []byte("x"))})
		}()
		if rc, _ := acctEnded(t, c); rc != 0x98 {
			t.Errorf("DISCONNECT %#x, want 0x98", rc)
		}
		if _, err := h.Accounts().VerifyToken(tok); !errors.Is(err, authz.ErrBadToken) {
			t.Errorf("verify after revocation: %v", err)
		}
	})
	t.Run("NotByAnotherAccount", func(t *testing.T) {
		tok := tokIssue(t, h, "r-operator", time.Hour)
		other := acctLogin(t, h, "tok-rev-other", "r-manager", testPassword)
		if st, code := tokAdmin(t, other, "r-manager", `{"op":"token.revoke","token":"`+tok+`"}`); st != string(wot.StatusFailed) || code != string(wot.CodeDenied) {
			t.Errorf("another account revoked a token: %s %s", st, code)
		}
		if _, err := h.Accounts().VerifyToken(tok); err != nil {
			t.Errorf("the token: %v", err)
		}
		admin := acctLogin(t, h, "tok-rev-admin", "admin", testPassword)
		if st, code := tokAdmin(t, admin, "admin", `{"op":"token.revoke","token":"`+tok+`"}`); st != string(wot.StatusCompleted) {
			t.Errorf("admin: %s %s", st, code)
		}
		if st, code := tokAdmin(t, admin, "admin", `{"op":"token.revoke","token":"not a token"}`); st != string(wot.StatusFailed) || code != string(wot.CodeInvalidPayload) {
			t.Errorf("a malformed token: %s %s", st, code)
		}
	})
	t.Run("ItsStoredSessionGetsNothingMore", func(t *testing.T) {
		tok := tokIssue(t, h, "r-viewer", time.Hour)
		s, _ := tokSession(t, h, "tok-rev-sess", "", tok)
		if s == nil {
			t.Fatal("token login refused")
		}
		ev := wot.EventTopic("urn:t:owner", "e")
		s.subscribe(ev)
		_ = s.Disconnect(&paho.Disconnect{})
		<-s.Done()
		if err := h.Accounts().RevokeToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		owner := acctLogin(t, h, "tok-rev-sess-owner", "owner", testPassword)
		watcher := acctLogin(t, h, "tok-rev-sess-watch", "r-operator", testPassword)
		watcher.subscribe(ev)
		// The fan-out follows the PUBACK: the watcher's copy of the second
		// says the first went out to every subscriber, the session too.
		for _, v := range []string{"111", "222"} {
			owner.mustPublish("agents/owner/things/urn:t:owner/events/e", []byte(v), nil)
			if m := watcher.next(ev); string(m.Payload) != v {
				t.Fatalf("watcher got %s", m.Payload)
			}
		}
		own, ca := tokSession(t, h, "tok-rev-sess", "r-viewer", testPassword)
		if own == nil || !ca.SessionPresent {
			t.Fatalf("the account's own resume: %+v", ca)
		}
		owner.mustPublish("agents/owner/things/urn:t:owner/events/e", []byte("333"), nil)
		if m := own.next(ev); string(m.Payload) != "333" {
			t.Errorf("queued for the revoked token's session: %s", m.Payload)
		}
	})
	t.Run("OutlivesARestart", func(t *testing.T) {
		tok := tokIssue(t, h, "r-agent", time.Hour)
		if err := h.Accounts().RevokeToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		h2 := startHub(t, dir, func(o *hub.Options) { o.Dev = false; o.PasswordCost = 4 })
		if _, err := h2.Accounts().VerifyToken(tok); !errors.Is(err, authz.ErrBadToken) {
			t.Errorf("after a restart: %v", err)
		}
	})
}

package proxy_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

const acPassword = "access test password"

// acHTTP is an HTTP request with an account's password.
func acHTTP(t *testing.T, h *hub.Hub, user, method, path, body, ctype string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, hubtest.HTTPURL(h)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, acPassword)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBrownfieldAccessRules: the hub acts for the account that registered a
// device only as far as that account may act itself under the access
// rules (its own publishes bypass them): a TD naming a topic the account
// may not read or command is refused at registration, and a rule taken
// away while the hub runs stops the commands and the readings it covered.
// An account serves its own Things or proxied devices, not both.
func TestBrownfieldAccessRules(t *testing.T) {
	h := hubtest.Start(t, func(o *hub.Options) {
		o.Dev, o.AdminPassword, o.PasswordCost, o.HTTPAddr = false, acPassword, 4, "127.0.0.1:0"
	})
	ctx := context.Background()
	acc := h.Accounts()
	for id, role := range map[string]authz.Role{"integrator": authz.RoleAgent, "plug1": authz.RoleAgent, "app": authz.RoleManager} {
		if err := acc.Add(ctx, id, role, "", acPassword); err != nil {
			t.Fatal(err)
		}
	}
	rule := func(who, filter string, pub, sub bool) string {
		t.Helper()
		r, err := acc.AddTopicRule(ctx, authz.TopicRule{Who: who, Filter: filter, Publish: pub, Subscribe: sub})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	rule("plug1", "stat/plug1/#", true, false)
	rule("plug1", "tele/plug1/#", true, false)
	rule("plug1", "cmnd/plug1/#", false, true)
	readStat := rule("integrator", "stat/plug1/#", false, true)
	command := rule("integrator", "cmnd/plug1/#", true, false)

	td := bfReadTD(t, "tasmota/plug1.td.json")
	path := bfThingPath(bfPlugID)
	code, body := acHTTP(t, h, "integrator", http.MethodPut, path, td, "application/td+json")
	if code != http.StatusBadRequest || !strings.Contains(body, "invalid_td") || !strings.Contains(body, "tele/plug1/") {
		t.Fatalf("a TD naming topics the account may not read: %d %s, want 400 invalid_td naming tele/plug1/", code, body)
	}
	rule("integrator", "tele/plug1/#", false, true)
	if code, body = acHTTP(t, h, "integrator", http.MethodPut, path, td, "application/td+json"); code != http.StatusCreated {
		t.Fatalf("PUT TD once the rules allow it: %d %s", code, body)
	}
	// The same account cannot also serve a Thing of its own.
	own := `{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"own","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n","properties":{"x":{"type":"integer"}}}`
	if code, body = acHTTP(t, h, "integrator", http.MethodPut, "/things/urn:own", own, "application/td+json"); code != http.StatusBadRequest || !strings.Contains(body, "wotmq:proxy") {
		t.Fatalf("a Thing of its own beside proxied devices: %d %s, want 400 naming wotmq:proxy", code, body)
	}

	dev := hubtest.Dial(t, h, "plug1", func(c *paho.Connect) {
		c.Username, c.UsernameFlag, c.Password, c.PasswordFlag = "plug1", true, []byte(acPassword), true
	})
	dev.Sub("cmnd/plug1/#")
	dev.MustPub("tele/plug1/LWT", []byte("Online"), nil)
	dev.MustPub("stat/plug1/POWER", []byte("OFF"), nil)
	hubtest.WaitFor(t, "power reported", func() bool {
		code, body := acHTTP(t, h, "app", http.MethodGet, path+"/properties/power", "", "")
		return code == http.StatusOK && strings.TrimSpace(body) == "false"
	})

	// Commands: allowed, then the rule is taken away.
	answerNext := func(filter string) { // the device obeys the next command and reports it
		t.Helper()
		go func() {
			m := dev.Next(filter)
			dev.MustPub("stat/plug1/POWER", m.Payload, nil)
		}()
	}
	answerNext("cmnd/plug1/POWER")
	if code, body = acHTTP(t, h, "app", http.MethodPut, path+"/properties/power", "true", "application/json"); code != http.StatusNoContent {
		t.Fatalf("write allowed by the rules: %d %s", code, body)
	}
	if err := acc.RemoveTopicRule(ctx, command); err != nil {
		t.Fatal(err)
	}
	code, body = acHTTP(t, h, "app", http.MethodPut, path+"/properties/power", "false", "application/json")
	if code != http.StatusForbidden || !strings.Contains(body, "denied") {
		t.Fatalf("write once the account may not publish the command: %d %s, want 403 denied", code, body)
	}

	// Readings: the rule is taken away, the device reports ON (not read),
	// the rule comes back, a sentinel reading arrives; power is still true
	// and its history has only what was read.
	if err := acc.RemoveTopicRule(ctx, readStat); err != nil {
		t.Fatal(err)
	}
	dev.MustPub("stat/plug1/POWER", []byte("OFF"), nil)
	dev.MustPub("tele/plug1/SENSOR", []byte(`{"ENERGY":{"Power":7}}`), nil)
	hubtest.WaitFor(t, "the sentinel reading", func() bool {
		code, body := acHTTP(t, h, "app", http.MethodGet, path+"/properties/watts", "", "")
		return code == http.StatusOK && strings.TrimSpace(body) == "7"
	})
	if code, body = acHTTP(t, h, "app", http.MethodGet, path+"/properties/power", "", ""); strings.TrimSpace(body) != "true" {
		t.Fatalf("power after a report the account may not read: %d %s, want true", code, body)
	}
	// Disabled: the hub no longer acts for the account.
	disabled := false
	if err := acc.Update(ctx, "integrator", nil, nil, &disabled, nil); err != nil {
		t.Fatal(err)
	}
	rule("integrator", "cmnd/plug1/#", true, false)
	code, body = acHTTP(t, h, "app", http.MethodPut, path+"/properties/power", "false", "application/json")
	if code != http.StatusForbidden || !strings.Contains(body, "disabled") {
		t.Fatalf("write for a disabled account: %d %s, want 403 naming the disabled account", code, body)
	}
}

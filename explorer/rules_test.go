package explorer_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wire"
)

// TestExplorerRules: the accounts page lists the access rules of free
// topics and removes one, through the admin requests acl.list and
// acl.remove. A hub without access rules (they came with their own
// branch) skips it.
func TestExplorerRules(t *testing.T) {
	h := startExplorerHub(t)
	admin := hubtest.Dial(t, h, "admin-cli", func(c *paho.Connect) {
		c.Username, c.UsernameFlag = "admin", true
		c.Password, c.PasswordFlag = []byte(explorerAdminPW), true
	})
	admin.Sub("replies/admin/#")
	code, reason := admin.Pub("wotmq/admin", []byte(`{"op":"acl.add","rule":{"who":"vera","filter":"lab/explorer/#","subscribe":true}}`),
		&paho.PublishProperties{ResponseTopic: "replies/admin/rules"})
	if code >= 0x80 {
		t.Skipf("this hub has no access rules of free topics: %s", reason)
	}
	reply := admin.Next("replies/admin/rules")
	if reply.Properties.User.Get(wire.PropStatus) != string(wire.StatusCompleted) {
		t.Skipf("this hub has no access rules of free topics: %s", reply.Payload)
	}

	b := newExplorerBrowser(t, hubtest.HTTPURL(h))
	if res := b.signIn("admin", explorerAdminPW); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	_, page := b.do("GET", "/explorer/accounts", "")
	i := strings.Index(page, `data-rule="`)
	if i < 0 || !strings.Contains(page, "lab/explorer/#") {
		t.Fatalf("the rule is not on the accounts page")
	}
	id := page[i+len(`data-rule="`):]
	id = id[:strings.IndexByte(id, '"')]
	form := url.Values{"csrf": {b.cookie("wotmq_csrf")}, "op": {"remove-rule"}, "id": {id}}
	res, page := b.do("POST", "/explorer/accounts", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK || strings.Contains(page, "lab/explorer/#") || !strings.Contains(page, "removed the access rule "+id) {
		t.Errorf("remove rule %s: %d", id, res.StatusCode)
	}
}

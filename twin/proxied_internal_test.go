package twin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// TestProxiedTDs: an agent's Things are all proxied or none, either way
// round; CheckTD sees every TD with its owner and refuses as invalid_td;
// a proxied Thing's presence is left to the proxy, not the account's
// connections.
func TestProxiedTDs(t *testing.T) {
	var checked []string
	c, db := testCore(t, Options{CheckTD: func(owner authz.Identity, th *td.Thing) error {
		checked = append(checked, owner.ID+" "+th.ID)
		if th.Title == "refuse me" {
			return errors.New("no")
		}
		return nil
	}}, "")
	defer db.Close()
	ctx := context.Background()
	doc := func(id string, proxied bool, title string) []byte {
		p := ""
		if proxied {
			p = `"wotmq:proxy": true,`
		}
		return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1",` + p + `"id":"` + id + `","title":"` + title +
			`","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n"}`)
	}
	a, b := authz.Identity{ID: "a", Role: authz.RoleAgent}, authz.Identity{ID: "b", Role: authz.RoleAgent}
	if err := c.RegisterTD(ctx, a, "urn:own", doc("urn:own", false, "own")); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterTD(ctx, a, "urn:dev", doc("urn:dev", true, "dev")); wire.CodeOf(err) != wire.CodeInvalidTD || !strings.Contains(err.Error(), ProxyMember) {
		t.Fatalf("a proxied device for an agent with its own Things: %v, want invalid_td naming %s", err, ProxyMember)
	}
	if err := c.RegisterTD(ctx, b, "urn:dev", doc("urn:dev", true, "dev")); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterTD(ctx, b, "urn:own2", doc("urn:own2", false, "own")); wire.CodeOf(err) != wire.CodeInvalidTD {
		t.Fatalf("an own Thing for an agent with proxied devices: %v, want invalid_td", err)
	}
	if err := c.RegisterTD(ctx, b, "urn:dev2", doc("urn:dev2", true, "refuse me")); wire.CodeOf(err) != wire.CodeInvalidTD {
		t.Fatalf("a TD CheckTD refuses: %v, want invalid_td", err)
	}
	if got := strings.Join(checked, ","); got != "a urn:own,b urn:dev,b urn:dev2" {
		t.Fatalf("CheckTD saw %q", got)
	}
	// The account connects: its own Thing goes online, the proxied one is
	// left alone (no presence until the proxy sets one).
	c.AgentConnected("a", Conn{ID: 1})
	c.AgentConnected("b", Conn{ID: 2})
	if p, _ := c.presence.Get(ctx, "urn:own"); p.State != wire.PresenceOnline {
		t.Fatalf("own Thing %q, want online", p.State)
	}
	if p, _ := c.presence.Get(ctx, "urn:dev"); p.Seq != 0 {
		t.Fatalf("proxied Thing %q (seq %d), want untouched", p.State, p.Seq)
	}
	if !Proxied(c.dir.ByAgent("b")[0].TD) || Proxied(c.dir.ByAgent("a")[0].TD) {
		t.Fatal("Proxied disagrees with the TDs")
	}
}

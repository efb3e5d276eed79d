package proxy

import (
	"fmt"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// The proxy acts for the account that registered a device, and only as far
// as that account may act itself: the hub's own publishes bypass the access
// rules, so without these checks a TD could make the hub read a topic its
// account may not subscribe to (and serve it as a twin) or command a device
// its account may not publish to. Each is checked at registration (the TD
// is refused) and again at every message and command, since rules and
// accounts change while the hub runs (docs/brownfield.md, "Access").

// actor is the identity the proxy acts with for agent: the account as the
// access rules know it (its role). A disabled or unknown account gets
// nothing, except on a hub whose free topics are open (development mode),
// where anonymous clients have no account.
func actor(store *authz.Store, agent string) (authz.Identity, error) {
	if a, ok := store.Get(agent); ok {
		if !a.Enabled {
			return authz.Identity{}, wire.Errorf(wire.CodeDenied, "account %q is disabled", agent)
		}
		return authz.Identity{ID: a.ID, Role: a.Role}, nil
	}
	if store.FreeTopicsOpen() {
		return authz.Identity{ID: agent, Role: authz.RoleService, Anonymous: true}, nil
	}
	return authz.Identity{}, wire.Errorf(wire.CodeDenied, "no account %q", agent)
}

// Checker returns the proxy's check of a TD at registration
// (twin.Options.CheckTD): a TD that asks to be proxied must name topics
// the proxy can use, mappings it understands, and only topics the
// registering account may subscribe to (state, availability) and publish
// on (commands) under the access rules. Other TDs pass.
func Checker(store *authz.Store) func(owner authz.Identity, t *td.Thing) error {
	return func(owner authz.Identity, t *td.Thing) error {
		if !twin.Proxied(t) {
			return nil
		}
		d, err := parseDevice(t, owner.ID)
		if err != nil {
			return err
		}
		if store == nil {
			return nil
		}
		return checkAccess(store, d)
	}
}

// checkAccess decides a device's topics for its account.
func checkAccess(store *authz.Store, d *device) error {
	id, err := actor(store, d.agent)
	if err != nil {
		return err
	}
	for _, r := range d.inbound {
		if !store.CanSubscribeFree(id, r.filter) {
			return fmt.Errorf("account %q may not subscribe to %q, which the TD names for %q: the access rules decide what the hub reads for it (docs/security.md)", d.agent, r.filter, r.name)
		}
	}
	if d.avail != nil && !store.CanSubscribeFree(id, d.avail.filter) {
		return fmt.Errorf("account %q may not subscribe to %q, the TD's availability topic (access rules, docs/security.md)", d.agent, d.avail.filter)
	}
	for _, k := range sortedCommands(d.commands) {
		if err := store.CanPublishFree(id, d.commands[k].topic); err != nil {
			return fmt.Errorf("%s %q: %w", k.op, k.name, err)
		}
	}
	return nil
}

func sortedCommands(m map[opName]command) []opName {
	out := make([]opName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].op+"/"+out[j].name) < (out[j-1].op+"/"+out[j-1].name); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

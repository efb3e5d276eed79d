package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
)

// The authz backend's part of the suite: an authz.Store over the backend
// keeps accounts, access lists, access rules, revoked tokens and the token
// key across a reopening; concurrent read-modify-writes of one account all
// land; and on a backend shared by several nodes (authz.WatchingBackend),
// what one Store changes is applied, and reported as a Change, by another.

// authzChanges records the Changes a Store reports.
type authzChanges struct {
	mu  sync.Mutex
	got []authz.Change
}

func (c *authzChanges) add(_ context.Context, ch authz.Change) {
	c.mu.Lock()
	c.got = append(c.got, ch)
	c.mu.Unlock()
}

func (c *authzChanges) has(want authz.Change) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.got {
		if g == want {
			return true
		}
	}
	return false
}

func openAuthz(t *testing.T, b authz.Backend, now func() time.Time, ch *authzChanges) *authz.Store {
	t.Helper()
	o := authz.Options{Now: now, PasswordCost: 4}
	if ch != nil {
		o.OnChange = ch.add
	}
	s, err := authz.OpenBackend(context.Background(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// waitAuthz polls for a condition another node's change brings about.
func waitAuthz(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a last-resort bound
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for: %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

const authzPassword = "a long enough password"

func testAuthz(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	c.t = time.Now().Truncate(time.Second) // tokens are checked against the clock
	op := open(t, o, Config{Now: c.now})
	if op.Authz == nil {
		t.Skip("no authz backend")
	}
	changes := &authzChanges{}
	s := openAuthz(t, op.Authz, c.now, changes)
	for _, id := range []string{"alice", "bob"} {
		if err := s.Add(ctx, id, authz.RoleOperator, "", authzPassword); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(ctx, "alice", authz.RoleViewer, "", authzPassword); !errors.Is(err, authz.ErrExists) {
		t.Fatalf("Add of an existing ID: %v, want ErrExists", err)
	}
	viewer, disabled := authz.RoleViewer, false
	if err := s.Update(ctx, "alice", &viewer, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, "alice", nil, nil, &disabled, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, "nobody", &viewer, nil, nil, nil); !errors.Is(err, authz.ErrNoAccount) {
		t.Fatalf("Update of an unknown account: %v, want ErrNoAccount", err)
	}
	for _, want := range []authz.Change{{Account: "alice", Role: true}, {Account: "alice", Disabled: true}} {
		if !changes.has(want) {
			t.Errorf("no Change %+v reported (got %+v)", want, changes.got)
		}
	}
	if err := s.SetThingACL(ctx, "urn:t:a", authz.ThingACL{Deny: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetThingACL(ctx, "urn:t:b", authz.ThingACL{Deny: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetThingACL(ctx, "urn:t:b", authz.ThingACL{}); err != nil {
		t.Fatal(err)
	}
	keep, err := s.AddTopicRule(ctx, authz.TopicRule{Who: "bob", Filter: "free/#", Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.AddTopicRule(ctx, authz.TopicRule{Who: "*", Filter: "other/#", Subscribe: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveTopicRule(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	revoked, _, err := s.IssueToken("bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	valid, _, err := s.IssueToken("bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	s.Close()
	op.close()

	op = open(t, o, Config{Now: c.now})
	s = openAuthz(t, op.Authz, c.now, nil)
	if a, ok := s.Get("alice"); !ok || a.Role != authz.RoleViewer || a.Enabled || a.Epoch != 1 {
		t.Errorf("alice after reopening: %+v, %v", a, ok)
	}
	if _, err := s.Login(ctx, "bob", authzPassword, "127.0.0.1"); err != nil {
		t.Errorf("bob's password after reopening: %v", err)
	}
	if acl, ok := s.ThingACL("urn:t:a"); !ok || len(acl.Deny) != 1 {
		t.Errorf("access list after reopening: %+v, %v", acl, ok)
	}
	if _, ok := s.ThingACL("urn:t:b"); ok {
		t.Error("a cleared access list is back after reopening")
	}
	if rules := s.TopicRules(); len(rules) != 1 || rules[0].ID != keep.ID {
		t.Errorf("rules after reopening: %+v", rules)
	}
	if _, err := s.VerifyToken(valid); err != nil {
		t.Errorf("a token issued before reopening: %v (another signing key?)", err)
	}
	if _, err := s.VerifyToken(revoked); !errors.Is(err, authz.ErrBadToken) {
		t.Errorf("a revoked token after reopening: %v, want ErrBadToken", err)
	}
}

// testAuthzUpdates: read-modify-writes of one account by several writers
// at once all land (none overwrites another's).
func testAuthzUpdates(t *testing.T, o Opener) {
	ctx := context.Background()
	op := open(t, o, Config{Now: newClock().now})
	b := op.Authz
	if b == nil {
		t.Skip("no authz backend")
	}
	if _, err := b.CreateAccount(ctx, &authz.Account{ID: "counter", Role: authz.RoleViewer, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateAccount(ctx, &authz.Account{ID: "counter"}); !errors.Is(err, authz.ErrExists) {
		t.Fatalf("CreateAccount of an existing ID: %v, want ErrExists", err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := b.UpdateAccount(ctx, "counter", func(a *authz.Account) error { a.Epoch++; return nil }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	recs, err := b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Kind == authz.RecordAccount && r.Key == "counter" && r.Account.Epoch != 20 {
			t.Fatalf("epoch after 20 concurrent increments: %d", r.Account.Epoch)
		}
	}
}

// testAuthzNodes: two Stores on one shared backend, as two nodes of a
// cluster: each applies and reports what the other changes, and an
// account ID created on both at once is created once.
func testAuthzNodes(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	c.t = time.Now().Truncate(time.Second)
	first := open(t, o, Config{Now: c.now})
	if _, ok := first.Authz.(authz.WatchingBackend); !ok {
		t.Skip("not a backend several nodes share")
	}
	second := open(t, o, Config{Now: c.now})
	heardA, heardB := &authzChanges{}, &authzChanges{}
	a := openAuthz(t, first.Authz, c.now, heardA)
	b := openAuthz(t, second.Authz, c.now, heardB)

	if err := a.Add(ctx, "alice", authz.RoleOperator, "", authzPassword); err != nil {
		t.Fatal(err)
	}
	waitAuthz(t, "alice on the other node", func() bool { _, ok := b.Get("alice"); return ok })
	if _, err := b.Login(ctx, "alice", authzPassword, "127.0.0.1"); err != nil {
		t.Fatalf("alice's password on the other node: %v", err)
	}
	tok, _, err := b.IssueToken("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyToken(tok); err != nil {
		t.Fatalf("a token one node issued, on the other: %v", err)
	}

	if err := a.RevokeToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	info, _ := a.TokenOf(tok)
	waitAuthz(t, "the revocation on the other node", func() bool { return b.TokenRevoked(info.ID) })
	waitAuthz(t, "the revocation reported", func() bool { return heardB.has(authz.Change{Account: "alice", Token: info.ID}) })

	if err := a.SetThingACL(ctx, "urn:t:a", authz.ThingACL{Deny: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	waitAuthz(t, "the access list on the other node", func() bool {
		return b.Decide(authz.Identity{ID: "alice", Role: authz.RoleOperator}, authz.OpReadTD, "urn:t:a") != nil
	})
	if !heardB.has(authz.Change{Thing: "urn:t:a"}) {
		t.Error("the access list change was not reported on the other node")
	}
	if _, err := a.AddTopicRule(ctx, authz.TopicRule{Who: "alice", Filter: "free/#", Publish: true}); err != nil {
		t.Fatal(err)
	}
	waitAuthz(t, "the access rule on the other node", func() bool {
		return b.CanPublishFree(authz.Identity{ID: "alice", Role: authz.RoleOperator}, "free/x") == nil
	})

	// Both nodes change alice at once: both changes land.
	name, disabled := "Alice", false
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = a.Update(ctx, "alice", nil, &name, nil, nil) }()
	go func() { defer wg.Done(); _ = b.Update(ctx, "alice", nil, nil, &disabled, nil) }()
	wg.Wait()
	for _, s := range []*authz.Store{a, b} {
		waitAuthz(t, "both changes on both nodes", func() bool {
			acc, _ := s.Get("alice")
			return acc.Name == "Alice" && !acc.Enabled
		})
	}
	for _, h := range []*authzChanges{heardA, heardB} {
		if !h.has(authz.Change{Account: "alice", Disabled: true}) {
			t.Errorf("the disable was not reported on every node: %+v", h.got)
		}
	}

	// One ID created on both nodes at once: once.
	errs := make(chan error, 2)
	for _, s := range []*authz.Store{a, b} {
		go func() { errs <- s.Add(ctx, "carol", authz.RoleViewer, "", authzPassword) }()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) || !errors.Is(errors.Join(e1, e2), authz.ErrExists) {
		t.Fatalf("carol created on two nodes at once: %v, %v; want one success and one ErrExists", e1, e2)
	}
}

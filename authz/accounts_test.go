package authz_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/authz"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func mustOpen(tb testing.TB, dir string, clk *clock) *authz.Store {
	tb.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	s, err := authz.Open(context.Background(), db, authz.Options{Now: clk.Now, PasswordCost: 4,
		Throttle: authz.ThrottleOptions{Failures: 3, Window: time.Minute, Backoff: 10 * time.Second, MaxBackoff: 40 * time.Second}})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

const pw = "a long enough password"

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, t.TempDir(), clk)
	if err := s.Add(ctx, "alice", authz.RoleOperator, "Alice", "short"); !errors.Is(err, authz.ErrWeakPassword) {
		t.Errorf("short password: %v", err)
	}
	if err := s.Add(ctx, "role:admin", authz.RoleOperator, "", pw); !errors.Is(err, authz.ErrBadID) {
		t.Errorf("role: prefix as ID: %v", err)
	}
	if err := s.Add(ctx, authz.UpstreamPrefix+"alice", authz.RoleOperator, "", pw); !errors.Is(err, authz.ErrBadID) {
		t.Errorf("upstream: prefix as ID: %v", err)
	}
	if err := s.Add(ctx, "alice", authz.RoleOperator, "Alice", pw); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, "alice", authz.RoleViewer, "", pw); !errors.Is(err, authz.ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	if a, err := s.Login(ctx, "alice", pw, "10.0.0.1"); err != nil || a.Role != authz.RoleOperator || len(a.Hash) != 0 {
		t.Errorf("login: %+v %v", a, err)
	}
	if _, err := s.Login(ctx, "alice", "wrong password!!", "10.0.0.1"); !errors.Is(err, authz.ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	t.Run("TokensExpireAndAreRevoked", func(t *testing.T) {
		tok, exp, err := s.IssueToken("alice", time.Hour)
		if err != nil || !exp.Equal(clk.Now().Add(time.Hour)) {
			t.Fatalf("issue: %v %v", exp, err)
		}
		if a, err := s.VerifyToken(tok); err != nil || a.ID != "alice" {
			t.Fatalf("verify: %v", err)
		}
		clk.Add(2 * time.Hour)
		if _, err := s.VerifyToken(tok); !errors.Is(err, authz.ErrTokenExpired) {
			t.Errorf("expired: %v", err)
		}
		tok, _, _ = s.IssueToken("alice", time.Hour)
		npw := "another long password"
		if err := s.Update(ctx, "alice", nil, nil, nil, &npw); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyToken(tok); !errors.Is(err, authz.ErrBadToken) {
			t.Errorf("token after password change: %v", err)
		}
		tampered := tok[:len(tok)-2] + "xx"
		if _, err := s.VerifyToken(tampered); !errors.Is(err, authz.ErrBadToken) {
			t.Errorf("tampered token: %v", err)
		}
	})
	t.Run("SurvivesReopen", func(t *testing.T) {
		dir := t.TempDir()
		db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10))
		if err != nil {
			t.Fatal(err)
		}
		open := func() *authz.Store {
			s, err := authz.Open(ctx, db, authz.Options{Now: clk.Now, PasswordCost: 4})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		s1 := open()
		if err := s1.Add(ctx, "bob", authz.RoleAgent, "", pw); err != nil {
			t.Fatal(err)
		}
		tok, _, _ := s1.IssueToken("bob", time.Hour)
		if err := s1.SetThingACL(ctx, "urn:x", authz.ThingACL{Deny: []string{"role:viewer"}}); err != nil {
			t.Fatal(err)
		}
		s2 := open() // same database: same signing key, accounts, lists
		if a, err := s2.VerifyToken(tok); err != nil || a.ID != "bob" {
			t.Errorf("token after reopen: %v", err)
		}
		if err := s2.Decide(authz.Identity{ID: "v", Role: authz.RoleViewer}, authz.OpReadTD, "urn:x"); err == nil {
			t.Error("access list lost on reopen")
		}
		db.Close()
	})
}

// TestThrottle: failures lock the (account, address) pair that made
// them, never the account from elsewhere nor other accounts from that
// address (issue 12, item 8).
func TestThrottle(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, t.TempDir(), clk)
	for _, id := range []string{"bob", "carol"} {
		if err := s.Add(ctx, id, authz.RoleViewer, "", pw); err != nil {
			t.Fatal(err)
		}
	}
	fail := func() {
		for range 3 {
			if _, err := s.Login(ctx, "bob", "wrong password!!", "10.0.0.9"); errors.Is(err, authz.ErrThrottled) {
				return
			}
		}
	}
	fail()
	if _, err := s.Login(ctx, "bob", pw, "10.0.0.9"); !errors.Is(err, authz.ErrThrottled) {
		t.Fatalf("locked pair admitted: %v", err)
	}
	if _, err := s.Login(ctx, "bob", pw, "10.0.0.7"); err != nil {
		t.Errorf("the account from another address: %v", err)
	}
	if _, err := s.Login(ctx, "carol", pw, "10.0.0.9"); err != nil {
		t.Errorf("another account from the guessing address: %v", err)
	}
	for range 3 {
		_, _ = s.Login(ctx, "nobody", "wrong password!!", "10.0.0.9")
	}
	if _, err := s.Login(ctx, "nobody", pw, "10.0.0.9"); !errors.Is(err, authz.ErrThrottled) {
		t.Errorf("an unknown name is not throttled like a known one: %v", err)
	}
	clk.Add(11 * time.Second)
	fail()
	clk.Add(11 * time.Second)
	if _, err := s.Login(ctx, "bob", pw, "10.0.0.9"); !errors.Is(err, authz.ErrThrottled) {
		t.Errorf("second lockout did not double: %v", err)
	}
	clk.Add(10 * time.Second)
	if _, err := s.Login(ctx, "bob", pw, "10.0.0.9"); err != nil {
		t.Errorf("after the backoff: %v", err)
	}
}

func TestLooksLikeToken(t *testing.T) {
	for s, want := range map[string]bool{"a long enough password": false, "a.b.c": false,
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2ln": true} {
		if authz.LooksLikeToken(s) != want {
			t.Errorf("LooksLikeToken(%q) != %v", s, want)
		}
	}
}

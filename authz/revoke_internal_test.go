package authz

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/golang-jwt/jwt/v5"
)

// TestRevokedTokenRecords: revoked-token records are bounded per account,
// pruned once their tokens expired, and tokens issued before tokens had
// an ID can be revoked too.
func TestRevokedTokenRecords(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, err := Open(context.Background(), db, Options{PasswordCost: 4, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []string{"alice", "bob"} {
		if err := s.Add(ctx, id, RoleViewer, "", "a long enough password"); err != nil {
			t.Fatal(err)
		}
	}
	revoke := func(id string) error {
		t.Helper()
		tok, _, err := s.IssueToken(id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s.RevokeToken(ctx, tok)
	}
	t.Run("BoundedPerAccount", func(t *testing.T) {
		for i := 0; i < MaxRevokedPerAccount; i++ {
			if err := revoke("alice"); err != nil {
				t.Fatalf("revocation %d: %v", i, err)
			}
		}
		if err := revoke("alice"); !errors.Is(err, ErrTooManyRevoked) {
			t.Errorf("one more: %v, want ErrTooManyRevoked", err)
		}
		if err := revoke("bob"); err != nil {
			t.Errorf("another account's: %v", err)
		}
	})
	t.Run("PrunedAfterTheirExpiry", func(t *testing.T) {
		mu.Lock()
		now = now.Add(2 * time.Hour)
		mu.Unlock()
		if err := revoke("alice"); err != nil {
			t.Fatalf("after the tokens expired: %v", err)
		}
		s.mu.RLock()
		n := len(s.revoked)
		s.mu.RUnlock()
		if n != 1 {
			t.Errorf("%d records kept, want 1", n)
		}
	})
	t.Run("TokenWithoutAnID", func(t *testing.T) {
		a, _ := s.Get("bob")
		c := claims{Role: a.Role, Epoch: a.Epoch, RegisteredClaims: jwt.RegisteredClaims{Issuer: issuer, Subject: "bob",
			IssuedAt: jwt.NewNumericDate(clock()), ExpiresAt: jwt.NewNumericDate(clock().Add(time.Hour))}}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
		if err != nil {
			t.Fatal(err)
		}
		other, _, _ := s.IssueToken("bob", time.Hour)
		if _, err := s.VerifyToken(tok); err != nil {
			t.Fatalf("before: %v", err)
		}
		if err := s.RevokeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyToken(tok); !errors.Is(err, ErrBadToken) {
			t.Errorf("after: %v", err)
		}
		if _, err := s.VerifyToken(other); err != nil {
			t.Errorf("another token of the account: %v", err)
		}
	})
}

// TestStoreKeyPrefixesDistinct: each kind of record has a key prefix of
// its own (Open tells them apart by prefix; two kinds once shared
// authz/r/ and revoked tokens were read back as access rules).
func TestStoreKeyPrefixesDistinct(t *testing.T) {
	prefixes := []string{prefixAccount, prefixACL, prefixRule, prefixRevoked}
	for i, a := range prefixes {
		for _, b := range prefixes[i+1:] {
			if strings.HasPrefix(a, b) || strings.HasPrefix(b, a) {
				t.Errorf("key prefixes %q and %q overlap", a, b)
			}
		}
	}
}

package authz

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Revocation of single tokens. Tokens are verified without the store (a
// signature, an expiry and the account's epoch); voiding every token of an
// account moves its epoch on. To void one token (a sign-out, a token that
// leaked), the store keeps its ID in a revoked-token record until the token
// expires: in memory for verification (one map lookup), in Badger under
// "authz/x/{token ID}" with the token's expiry as the entry's TTL, so that
// Badger drops the record once the token could not be used anyway. The
// in-memory records are pruned at each revocation.

const prefixRevoked = "authz/x/"

// MaxRevokedPerAccount bounds the revoked-token records an account's
// revocations may make the hub hold (each until its token expires): a
// client minting and revoking tokens in a loop gets ErrTooManyRevoked
// beyond it, and changing the password voids every token at once.
const MaxRevokedPerAccount = 1000

// ErrTooManyRevoked refuses a revocation beyond MaxRevokedPerAccount.
var ErrTooManyRevoked = errors.New("authz: too many revoked tokens of this account still unexpired; change the password to void them all")

// revokedToken is a revoked-token record.
type revokedToken struct {
	Account string    `json:"account"`
	Expires time.Time `json:"expires"`
}

// newTokenID returns a random token ID (the JWT's jti).
func newTokenID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenID is a token's ID: its jti, or for a token issued before tokens
// had one, a digest of its signature (as unique, and known to whoever
// holds the token).
func tokenID(c *claims, raw string) string {
	if c.ID != "" {
		return c.ID
	}
	sig := raw[strings.LastIndexByte(raw, '.')+1:]
	sum := sha256.Sum256([]byte(sig))
	return "s" + base64.RawURLEncoding.EncodeToString(sum[:15])
}

// TokenOf returns what a token issued by this hub is, checking its
// signature but not whether it is still valid: an expired or voided token
// may be named in a revocation. ErrBadToken when it is not one of ours.
func (s *Store) TokenOf(token string) (TokenInfo, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithoutClaimsValidation())
	switch {
	case err != nil:
		return TokenInfo{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	case c.ExpiresAt == nil || c.Issuer != issuer: // the claims checks are off: what they would check
		return TokenInfo{}, fmt.Errorf("%w: no expiry or another issuer", ErrBadToken)
	}
	return TokenInfo{ID: tokenID(&c, token), Account: c.Subject, Expires: c.ExpiresAt.Time}, nil
}

// RevokeToken voids one token until it expires (TokenOf, then Revoke).
func (s *Store) RevokeToken(ctx context.Context, token string) error {
	info, err := s.TokenOf(token)
	if err != nil {
		return err
	}
	return s.Revoke(ctx, info)
}

// Revoke voids the token info describes: verification refuses it from
// now on, and OnChange reports Change{Account, Token} so that what was
// opened with it ends. A token that has expired needs nothing.
func (s *Store) Revoke(ctx context.Context, info TokenInfo) error {
	now := s.now()
	if !info.Expires.After(now) {
		return nil
	}
	rec := revokedToken{Account: info.Account, Expires: info.Expires.UTC()}
	b, _ := json.Marshal(rec)
	s.mu.Lock()
	n := 0
	for id, r := range s.revoked {
		switch {
		case !r.Expires.After(now):
			delete(s.revoked, id) // pruned: the token is void by its expiry now
		case r.Account == info.Account:
			n++
		}
	}
	if _, ok := s.revoked[info.ID]; ok {
		s.mu.Unlock()
		return nil
	}
	if n >= MaxRevokedPerAccount {
		s.mu.Unlock()
		return ErrTooManyRevoked
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		e := badger.NewEntry([]byte(prefixRevoked+info.ID), b)
		e.ExpiresAt = uint64(info.Expires.Unix()) + 1
		return txn.SetEntry(e)
	})
	if err == nil {
		s.revoked[info.ID] = rec
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("authz: revoke token: %w", err)
	}
	s.changed(ctx, Change{Account: info.Account, Token: info.ID})
	return nil
}

// TokenRevoked reports whether the token with this ID was revoked (and
// has not expired since).
func (s *Store) TokenRevoked(id string) bool {
	s.mu.RLock()
	_, ok := s.revoked[id]
	s.mu.RUnlock()
	return ok
}

// loadRevoked reads a revoked-token record at Open (Badger no longer
// returns those whose token expired).
func (s *Store) loadRevoked(key string, v []byte) error {
	var r revokedToken
	if err := json.Unmarshal(v, &r); err != nil {
		return err
	}
	s.revoked[key[len(prefixRevoked):]] = r
	return nil
}

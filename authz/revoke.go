package authz

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Revocation of single tokens. Tokens are verified without the store (a
// signature, an expiry and the account's epoch); voiding every token of an
// account moves its epoch on. To void one token (a sign-out, a token that
// leaked), the store keeps its ID in a revoked-token record until the token
// expires: in memory for verification (one map lookup), in the Backend
// (Badger: under "authz/x/{token ID}" with the token's expiry as the
// entry's TTL, so that Badger drops the record once the token could not be
// used anyway). The in-memory records are pruned at each revocation, and
// the pruned ones deleted from a backend without TTLs (jetstore).

// MaxRevokedPerAccount bounds the revoked-token records an account's
// revocations may make the hub hold (each until its token expires): a
// client minting and revoking tokens in a loop gets ErrTooManyRevoked
// beyond it, and changing the password voids every token at once.
const MaxRevokedPerAccount = 1000

// ErrTooManyRevoked refuses a revocation beyond MaxRevokedPerAccount.
var ErrTooManyRevoked = errors.New("authz: too many revoked tokens of this account still unexpired; change the password to void them all")

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
	rec := RevokedToken{Account: info.Account, Expires: info.Expires.UTC()}
	s.mu.Lock()
	n := 0
	var pruned []string
	for id, r := range s.revoked {
		switch {
		case !r.Expires.After(now):
			delete(s.revoked, id) // pruned: the token is void by its expiry now
			pruned = append(pruned, id)
		case r.Account == info.Account:
			n++
		}
	}
	_, had := s.revoked[info.ID]
	s.mu.Unlock()
	if had {
		return nil
	}
	if n >= MaxRevokedPerAccount {
		return ErrTooManyRevoked
	}
	err := s.write(ctx, func() (Record, error) {
		return s.backend.Put(ctx, Record{Kind: RecordRevoked, Key: info.ID, Revoked: rec})
	})
	if err != nil {
		return fmt.Errorf("authz: revoke token: %w", err)
	}
	if _, ttl := s.backend.(badgerBackend); !ttl {
		for _, id := range pruned {
			// Best effort: a record left behind is skipped at every load.
			_, _ = s.backend.Put(ctx, Record{Kind: RecordRevoked, Key: id, Deleted: true})
		}
	}
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

package authz

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTokenTTL is the lifetime of a token when none is asked for.
const DefaultTokenTTL = 24 * time.Hour

// MaxTokenTTL bounds token lifetimes.
const MaxTokenTTL = 365 * 24 * time.Hour

// claims are a token's contents: a JWT (RFC 7519) signed with HS256 by
// the hub's key, naming the account, its role when issued, and the
// account's epoch.
type claims struct {
	Role  Role `json:"role"`
	Epoch int  `json:"ep"`
	jwt.RegisteredClaims
}

const issuer = "wotmq"

// IssueToken returns a signed access token for an account, valid for ttl
// (DefaultTokenTTL when zero). It is usable as the MQTT password and as an
// HTTP bearer token.
func (s *Store) IssueToken(id string, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	if ttl > MaxTokenTTL {
		return "", time.Time{}, fmt.Errorf("authz: token lifetime over %s", MaxTokenTTL)
	}
	s.mu.RLock()
	a, ok := s.accounts[id]
	var c claims
	if ok {
		c = claims{Role: a.Role, Epoch: a.Epoch}
	}
	enabled := ok && a.Enabled
	s.mu.RUnlock()
	if !ok {
		return "", time.Time{}, fmt.Errorf("%w: %s", ErrNoAccount, id)
	}
	if !enabled {
		return "", time.Time{}, ErrDisabled
	}
	now := s.now()
	exp := now.Add(ttl).Truncate(time.Second)
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer: issuer, Subject: id, ID: newTokenID(),
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
	return tok, exp, err
}

// VerifyToken checks a token and returns its account. A token is void
// once it expired, the account was disabled or its password changed.
func (s *Store) VerifyToken(token string) (Account, error) {
	a, _, err := s.VerifyTokenExpiry(token)
	return a, err
}

// VerifyTokenExpiry is VerifyToken that also returns when the token
// expires: a token made with a token must not outlive it.
func (s *Store) VerifyTokenExpiry(token string) (Account, time.Time, error) {
	a, info, err := s.VerifyTokenInfo(token)
	return a, info.Expires, err
}

// VerifyTokenInfo is VerifyToken that also returns what the token is
// (its ID, for revocation, and its expiry): what a client opens with a
// token ends when the token does.
func (s *Store) VerifyTokenInfo(token string) (Account, TokenInfo, error) {
	a, info, err := s.verifyToken(token)
	return a, info, s.fail(err)
}

// TokenInfo is what the hub knows of a token it issued.
type TokenInfo struct {
	ID      string    `json:"id"`      // the token ID (jti); see tokenID
	Account string    `json:"account"` // whom it was issued to
	Expires time.Time `json:"expires"`
}

func (s *Store) verifyToken(token string) (Account, TokenInfo, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Account{}, TokenInfo{}, ErrTokenExpired
	case err != nil:
		return Account{}, TokenInfo{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	info := TokenInfo{ID: tokenID(&c, token), Account: c.Subject, Expires: c.ExpiresAt.Time}
	s.mu.RLock()
	a, ok := s.accounts[c.Subject]
	_, revoked := s.revoked[info.ID]
	s.mu.RUnlock()
	switch {
	case !ok:
		return Account{}, TokenInfo{}, fmt.Errorf("%w: account %s is gone", ErrBadToken, c.Subject)
	case !a.Enabled:
		return Account{}, TokenInfo{}, ErrDisabled
	case a.Epoch != c.Epoch:
		return Account{}, TokenInfo{}, fmt.Errorf("%w: revoked (password changed or account disabled since)", ErrBadToken)
	case revoked:
		return Account{}, TokenInfo{}, fmt.Errorf("%w: revoked", ErrBadToken)
	}
	out := *a
	out.Hash = nil
	return out, info, nil
}

// LooksLikeToken reports whether a password is shaped like a JWT, so a
// login tries the token check first.
func LooksLikeToken(pw string) bool {
	dots := 0
	for i := 0; i < len(pw); i++ {
		if pw[i] == '.' {
			dots++
		}
	}
	return dots == 2 && len(pw) > 40
}

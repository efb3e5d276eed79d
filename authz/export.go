package authz

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/wotmq/wotmq/wire"
)

// What `wotmq export` and `wotmq import` need beyond the store's everyday
// API (package migrate): the accounts with their password hashes, so that
// they log in on the new hub with the passwords they had, and every
// Thing's access list. Tokens are not carried: the new hub signs with its
// own key, and clients log in again.

// ExportAccounts returns every account with its password hash, ordered
// by ID. The hashes are secrets: whatever holds them must be kept like the
// store itself.
func (s *Store) ExportAccounts() []Account {
	s.mu.RLock()
	out := make([]Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		c := *a
		c.Hash = append([]byte(nil), a.Hash...)
		out = append(out, c)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ImportAccount stores an account as ExportAccounts returned it (hash,
// epoch, creation time and all), replacing one of the same ID.
func (s *Store) ImportAccount(ctx context.Context, a Account) error {
	if err := wire.ValidateID(a.ID); err != nil || strings.HasPrefix(a.ID, "role:") || strings.HasPrefix(a.ID, UpstreamPrefix) {
		return fmt.Errorf("%w: %q", ErrBadID, a.ID)
	}
	if _, err := ParseRole(string(a.Role)); err != nil {
		return err
	}
	if _, err := bcrypt.Cost(a.Hash); err != nil {
		return fmt.Errorf("%w: account %s has no bcrypt hash: %v", ErrBadCredentials, a.ID, err)
	}
	// Replace the stored account, or create it; in a cluster another
	// node may write it meanwhile: each attempt reads the newest state.
	// What the replacement voids is reported as for any change (apply.go).
	return s.write(ctx, func() (Record, error) {
		r, err := s.backend.UpdateAccount(ctx, a.ID, func(cur *Account) error { *cur = a; return nil })
		if errors.Is(err, ErrNoAccount) {
			if r, err = s.backend.CreateAccount(ctx, &a); errors.Is(err, ErrExists) {
				r, err = s.backend.UpdateAccount(ctx, a.ID, func(cur *Account) error { *cur = a; return nil })
			}
		}
		return r, err
	})
}

// ThingACLs returns every Thing's access list, by Thing ID.
func (s *Store) ThingACLs() map[string]ThingACL {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.acls)
}

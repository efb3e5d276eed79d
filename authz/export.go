package authz

import (
	"context"
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
	s.mu.Lock()
	cur := s.accounts[a.ID]
	err := s.saveLocked(&a)
	s.mu.Unlock()
	if err == nil && cur != nil {
		// A replaced account may void what was issued for the old one.
		s.changed(ctx, Change{Account: a.ID, Role: cur.Role != a.Role, Disabled: cur.Enabled && !a.Enabled,
			Password: string(cur.Hash) != string(a.Hash)})
	}
	return err
}

// ThingACLs returns every Thing's access list, by Thing ID.
func (s *Store) ThingACLs() map[string]ThingACL {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.acls)
}

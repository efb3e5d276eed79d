package authz

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
)

// How a change reaches the memory of every Store that shares a Backend.
//
// A Store's own write goes to the backend first and is applied to memory
// (apply) once it is durable, under writeMu, and its Change is reported
// with the writer's context (so that a client changing its own password
// keeps the connection that proved the old one). On a WatchingBackend the
// same record comes back from the watch, as do the other nodes' writes:
// apply compares each record's revision with the last one applied for its
// key and ignores older news, so a change is applied, and reported, once
// on every node, whoever wrote it, and a slow watch cannot roll a newer
// local write back. What a change voids is worked out by comparing the
// record with the state it replaces (changeOf), the same on the node that
// made it and on every other.

// recordKey names one key of a backend.
type recordKey struct {
	kind RecordKind
	key  string
}

// apply puts a record into memory and returns the Change it makes, if any
// (fire). It takes s.mu; callers hold writeMu.
func (s *Store) apply(r Record) (ch Change, fire bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Rev != 0 {
		k := recordKey{r.Kind, r.Key}
		if r.Rev <= s.revs[k] {
			return Change{}, false
		}
		s.revs[k] = r.Rev
	}
	switch r.Kind {
	case RecordAccount:
		old := s.accounts[r.Key]
		if r.Deleted || r.Account == nil {
			if old == nil {
				return Change{}, false
			}
			delete(s.accounts, r.Key)
			return Change{Account: r.Key, Disabled: true}, true // its tokens and logins are void
		}
		a := *r.Account
		a.ID = r.Key
		s.accounts[r.Key] = &a
		if old == nil {
			return Change{}, false
		}
		ch = changeOf(old, &a)
		return ch, ch.Role || ch.Disabled || ch.Password
	case RecordACL:
		if r.Deleted || len(r.ACL.Allow) == 0 && len(r.ACL.Deny) == 0 {
			delete(s.acls, r.Key)
		} else {
			s.acls[r.Key] = r.ACL
		}
		return Change{Thing: r.Key}, true
	case RecordRule:
		// A new array each time: readers may hold the old one (rulesSnapshot).
		rules := make([]TopicRule, 0, len(s.rules)+1)
		for _, x := range s.rules {
			if x.ID != r.Key {
				rules = append(rules, x)
			}
		}
		if !r.Deleted {
			rule := r.Rule
			rule.ID = r.Key
			rules = append(rules, rule)
		}
		slices.SortFunc(rules, func(a, b TopicRule) int { return strings.Compare(a.ID, b.ID) })
		s.rules = rules
		return Change{}, false // rules are decided at every publish and delivery
	case RecordRevoked:
		_, had := s.revoked[r.Key]
		if r.Deleted || !r.Revoked.Expires.After(s.now()) {
			delete(s.revoked, r.Key) // void by its expiry anyway
			return Change{}, false
		}
		s.revoked[r.Key] = r.Revoked
		return Change{Account: r.Revoked.Account, Token: r.Key}, !had
	}
	return Change{}, false
}

// changeOf is what replacing an account's state old with cur voids. Its
// epoch moves with a password change and a disable; a watch may have
// skipped a state in between (disabled, then enabled again), so an epoch
// that moved without a new hash counts as the disable it was.
func changeOf(old, cur *Account) Change {
	ch := Change{Account: cur.ID, Role: old.Role != cur.Role,
		Disabled: old.Enabled && !cur.Enabled, Password: !bytes.Equal(old.Hash, cur.Hash)}
	if old.Epoch != cur.Epoch && !ch.Password {
		ch.Disabled = true
	}
	return ch
}

// write stores a record through the backend and applies it, reporting
// the Change it makes with ctx.
func (s *Store) write(ctx context.Context, put func() (Record, error)) error {
	s.writeMu.Lock()
	r, err := put()
	var ch Change
	var fire bool
	if err == nil {
		ch, fire = s.apply(r)
	}
	s.writeMu.Unlock()
	if fire {
		s.changed(ctx, ch)
	}
	return err
}

// applyWatched applies a record heard from a WatchingBackend: another
// node's change (or this Store's own, heard again and ignored).
func (s *Store) applyWatched(r Record) {
	s.writeMu.Lock()
	ch, fire := s.apply(r)
	s.writeMu.Unlock()
	if fire {
		s.changed(context.Background(), ch)
	}
}

// watch starts applying the changes of a WatchingBackend.
func (s *Store) watch(ctx context.Context) error {
	w, ok := s.backend.(WatchingBackend)
	if !ok {
		return nil
	}
	stop, err := w.Watch(ctx, s.applyWatched)
	if err != nil {
		return fmt.Errorf("authz: watch: %w", err)
	}
	s.stopWatch = stop
	return nil
}

// Close stops applying other nodes' changes (a Store on a
// WatchingBackend); the Store still answers from memory. A Store on Badger
// needs no Close. It is safe to call more than once.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		if s.stopWatch != nil {
			s.stopWatch()
		}
	})
}

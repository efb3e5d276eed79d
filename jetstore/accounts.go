package jetstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/authz"
)

// Accounts keeps what authz.Store persists (accounts, Thing access lists,
// the token signing key) in the KV bucket AUTHZ, so that every node of a
// cluster signs and checks tokens with one key and knows every account:
//
//	secret       the token signing key, made once by the first node
//	a.<account>  an account (with its password hash)
//	t.<thing>    a Thing's access list
//
// Watch reports the changes other nodes make, for a node to apply to its
// in-memory copy (and to end what a change voids, as for a local change).
type Accounts struct {
	kv jetstream.KeyValue
	o  Options
}

// OpenAccounts opens the bucket.
func OpenAccounts(ctx context.Context, o Options) (*Accounts, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	kv, err := bucket(ctx, o, "AUTHZ")
	if err != nil {
		return nil, err
	}
	return &Accounts{kv: kv, o: o}, nil
}

// Secret returns the cluster's token signing key, creating it on first
// use; nodes racing to create it all end with the one that was stored.
func (a *Accounts) Secret(ctx context.Context) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	_, err := a.kv.Create(ctx, "secret", key)
	if err == nil {
		return key, nil
	}
	if !isCASConflict(err) {
		return nil, fmt.Errorf("authz: signing key: %w", err)
	}
	e, err := a.kv.Get(ctx, "secret")
	if err != nil {
		return nil, fmt.Errorf("authz: signing key: %w", err)
	}
	return e.Value(), nil
}

// Load returns every stored account and access list.
func (a *Accounts) Load(ctx context.Context) (map[string]*authz.Account, map[string]authz.ThingACL, error) {
	accounts, acls := map[string]*authz.Account{}, map[string]authz.ThingACL{}
	w, err := a.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, nil, fmt.Errorf("authz: load: %w", err)
	}
	defer w.Stop()
	for e := range w.Updates() {
		if e == nil {
			break
		}
		acc, thing, acl, err := decodeAuthz(e)
		switch {
		case err != nil:
			return nil, nil, err
		case acc != nil:
			accounts[acc.ID] = acc
		case thing != "" && acl != nil:
			acls[thing] = *acl
		}
	}
	return accounts, acls, nil
}

// decodeAuthz reads one entry: an account, or a Thing's access list (nil
// when it was removed), or neither (the key).
func decodeAuthz(e jetstream.KeyValueEntry) (*authz.Account, string, *authz.ThingACL, error) {
	k := e.Key()
	switch {
	case strings.HasPrefix(k, "a."):
		if e.Operation() != jetstream.KeyValuePut {
			return nil, "", nil, nil // accounts are disabled, never deleted
		}
		acc := new(authz.Account)
		if err := json.Unmarshal(e.Value(), acc); err != nil {
			return nil, "", nil, fmt.Errorf("authz: decode %s: %w", k, err)
		}
		return acc, "", nil, nil
	case strings.HasPrefix(k, "t."):
		thing, err := dec(k[2:])
		if err != nil {
			return nil, "", nil, fmt.Errorf("authz: bad key %s", k)
		}
		if e.Operation() != jetstream.KeyValuePut {
			return nil, thing, nil, nil
		}
		var acl authz.ThingACL
		if err := json.Unmarshal(e.Value(), &acl); err != nil {
			return nil, "", nil, fmt.Errorf("authz: decode %s: %w", k, err)
		}
		return nil, thing, &acl, nil
	}
	return nil, "", nil, nil
}

// CreateAccount stores a new account; it fails with authz.ErrExists when
// any node created one of that ID first.
func (a *Accounts) CreateAccount(ctx context.Context, acc *authz.Account) error {
	b, err := json.Marshal(acc)
	if err != nil {
		return err
	}
	_, err = a.kv.Create(ctx, "a."+enc(acc.ID), b)
	if isCASConflict(err) {
		return fmt.Errorf("%w: %s", authz.ErrExists, acc.ID)
	}
	if err != nil {
		return fmt.Errorf("authz: store account %s: %w", acc.ID, err)
	}
	return nil
}

// SaveAccount stores a changed account.
func (a *Accounts) SaveAccount(ctx context.Context, acc *authz.Account) error {
	b, err := json.Marshal(acc)
	if err != nil {
		return err
	}
	if _, err := a.kv.Put(ctx, "a."+enc(acc.ID), b); err != nil {
		return fmt.Errorf("authz: store account %s: %w", acc.ID, err)
	}
	return nil
}

// SaveACL stores a Thing's access list; an empty one removes it.
func (a *Accounts) SaveACL(ctx context.Context, thingID string, acl authz.ThingACL) error {
	key := "t." + enc(thingID)
	if len(acl.Allow) == 0 && len(acl.Deny) == 0 {
		if err := a.kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("authz: access list of %s: %w", thingID, err)
		}
		return nil
	}
	b, err := json.Marshal(acl)
	if err != nil {
		return err
	}
	if _, err := a.kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("authz: access list of %s: %w", thingID, err)
	}
	return nil
}

// AuthzChange is one change Watch reports: an account, or a Thing's
// access list (ACL nil: removed).
type AuthzChange struct {
	Account *authz.Account
	Thing   string
	ACL     *authz.ThingACL
}

// Watch calls f with every change made from now on, by any node (this
// one's included: applying one's own change again must be harmless), until
// ctx ends. f runs on the watcher's goroutine.
func (a *Accounts) Watch(ctx context.Context, f func(AuthzChange)) error {
	w, err := a.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("authz: watch: %w", err)
	}
	// The current values come first, then nil: from there on every
	// change is heard (the watcher is in place when Watch returns).
	for e := range w.Updates() {
		if e == nil {
			break
		}
	}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue
				}
				acc, thing, acl, err := decodeAuthz(e)
				if err != nil {
					a.o.Log.Error().Err(err).Msg("authz: a change that does not decode; ignored")
					continue
				}
				if acc != nil || thing != "" {
					f(AuthzChange{Account: acc, Thing: thing, ACL: acl})
				}
			}
		}
	}()
	return nil
}

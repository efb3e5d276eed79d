package jetstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/authz"
)

// Accounts is authz's backend in a cluster (authz.WatchingBackend): what
// authz.Store persists, in the KV bucket AUTHZ, so that every node signs
// and checks tokens with one key, knows every account, access list, access
// rule and revoked token, and hears every change another node makes:
//
//	secret       the token signing key, made once by the first node
//	a.<account>  an account (with its password hash); created by
//	             compare-and-set (an ID is created once in the cluster),
//	             changed by compare-and-set on its revision
//	t.<thing>    a Thing's access list
//	r.<rule>     an access rule of free topics
//	x.<token>    a revoked token's record (deleted once its token expired,
//	             by whichever node prunes it)
//
// A record's revision is the bucket's sequence, so every node applies a
// key's writes in one order (authz.Record.Rev).
type Accounts struct {
	kv jetstream.KeyValue
	o  Options
}

var _ authz.WatchingBackend = (*Accounts)(nil)

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
//
// Opened ReadOnly, it reads the stored key; with none stored it returns a
// new one it does not store (a reader signs nothing that anyone checks).
func (a *Accounts) Secret(ctx context.Context) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if a.o.ReadOnly {
		e, err := a.kv.Get(ctx, "secret")
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			return key, nil
		case err != nil:
			return nil, fmt.Errorf("authz: signing key: %w", err)
		}
		return e.Value(), nil
	}
	err := retry(ctx, a.o, func() error { _, err := a.kv.Create(ctx, "secret", key); return err })
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

// Load returns every stored record.
func (a *Accounts) Load(ctx context.Context) ([]authz.Record, error) {
	w, err := a.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("authz: load: %w", err)
	}
	defer w.Stop()
	var out []authz.Record
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("authz: load: %w", ctx.Err())
		case e := <-w.Updates():
			if e == nil { // the initial values are all in
				return out, nil
			}
			r, ok, err := decodeAuthz(e)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, r)
			}
		}
	}
}

// authzKey is a record's key in the bucket.
func authzKey(kind authz.RecordKind, key string) string {
	switch kind {
	case authz.RecordAccount:
		return "a." + enc(key)
	case authz.RecordACL:
		return "t." + enc(key)
	case authz.RecordRule:
		return "r." + enc(key)
	case authz.RecordRevoked:
		return "x." + enc(key)
	}
	return ""
}

var authzKinds = map[string]authz.RecordKind{"a": authz.RecordAccount, "t": authz.RecordACL, "r": authz.RecordRule, "x": authz.RecordRevoked}

// decodeAuthz reads one entry; ok is false for the signing key.
func decodeAuthz(e jetstream.KeyValueEntry) (r authz.Record, ok bool, err error) {
	pre, tok, _ := strings.Cut(e.Key(), ".")
	kind, known := authzKinds[pre]
	if !known {
		return r, false, nil
	}
	key, err := dec(tok)
	if err != nil {
		return r, false, fmt.Errorf("authz: bad key %s", e.Key())
	}
	r = authz.Record{Kind: kind, Key: key, Rev: e.Revision(), Deleted: e.Operation() != jetstream.KeyValuePut}
	if r.Deleted {
		return r, true, nil
	}
	switch kind {
	case authz.RecordAccount:
		r.Account = new(authz.Account)
		err = json.Unmarshal(e.Value(), r.Account)
	case authz.RecordACL:
		err = json.Unmarshal(e.Value(), &r.ACL)
	case authz.RecordRule:
		err = json.Unmarshal(e.Value(), &r.Rule)
	case authz.RecordRevoked:
		err = json.Unmarshal(e.Value(), &r.Revoked)
	}
	if err != nil {
		return r, false, fmt.Errorf("authz: decode %s: %w", e.Key(), err)
	}
	return r, true, nil
}

// CreateAccount stores a new account; it fails with authz.ErrExists when
// any node created one of that ID first.
func (a *Accounts) CreateAccount(ctx context.Context, acc *authz.Account) (authz.Record, error) {
	b, err := json.Marshal(acc)
	if err != nil {
		return authz.Record{}, err
	}
	var rev uint64
	err = retry(ctx, a.o, func() (err error) {
		rev, err = a.kv.Create(ctx, authzKey(authz.RecordAccount, acc.ID), b)
		return err
	})
	if isCASConflict(err) {
		return authz.Record{}, fmt.Errorf("%w: %s (made on another node)", authz.ErrExists, acc.ID)
	}
	if err != nil {
		return authz.Record{}, fmt.Errorf("authz: store account %s: %w", acc.ID, err)
	}
	return authz.Record{Kind: authz.RecordAccount, Key: acc.ID, Rev: rev, Account: acc}, nil
}

// UpdateAccount changes an account by compare-and-set on its revision:
// two nodes changing one account at once both land, one after the other.
func (a *Accounts) UpdateAccount(ctx context.Context, id string, change func(*authz.Account) error) (authz.Record, error) {
	var acc *authz.Account
	rev, err := kvUpdate(ctx, a.o, a.kv, authzKey(authz.RecordAccount, id), func(cur []byte) ([]byte, bool, bool, error) {
		if cur == nil {
			return nil, false, false, fmt.Errorf("%w: %s", authz.ErrNoAccount, id)
		}
		acc = new(authz.Account)
		if err := json.Unmarshal(cur, acc); err != nil {
			return nil, false, false, fmt.Errorf("authz: decode account %s: %w", id, err)
		}
		if err := change(acc); err != nil {
			return nil, false, false, err
		}
		next, err := json.Marshal(acc)
		return next, false, false, err
	})
	if err != nil {
		if errors.Is(err, authz.ErrNoAccount) {
			return authz.Record{}, err
		}
		return authz.Record{}, fmt.Errorf("authz: store account %s: %w", id, err)
	}
	return authz.Record{Kind: authz.RecordAccount, Key: id, Rev: rev, Account: acc}, nil
}

// Put stores or deletes an access list, an access rule or a revoked-token
// record.
func (a *Accounts) Put(ctx context.Context, r authz.Record) (authz.Record, error) {
	key := authzKey(r.Kind, r.Key)
	var v any
	switch r.Kind {
	case authz.RecordACL:
		v = r.ACL
	case authz.RecordRule:
		v = r.Rule
	case authz.RecordRevoked:
		v = r.Revoked
	default:
		return r, fmt.Errorf("authz: cannot put a record of kind %d", r.Kind)
	}
	var err error
	if r.Deleted {
		err = retry(ctx, a.o, func() (err error) { r.Rev, err = a.deleteKey(ctx, key); return err })
	} else {
		var b []byte
		if b, err = json.Marshal(v); err != nil {
			return r, err
		}
		err = retry(ctx, a.o, func() (err error) { r.Rev, err = a.kv.Put(ctx, key, b); return err })
	}
	return r, err
}

// deleteKey writes a key's delete marker as jetstream.KeyValue.Delete
// does, returning its revision (Delete does not), so that the writer
// applies the deletion in the key's order too.
func (a *Accounts) deleteKey(ctx context.Context, key string) (uint64, error) {
	m := nats.NewMsg("$KV." + a.kv.Bucket() + "." + key)
	m.Header.Set("KV-Operation", "DEL")
	ack, err := a.o.JS.PublishMsg(ctx, m)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// Watch calls apply with every record as any node writes it (this one's
// too), from the current values on, until stop.
func (a *Accounts) Watch(ctx context.Context, apply func(authz.Record)) (stop func(), err error) {
	// The watcher outlives ctx, which bounds the opening only.
	w, err := a.kv.WatchAll(context.Background())
	if err != nil {
		return nil, fmt.Errorf("authz: watch: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range w.Updates() {
			if e == nil {
				continue // the initial values are in: the rest are changes
			}
			r, ok, err := decodeAuthz(e)
			if err != nil {
				a.o.Log.Error().Err(err).Msg("authz: a change that does not decode; ignored")
				continue
			}
			if ok {
				apply(r)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = w.Stop()
			<-done
		})
	}, nil
}

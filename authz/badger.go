package authz

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// badgerBackend keeps a Store's records in a single node's Badger, under
// "authz/": a/{account}, t/{thing}, r/{rule}, x/{token} (with the token's
// expiry as the entry's TTL) and the signing key "authz/secret".
type badgerBackend struct{ db *badger.DB }

// BadgerBackend is the Backend a single node's Store keeps in db (Open).
func BadgerBackend(db *badger.DB) Backend { return badgerBackend{db} }

const (
	prefixAccount = "authz/a/"
	prefixACL     = "authz/t/"
	prefixRule    = "authz/r/"
	prefixRevoked = "authz/x/"
	keySecret     = "authz/secret"
)

func (b badgerBackend) Secret(ctx context.Context) ([]byte, error) {
	var secret []byte
	err := b.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keySecret))
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			secret = make([]byte, 32)
			if _, err := rand.Read(secret); err != nil {
				return err
			}
			return txn.Set([]byte(keySecret), secret)
		case err != nil:
			return err
		}
		secret, err = item.ValueCopy(nil)
		return err
	})
	return secret, err
}

func (b badgerBackend) Load(ctx context.Context) ([]Record, error) {
	var out []Record
	err := b.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("authz/"), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := string(it.Item().Key())
			err := it.Item().Value(func(v []byte) error {
				r, ok, err := decodeBadger(k, v)
				if ok {
					out = append(out, r)
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("authz: decode %s: %w", k, err)
			}
		}
		return nil
	})
	return out, err
}

// decodeBadger reads one stored entry; ok is false for keys that are not
// records (the signing key).
func decodeBadger(k string, v []byte) (r Record, ok bool, err error) {
	switch {
	case strings.HasPrefix(k, prefixAccount):
		r = Record{Kind: RecordAccount, Key: k[len(prefixAccount):], Account: new(Account)}
		err = json.Unmarshal(v, r.Account)
	case strings.HasPrefix(k, prefixACL):
		r = Record{Kind: RecordACL, Key: k[len(prefixACL):]}
		err = json.Unmarshal(v, &r.ACL)
	case strings.HasPrefix(k, prefixRule):
		r = Record{Kind: RecordRule, Key: k[len(prefixRule):]}
		err = json.Unmarshal(v, &r.Rule)
	case strings.HasPrefix(k, prefixRevoked):
		r = Record{Kind: RecordRevoked, Key: k[len(prefixRevoked):]}
		err = json.Unmarshal(v, &r.Revoked)
	default:
		return r, false, nil
	}
	return r, true, err
}

func (b badgerBackend) CreateAccount(ctx context.Context, a *Account) (Record, error) {
	v, err := json.Marshal(a)
	if err != nil {
		return Record{}, err
	}
	key := []byte(prefixAccount + a.ID)
	err = b.db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(key); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, a.ID)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return txn.Set(key, v)
	})
	return Record{Kind: RecordAccount, Key: a.ID, Account: a}, err
}

func (b badgerBackend) UpdateAccount(ctx context.Context, id string, change func(*Account) error) (Record, error) {
	key := []byte(prefixAccount + id)
	var a *Account
	update := func(txn *badger.Txn) error {
		a = new(Account)
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: %s", ErrNoAccount, id)
		} else if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, a) }); err != nil {
			return err
		}
		if err := change(a); err != nil {
			return err
		}
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		return txn.Set(key, v)
	}
	// Another transaction may have changed the account in between
	// (writers that do not share a Store): read it again.
	err := b.db.Update(update)
	for i := 0; errors.Is(err, badger.ErrConflict) && i < 32; i++ {
		err = b.db.Update(update)
	}
	return Record{Kind: RecordAccount, Key: id, Account: a}, err
}

func (b badgerBackend) Put(ctx context.Context, r Record) (Record, error) {
	var key string
	var v any
	switch r.Kind {
	case RecordACL:
		key, v = prefixACL+r.Key, r.ACL
	case RecordRule:
		key, v = prefixRule+r.Key, r.Rule
	case RecordRevoked:
		key, v = prefixRevoked+r.Key, r.Revoked
	default:
		return r, fmt.Errorf("authz: cannot put a record of kind %d", r.Kind)
	}
	err := b.db.Update(func(txn *badger.Txn) error {
		if r.Deleted {
			return txn.Delete([]byte(key))
		}
		val, err := json.Marshal(v)
		if err != nil {
			return err
		}
		e := badger.NewEntry([]byte(key), val)
		if r.Kind == RecordRevoked {
			// Badger drops the record once its token could not be used anyway.
			e.ExpiresAt = uint64(r.Revoked.Expires.Unix()) + 1
		}
		return txn.SetEntry(e)
	})
	return r, err
}

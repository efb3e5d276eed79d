package authz

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/wotmq/wotmq/wire"
)

// MinPassword is the shortest password accepted.
const MinPassword = 12

// Account is a user of the hub: a device agent, a person, a service.
type Account struct {
	ID      string    `json:"id"`
	Role    Role      `json:"role"`
	Name    string    `json:"name,omitempty"`
	Enabled bool      `json:"enabled"`
	Created time.Time `json:"created"`
	// Hash is the bcrypt hash of the password; the password itself is
	// never stored.
	Hash []byte `json:"hash,omitempty"`
	// Epoch counts password changes and disables; a token carries the
	// epoch it was issued in and is void once it moves on.
	Epoch int `json:"epoch"`
}

// ThingACL narrows who may use a Thing: Deny wins over Allow; a non-empty
// Allow admits only the accounts and roles it names. Entries are account
// IDs or "role:NAME".
type ThingACL struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// Options configures a Store. The zero value works.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Throttle limits failed logins; the zero value uses the defaults.
	Throttle ThrottleOptions
	// PasswordCost is the bcrypt cost of password hashes; DefaultCost when
	// zero (tests use bcrypt's minimum, 4).
	PasswordCost int
	// OnChange, when set, is called after every change that may void a
	// decision already made for a live connection or stream: an account's
	// role, password or enabled state, a Thing's access list, a revoked
	// token. It runs on the changing goroutine, after the store holds the
	// new state and without the store's lock (it may call the store); ctx
	// is the change's. On a WatchingBackend a
	// change another node made is reported on the watcher's goroutine,
	// with a background context, once per change.
	OnChange func(ctx context.Context, c Change)
	// OpenTopics opens every free topic to every client unless an access
	// rule denies it (development mode); otherwise a free topic is closed
	// unless a rule opens it (topicrules.go).
	OpenTopics bool
}

// Change is what OnChange reports: an account (Account set, with what
// changed about it) or a Thing's access list (Thing set).
type Change struct {
	Account  string
	Role     bool // the account's role changed
	Password bool // its password changed (its tokens are void)
	Disabled bool // it was disabled (its tokens are void)
	// Token is set when one token of the account was revoked (its ID):
	// only what was opened with that token is void.
	Token string
	Thing string
}

// DefaultCost is the bcrypt cost of password hashes (about 100 ms on a
// small machine: cheap for a login, dear for a guesser).
const DefaultCost = 11

// Store keeps accounts, per-Thing access lists, the access rules of free
// topics, revoked tokens and the token signing key in a Backend (Badger's
// keys "authz/" on a single node, package jetstore in a cluster), with an
// in-memory copy for the message path. It is safe for concurrent use.
type Store struct {
	backend  Backend
	now      func() time.Time
	secret   []byte
	throttle *throttle
	cost     int
	onChange func(context.Context, Change)
	// compare checks a password against a bcrypt hash; a seam so that a
	// test can see that every login does the same work.
	compare func(hash, password []byte) error

	dummy []byte // compared against for unknown accounts (dummyHash)

	failures failures   // failed logins by reason (failures.go)
	failLog  failureLog // which of them get a log line

	openTopics bool

	// writeMu orders this Store's writes and the watched changes it
	// applies (apply.go); mu guards memory, held briefly by both.
	writeMu   sync.Mutex
	stopWatch func() // ends the watch of a WatchingBackend
	closeOnce sync.Once

	mu       sync.RWMutex
	accounts map[string]*Account
	acls     map[string]ThingACL
	rules    []TopicRule             // access rules of free topics, by ID (topicrules.go)
	revoked  map[string]RevokedToken // token ID -> record (revoke.go)
	revs     map[recordKey]uint64    // the revision applied last per key (apply.go)
}

// Open loads the accounts and access lists in db, creating the token
// signing key on first use: a single node's Store.
func Open(ctx context.Context, db *badger.DB, opts Options) (*Store, error) {
	return OpenBackend(ctx, badgerBackend{db}, opts)
}

// OpenBackend loads what b holds, creating the token signing key on first
// use. On a WatchingBackend the Store applies every change any node makes
// from then on, until Close.
func OpenBackend(ctx context.Context, b Backend, opts Options) (*Store, error) {
	s := &Store{backend: b, now: opts.Now, accounts: map[string]*Account{}, acls: map[string]ThingACL{}, revoked: map[string]RevokedToken{},
		revs: map[recordKey]uint64{}, cost: opts.PasswordCost, onChange: opts.OnChange, compare: bcrypt.CompareHashAndPassword, openTopics: opts.OpenTopics}
	if s.cost == 0 {
		s.cost = DefaultCost
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.throttle = newThrottle(opts.Throttle, s.now)
	s.dummy = dummyHash
	if s.cost != DefaultCost {
		var err error
		if s.dummy, err = bcrypt.GenerateFromPassword([]byte(NewPassword()), s.cost); err != nil {
			return nil, fmt.Errorf("authz: password cost %d: %w", s.cost, err)
		}
	}
	var err error
	if s.secret, err = b.Secret(ctx); err != nil {
		return nil, fmt.Errorf("authz: signing key: %w", err)
	}
	recs, err := b.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: load: %w", err)
	}
	for _, r := range recs {
		s.apply(r) // nothing is open yet that a change could void
	}
	if err := s.watch(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Len is the number of accounts.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.accounts)
}

// Get returns a copy of an account, without its hash.
func (s *Store) Get(id string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[id]
	if !ok {
		return Account{}, false
	}
	c := *a
	c.Hash = nil
	return c, true
}

// List returns every account without hashes, ordered by ID.
func (s *Store) List() []Account {
	s.mu.RLock()
	out := make([]Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		c := *a
		c.Hash = nil
		out = append(out, c)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// UpstreamPrefix begins the sender an edge hub stores with a request its
// cloud hub handed over ("upstream:alice", package upstream): no account
// may have such an ID, so no local client is taken for that sender.
const UpstreamPrefix = "upstream:"

// Add creates an enabled account with a password. IDs beginning with
// "role:" or UpstreamPrefix are refused.
func (s *Store) Add(ctx context.Context, id string, role Role, name, password string) error {
	if err := wire.ValidateID(id); err != nil || strings.HasPrefix(id, "role:") || strings.HasPrefix(id, UpstreamPrefix) {
		return fmt.Errorf("%w: %q", ErrBadID, id)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	if _, ok := s.Get(id); ok {
		return fmt.Errorf("%w: %s", ErrExists, id)
	}
	// In a cluster another node may create the same ID at the same
	// moment: the backend's create is the one that decides.
	a := &Account{ID: id, Role: role, Name: name, Enabled: true, Created: s.now().UTC(), Hash: hash}
	return s.write(ctx, func() (Record, error) { return s.backend.CreateAccount(ctx, a) })
}

// Update changes an account: its role, its display name, whether it is
// enabled, or its password (each when non-nil). Disabling and a new
// password void the account's tokens.
func (s *Store) Update(ctx context.Context, id string, role *Role, name *string, enabled *bool, password *string) error {
	var hash []byte
	if password != nil {
		var err error
		if hash, err = s.hashPassword(*password); err != nil {
			return err
		}
	}
	if role != nil {
		if _, err := ParseRole(string(*role)); err != nil {
			return err
		}
	}
	// A read-modify-write on the stored account: in a cluster another
	// node may change it at the same time, and neither change is lost.
	return s.write(ctx, func() (Record, error) {
		return s.backend.UpdateAccount(ctx, id, func(a *Account) error {
			if role != nil {
				a.Role = *role
			}
			if name != nil {
				a.Name = *name
			}
			if enabled != nil {
				if !*enabled && a.Enabled {
					a.Epoch++ // its tokens are void
				}
				a.Enabled = *enabled
			}
			if hash != nil {
				a.Hash = hash
				a.Epoch++
			}
			return nil
		})
	})
}

func (s *Store) changed(ctx context.Context, c Change) {
	if s.onChange != nil {
		s.onChange(ctx, c)
	}
}

func (s *Store) hashPassword(pw string) ([]byte, error) {
	if len(pw) < MinPassword {
		return nil, ErrWeakPassword
	}
	if len(pw) > 72 {
		return nil, fmt.Errorf("%w: at most 72 bytes", ErrWeakPassword)
	}
	return bcrypt.GenerateFromPassword([]byte(pw), s.cost)
}

// NewPassword returns a random password of 24 characters.
func NewPassword() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Login checks an account's password. remote is the client's address, for
// throttling (ThrottleOptions). An unknown account and a wrong password
// get the same error after the same work, one bcrypt comparison with a
// hash of the store's cost, so that neither the answer nor its time tells
// which account IDs exist.
func (s *Store) Login(ctx context.Context, id, password, remote string) (Account, error) {
	// Pace first: a paced address's refused guesses wait their turn too.
	release, err := s.throttle.pace(ctx, remote)
	if err != nil {
		return Account{}, err
	}
	defer release()
	if err := s.throttle.check(id, remote); err != nil {
		return Account{}, s.fail(err)
	}
	s.mu.RLock()
	a, ok := s.accounts[id]
	hash := s.dummy
	if ok {
		hash = a.Hash
	}
	s.mu.RUnlock()
	if err := s.compare(hash, []byte(password)); !ok || err != nil {
		s.throttle.fail(id, remote)
		if !ok {
			return Account{}, s.fail(&loginFailure{ReasonUnknownAccount})
		}
		return Account{}, s.fail(&loginFailure{ReasonBadPassword})
	}
	if !a.Enabled {
		return Account{}, s.fail(ErrDisabled)
	}
	s.throttle.ok(id, remote)
	c := *a
	c.Hash = nil
	return c, nil
}

// dummyHash is compared against for unknown accounts by stores of the
// default cost (others make their own at Open): a login for an unknown
// name takes as long as a real one.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("wotmq-dummy-password"), DefaultCost)

// SetThingACL sets (or, with an empty list, removes) a Thing's access list.
func (s *Store) SetThingACL(ctx context.Context, thingID string, acl ThingACL) error {
	clear := len(acl.Allow) == 0 && len(acl.Deny) == 0
	err := s.write(ctx, func() (Record, error) {
		return s.backend.Put(ctx, Record{Kind: RecordACL, Key: thingID, ACL: acl, Deleted: clear})
	})
	if err != nil {
		return fmt.Errorf("authz: access list of %s: %w", thingID, err)
	}
	return nil
}

// ThingACL returns a Thing's access list.
func (s *Store) ThingACL(thingID string) (ThingACL, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	acl, ok := s.acls[thingID]
	return acl, ok
}

// HasACLs reports whether any Thing has an access list (the fast path of
// delivery checks skips them otherwise).
func (s *Store) HasACLs() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.acls) > 0
}

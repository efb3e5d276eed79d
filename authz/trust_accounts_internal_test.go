package authz

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/crypto/bcrypt"
)

// TestLoginDoesTheSameWork checks structurally what a clock could only
// check flakily (issue 12, item 14): a login for an unknown account, one
// without a password and one with a wrong password each do exactly one
// bcrypt comparison, against a hash of the same cost, and get the same
// error. The time of a login is that comparison's.
func TestLoginDoesTheSameWork(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, 6} {
		db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := Open(context.Background(), db, Options{PasswordCost: cost})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Add(context.Background(), "alice", RoleViewer, "", "a long enough password"); err != nil {
			t.Fatal(err)
		}
		var costs []int
		s.compare = func(hash, pw []byte) error {
			c, err := bcrypt.Cost(hash)
			if err != nil {
				t.Errorf("compared against a non-bcrypt hash: %v", err)
			}
			costs = append(costs, c)
			return bcrypt.CompareHashAndPassword(hash, pw)
		}
		for _, try := range []struct{ name, id, pw string }{
			{"KnownWrongPassword", "alice", "not the password"},
			{"KnownNoPassword", "alice", ""},
			{"UnknownWithPassword", "nobody", "not the password"},
			{"UnknownNoPassword", "nobody", ""},
		} {
			costs = nil
			_, err := s.Login(context.Background(), try.id, try.pw, "10.0.0.1")
			if !errors.Is(err, ErrBadCredentials) {
				t.Errorf("cost %d %s: %v, want ErrBadCredentials", cost, try.name, err)
			}
			if len(costs) != 1 || costs[0] != cost {
				t.Errorf("cost %d %s: bcrypt comparisons at costs %v, want one at %d", cost, try.name, costs, cost)
			}
			s.throttle.ok(try.id, "10.0.0.1")
		}
	}
}

// TestThrottlePace: an address that sprayed failures is slowed down, one
// login at a time, never refused (issue 12, item 8).
func TestThrottlePace(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newThrottle(ThrottleOptions{AddressFailures: 3, Delay: time.Millisecond}, func() time.Time { return now })
	for i := range 3 {
		th.fail("name-"+string(rune('a'+i)), "10.0.0.9")
	}
	if _, err := th.pace(context.Background(), "10.0.0.8"); err != nil {
		t.Fatal(err)
	}
	release, err := th.pace(context.Background(), "10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	// While one login of the address holds its turn, the next waits: a
	// context that ends first shows that it did not get in.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := th.pace(ctx, "10.0.0.9"); !errors.Is(err, context.Canceled) {
		t.Errorf("a second login of a slowed address got its turn at once: %v", err)
	}
	release()
	if r, err := th.pace(context.Background(), "10.0.0.9"); err != nil {
		t.Errorf("after the first login: %v", err)
	} else {
		r()
	}
	if err := th.check("name-a", "10.0.0.9"); err != nil {
		t.Errorf("one failure of a pair locked it: %v", err)
	}
}

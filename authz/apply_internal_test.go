package authz

import (
	"testing"
	"time"
)

// TestApplyOrdersByRevision: a record older than the one applied for its
// key is ignored (a slow watch cannot roll a newer local write back), and
// what a change voids is read from the state it replaces.
func TestApplyOrdersByRevision(t *testing.T) {
	s := &Store{now: time.Now, accounts: map[string]*Account{}, acls: map[string]ThingACL{},
		revoked: map[string]RevokedToken{}, revs: map[recordKey]uint64{}}
	acc := func(rev uint64, role Role, enabled bool, epoch int, hash string) Record {
		return Record{Kind: RecordAccount, Key: "alice", Rev: rev,
			Account: &Account{ID: "alice", Role: role, Enabled: enabled, Epoch: epoch, Hash: []byte(hash)}}
	}
	if _, fire := s.apply(acc(3, RoleViewer, true, 0, "h1")); fire {
		t.Error("a new account reported a change")
	}
	ch, fire := s.apply(acc(7, RoleOperator, false, 1, "h1"))
	if want := (Change{Account: "alice", Role: true, Disabled: true}); !fire || ch != want {
		t.Errorf("role change and disable: %+v %v, want %+v", ch, fire, want)
	}
	if _, fire := s.apply(acc(5, RoleViewer, true, 0, "h1")); fire {
		t.Error("an older revision was applied")
	}
	if a, _ := s.Get("alice"); a.Role != RoleOperator || a.Enabled {
		t.Errorf("after an older revision: %+v", a)
	}
	// Disabled and enabled again, the watch skipping the disabled state:
	// the epoch moved, so what the account had open is void.
	ch, fire = s.apply(acc(9, RoleOperator, true, 2, "h1"))
	if !fire || !ch.Disabled {
		t.Errorf("an epoch that moved without a new hash: %+v %v, want Disabled", ch, fire)
	}
	ch, fire = s.apply(acc(11, RoleOperator, true, 3, "h2"))
	if want := (Change{Account: "alice", Password: true}); !fire || ch != want {
		t.Errorf("a new password: %+v %v, want %+v", ch, fire, want)
	}
	// An expired revoked-token record is not kept; a live one is reported once.
	if _, fire := s.apply(Record{Kind: RecordRevoked, Key: "t1", Rev: 12, Revoked: RevokedToken{Account: "alice", Expires: time.Now().Add(-time.Minute)}}); fire || s.TokenRevoked("t1") {
		t.Error("an expired token's record was kept")
	}
	live := Record{Kind: RecordRevoked, Key: "t2", Rev: 13, Revoked: RevokedToken{Account: "alice", Expires: time.Now().Add(time.Hour)}}
	if ch, fire := s.apply(live); !fire || ch != (Change{Account: "alice", Token: "t2"}) {
		t.Errorf("a revoked token: %+v %v", ch, fire)
	}
	live.Rev = 14 // written again (another node's revocation of the same token)
	if _, fire := s.apply(live); fire {
		t.Error("a token revoked twice was reported twice")
	}
}
